"""Plumbing every Twilio webhook shares: the signature check, the clock, the
database session, and the promise that an answer is always valid TwiML.

A handler that raises (database down, a bug) does not return a 500: Twilio
would play "an application error has occurred" to an officer in crisis. It
returns the handler's own emergency TwiML, built only from the last good
rotation held in memory.
"""
from __future__ import annotations

import hmac
import logging
import string
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import wraps
from urllib.parse import quote_plus

import phonenumbers
from flask import Response, abort, current_app, request, url_for
from twilio.request_validator import RequestValidator

from hotline.deadlines import answer_within
from hotline.rotation.source import Loaded

log = logging.getLogger(__name__)


def signature_ok() -> bool:
    cfg = current_app.config
    if cfg.get("HOTLINE_INSECURE_DEV"):
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = public_url()
    # request.form, not request.values: query parameters are already in the URL.
    return any(_signed(RequestValidator(token), url, request.form, signature)
               for token in cfg["TWILIO_AUTH_TOKENS"])


def _signed(validator: RequestValidator, url: str, form, signature: str) -> bool:
    """validate() always signs the URL twice (with and without its port); the URL as
    received is nearly always the one Twilio signed, so it is tried alone first."""
    computed = validator.compute_signature(url, form)
    return hmac.compare_digest(computed.encode(), signature.encode()) \
        or validator.validate(url, form, signature)


def public_url() -> str:
    """The URL Twilio signed. Behind a TLS proxy request.url is the internal one,
    so a configured public base URL wins; ProxyFix handles HOTLINE_TRUST_PROXY."""
    base = current_app.config.get("HOTLINE_PUBLIC_URL")
    if base:
        path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
        return base.rstrip("/") + path
    return request.url


def link(endpoint: str, **args) -> str:
    """url_for(endpoint, **args) for a webhook's route, which has no path variables: the
    path is built by url_for once per process, the query here, encoded as werkzeug does.
    Three url_for calls cost a tenth of a call's answer (docs/benchmarks.md)."""
    paths = current_app.extensions.setdefault("hotline.paths", {})
    key = (endpoint, request.script_root)
    path = paths.get(key)
    if path is None:
        path = paths[key] = url_for(endpoint)
    query = "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in args.items()
                     if value is not None)
    return f"{path}?{query}" if query else path


# werkzeug.urls._urlencode's safe characters, so a link reads as url_for would write it.
_QUERY_SAFE = "!$'()*,/:;?@"


# What quote_plus leaves as it is; a link's values (SIDs, ids, numbers) are nearly always
# made of these alone.
_UNCHANGED = string.ascii_letters + string.digits + "_.-~" + _QUERY_SAFE


def _quoted(value) -> str:
    """As urlencode quotes a query's name or value (strip() leaves nothing when every
    character is one quote_plus would keep)."""
    text = str(value)
    return quote_plus(text, safe=_QUERY_SAFE) if text.strip(_UNCHANGED) else text


def twiml(body) -> Response:
    return Response(str(body), mimetype="text/xml")


def twilio_webhook(emergency):
    """Check the signature, then run the view; on any failure, or when the view has
    not answered within the webhook budget, answer with `emergency()`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not signature_ok():
                log.warning("refused a request to %s with a missing or bad Twilio signature",
                            request.path)
                abort(403)
            try:
                # Within the budget, or the emergency answer (hotline/deadlines.py).
                return twiml(answer_within(lambda: view(*args, **kwargs), emergency))
            except Exception:
                log.exception("webhook %s failed; answering with the emergency route",
                              request.path)
                return twiml(emergency())
        return wrapper
    return decorate


def now() -> datetime:
    return current_app.config["HOTLINE_CLOCK"]()


def rotation() -> Loaded:
    return current_app.extensions["hotline.rotation"].current()


def last_good() -> Loaded | None:
    """The rotation held in memory, without touching the disk (for emergency routes)."""
    return current_app.extensions["hotline.rotation"].last_loaded


@contextmanager
def transaction():
    with current_app.extensions["hotline.sessions"]() as session, session.begin():
        yield session


def e164(raw: str | None, region: str) -> str | None:
    """The sender's number in E.164, or None for withheld or unparseable ones."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_number(raw: str | None, number: str, region: str) -> bool:
    """Whether `raw` (a form's To) is `number` (E.164). Twilio sends E.164, so the string
    itself is compared first and only another spelling is parsed."""
    return raw == number or e164(raw, region) == number


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
