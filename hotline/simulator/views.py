"""Routes of the simulator: the page, its JSON state and actions, and the slice of
Twilio's REST API the router sends through (TWILIO_API_BASE points here).

The actions are JSON-only fetch endpoints: each needs `Content-Type:
application/json` and an `X-Hotline-Simulator` header, which a cross-site form
cannot send and a cross-site script cannot send without a CORS preflight that
is never granted; an `Origin` or `Sec-Fetch-Site` header, when present, must be
this site. The REST API checks HTTP Basic auth (account SID and auth token), as
Twilio does. `make run` serves all of it on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit
from datetime import datetime, timezone
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, jsonify, redirect,
                   render_template, request, url_for)

from hotline.ops.safety import is_loopback
from hotline.simulator.carrier import Simulator
from hotline.simulator.records import OUTBOUND_RING
from hotline.simulator.timing import Beat, OffsetClock, fast_forward

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates",
               static_folder="static")

API = "/api/2010-04-01/Accounts/<account>"
ACTION_HEADER = "X-Hotline-Simulator"


class _QuietPolls(logging.Filter):
    """The page asks for its state every second: under `make run` those lines were half
    the log. A poll answered 200 is not logged; a failed one, and every other request, is."""

    POLL = re.compile(r'"GET /simulator/state(?:\?[^" ]*)? HTTP/[\d.]+" 200 ')

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.POLL.search(record.getMessage())


QUIET_POLLS = _QuietPolls()


@bp.before_request
def _this_machine_only():
    """The simulator speaks for every phone, the clinical director's included: only this
    machine may use it, by name as well as by address. A hostile page whose own name
    resolves to 127.0.0.1 (DNS rebinding) sends its name as Host and Origin: refused."""
    if not is_loopback(urlsplit("//" + request.host).hostname):
        abort(403)
    origin = request.headers.get("Origin")
    if origin and not is_loopback(urlsplit(origin).hostname):
        abort(403)


@bp.record_once
def _setup(state) -> None:
    app = state.app
    # The simulator owns time (fast-forward); tests install a FakeClock, which also moves.
    if not hasattr(app.config["HOTLINE_CLOCK"], "advance"):
        # Kept in the instance folder, so a restart of `make run` keeps the line's time.
        app.config["HOTLINE_CLOCK"] = OffsetClock(Path(app.instance_path) / "simulator-offset")
    app.extensions["hotline.simulator"] = Simulator(app)
    logging.getLogger("werkzeug").addFilter(QUIET_POLLS)  # the access log of `hotline run`
    app.extensions["hotline.simulator.beat"] = Beat(app)
    if app.config.get("HOTLINE_SIMULATOR_POLL", True):
        app.extensions["hotline.simulator.beat"].start()  # the clock's work, as `hotline clock`
    if "simulator_home" not in app.view_functions:
        app.add_url_rule("/", "simulator_home", lambda: redirect(url_for("simulator.page")))


def sim() -> Simulator:
    return current_app.extensions["hotline.simulator"]


@bp.before_request
def _start() -> None:
    s = sim()
    if s.base_url is None and not request.path.startswith(f"{bp.url_prefix}/api/"):
        # Twilio posts to where the router is reachable: the address this page came from.
        s.base_url = request.host_url.rstrip("/")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
    return response


# -- the page ---------------------------------------------------------------------
@bp.get("/")
def page():
    loaded = current_app.extensions["hotline.rotation"].current()
    return render_template("simulator/index.html", program=loaded.config.program)


@bp.get("/state")
def state():
    s = sim()
    if not current_app.config.get("HOTLINE_SIMULATOR_POLL", True):
        s.tick()  # no background beat (tests): timeouts are evaluated on each look
    return jsonify(s.state())


def _same_origin() -> None:
    if not request.is_json or request.headers.get(ACTION_HEADER) != "1":
        abort(403)
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
        abort(403)
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403)


def _phone_number(phone_id: str) -> str:
    s = sim()
    if phone_id == "officer":
        return s.officer
    config = s.loaded().config
    try:
        return config.person(phone_id).phone
    except KeyError:
        abort(404)


@bp.post("/do/<action>")
def act(action: str):
    _same_origin()
    data = request.get_json(silent=True) or {}
    s = sim()
    try:
        if action == "text":
            body = str(data.get("body", "")).strip()
            picture = bool(data.get("picture"))
            if not body and not picture:
                return jsonify(error="Type a message first."), 400
            s.text(_phone_number(str(data.get("phone", ""))), body[:1600], picture=picture)
        elif action == "call":
            s.call(_phone_number(str(data.get("phone", ""))))
        elif action in ("answer", "decline", "hangup"):
            getattr(s, action)(str(data.get("call", "")), data.get("leg") or None)
        elif action == "press":
            s.press(str(data.get("call", "")), str(data.get("key", "")), data.get("leg") or None)
        elif action == "officer":
            s.set_officer(str(data.get("number", "")))
        elif action == "forward":
            seconds = float(data.get("seconds", 0))
            if not 0 < seconds <= 7 * 24 * 3600:
                return jsonify(error="Fast-forward by up to a week."), 400
            fast_forward(current_app, seconds)
        else:
            abort(404)
    except (LookupError, ValueError) as exc:
        return jsonify(error=str(exc)), 409
    return jsonify(ok=True)


# -- Twilio's REST API, as far as the router uses it ---------------------------------
def _twilio_error(status: int, code: int, message: str):
    return Response(json.dumps({"code": code, "message": message, "status": status,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}"}),
                    status=status, mimetype="application/json")


def _authorized(account: str) -> bool:
    auth = request.authorization
    tokens = current_app.config.get("TWILIO_AUTH_TOKENS") or []
    return bool(auth and auth.username == account and auth.password in tokens)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


@bp.post(f"{API}/Messages.json")
def api_messages(account: str):
    if not _authorized(account):
        return _twilio_error(401, 20003, "Authenticate")
    form = request.form
    to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    media = form.getlist("MediaUrl")  # a texter's picture relayed (sms: pictures: relay)
    if not to or not from_ or not (body or media):
        return _twilio_error(400, 21602, "Message body, To and From are required")
    msg = sim().rest_message(to, from_, body, form.get("StatusCallback"), len(media))
    stamp = _stamp()
    return jsonify({
        "account_sid": account, "api_version": "2010-04-01", "body": body,
        "date_created": stamp, "date_sent": None, "date_updated": stamp,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": from_, "messaging_service_sid": None, "num_media": str(len(media)),
        "num_segments": str(1 + len(body) // 153), "price": None, "price_unit": "USD",
        "sid": msg.sid, "status": "queued", "subresource_uris": {}, "to": to,
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{msg.sid}.json"}), 201


@bp.post(f"{API}/Calls.json")
def api_calls(account: str):
    if not _authorized(account):
        return _twilio_error(401, 20003, "Authenticate")
    form = request.form
    to, from_, url = form.get("To", ""), form.get("From", ""), form.get("Url", "")
    if not to or not from_ or not url:
        return _twilio_error(400, 21205, "To, From and Url are required")
    try:
        timeout = int(form.get("Timeout") or OUTBOUND_RING)
    except ValueError:
        return _twilio_error(400, 21216, "Timeout must be a number of seconds")
    sid = sim().rest_call(to, from_, url, form.get("StatusCallback"), max(1, min(timeout, 600)))
    return jsonify({"sid": sid, "account_sid": account, "to": to, "from": from_,
                    "status": "queued", "direction": "outbound-api",
                    "date_created": _stamp(), "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json"}), 201


@bp.post(f"{API}/Calls/<sid>.json")
def api_call_update(account: str, sid: str):
    """calls(sid).update: Status=canceled|completed, or Url (and Method) for new TwiML."""
    if not _authorized(account):
        return _twilio_error(401, 20003, "Authenticate")
    form = request.form
    status, url = form.get("Status") or None, form.get("Url") or None
    if status not in (None, "canceled", "completed"):
        return _twilio_error(400, 21218, "Status must be canceled or completed")
    if status is None and url is None:
        return _twilio_error(400, 21218, "Nothing to update: give Status or Url")
    call = sim().rest_update_call(sid, status, url)
    if call is None:
        return _twilio_error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
    return jsonify({**call, "account_sid": account, "api_version": "2010-04-01",
                    "date_updated": _stamp(),
                    "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json"}), 200


@bp.post(f"{API}/Conferences/<conference>/Participants/<call>.json")
def api_participant_update(account: str, conference: str, call: str):
    """conferences(sid).participants(CallSid).update(coaching=False): a coach heard by all."""
    if not _authorized(account):
        return _twilio_error(401, 20003, "Authenticate")
    coaching = request.form.get("Coaching")
    if not sim().rest_update_participant(conference, call, coaching):
        return _twilio_error(404, 20404, "The requested resource /Conferences/"
                             f"{conference}/Participants/{call}.json was not found")
    return jsonify({"account_sid": account, "call_sid": call, "conference_sid": conference,
                    "coaching": coaching == "true", "call_sid_to_coach": None,
                    "muted": False, "hold": False, "status": "connected",
                    "date_updated": _stamp(),
                    "uri": f"/2010-04-01/Accounts/{account}/Conferences/{conference}"
                           f"/Participants/{call}.json"}), 200


@bp.delete(f"{API}/<any(Messages, Calls, Recordings):kind>/<sid>.json")
def api_delete(account: str, kind: str, sid: str):
    """The router deletes records at the provider once final; the phones keep theirs."""
    if not _authorized(account):
        return _twilio_error(401, 20003, "Authenticate")
    sim().deleted.add(sid)
    return Response(status=204)
