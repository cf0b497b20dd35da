"""The one Twilio REST client a process uses, for texts, calls and deletions.

Tests and the simulator swap its HTTP layer, never our own code: TWILIO_HTTP_CLIENT
(any twilio.http.HttpClient) or TWILIO_API_BASE (a fake Twilio on another URL).
"""
from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
SEND_TIMEOUT = 5.0  # seconds; a webhook that sends must still answer within 15 s
POOL = 48  # keep-alive connections to Twilio: more than a sender's threads (32)


class RebasingHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, pointed at TWILIO_API_BASE (a simulator) when set.
    The twilio library has no base-URL option; rewriting here is its supported seam."""

    def __init__(self, base: str | None = None, **kwargs):
        kwargs.setdefault("timeout", SEND_TIMEOUT)
        super().__init__(**kwargs)
        self.base = base.rstrip("/") if base else None
        if self.session is not None:  # the sender's pool sends concurrently: a connection each
            from requests.adapters import HTTPAdapter
            for scheme in ("https://", "http://"):
                self.session.mount(scheme, HTTPAdapter(pool_maxsize=POOL))

    def request(self, method, url, *args, **kwargs):
        return super().request(method, rebase(url, self.base), *args, **kwargs)


def rebase(url: str, base: str | None) -> str:
    if base and url.startswith(TWILIO_API):
        return base + url[len(TWILIO_API):]
    return url


def client(app) -> Client:
    cached = app.extensions.get("hotline.twilio")
    if cached is None:
        http = app.config.get("TWILIO_HTTP_CLIENT") or RebasingHttpClient(
            app.config.get("TWILIO_API_BASE"))
        token = (app.config["TWILIO_AUTH_TOKENS"] or [""])[0]
        cached = Client(app.config.get("TWILIO_ACCOUNT_SID") or None, token, http_client=http)
        app.extensions["hotline.twilio"] = cached
    return cached
