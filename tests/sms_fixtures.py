"""Phones that text the program number, for the text-line tests.

Webhooks go to the app signed, exactly as Twilio sends them (FakeTwilio.post);
texts the app sends go through the real twilio client into FakeRest. Every
phone's inbox merges both: TwiML <Message> replies and REST sends, in order.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hotline.app import create_app
from hotline.clock import run_due
from hotline.testing.fake_rest import FakeRest, Sent
from hotline.testing.fake_twilio import ACCOUNT_SID, FakeTwilio
from tests.conftest import PROGRAM, TOKEN

PUBLIC = "https://hotline.example.org"


def text_line(app, rest: FakeRest, public: str = PUBLIC):
    # No send-rate limit by default: most tests send several texts in one fake instant.
    # tests/text/test_rate.py covers the limit itself.
    app.config.update(TWILIO_HTTP_CLIENT=rest, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                      HOTLINE_PUBLIC_URL=public, HOTLINE_SEND_RATE=0)
    return app


class Phones:
    def __init__(self, app, clock, public: str = PUBLIC):
        self.rest = FakeRest(clock=lambda: clock.now)
        self.public = public
        self.reply_sids: list[str] = []  # SIDs Twilio gave our TwiML <Message> replies
        self.clock = clock
        self.use(app)

    def use(self, app) -> None:
        self.app = text_line(app, self.rest, self.public)
        old = getattr(self, "carrier", None)
        self.carrier = FakeTwilio(app, TOKEN, self.clock, PROGRAM, base_url=self.public)
        if old is not None:  # Twilio's SIDs stay unique across our restarts
            self.carrier._sids = old._sids

    def restart(self):
        """A new process on the same database and instance folder (the old one is gone)."""
        old = self.app
        settings = {k: old.config[k] for k in ("HOTLINE_CONFIG", "DATABASE_URL",
                                                 "TWILIO_AUTH_TOKENS", "HOTLINE_CLOCK",
                                                 "HOTLINE_RELOAD_SECONDS",
                                                 "HOTLINE_INSECURE_DEV",
                                                 "HOTLINE_WEBHOOK_BUDGET")}
        old.extensions["hotline.engine"].dispose()
        new = create_app(settings, instance_path=old.instance_path)
        self.use(new)
        return new

    def text(self, sender: str, body: str, sid: str | None = None, media: int = 0) -> list[str]:
        """`sender` texts the program number (with `media` pictures, an MMS); returns
        the immediate replies."""
        params = {"MessageSid": sid or self.carrier.sid("SM"), "AccountSid": ACCOUNT_SID,
                  "MessagingServiceSid": "", "From": sender, "To": PROGRAM, "Body": body,
                  "NumMedia": str(media), "NumSegments": "1", "FromCity": "RACINE",
                  "FromState": "WI", "FromZip": "53403", "FromCountry": "US"}
        for i in range(media):
            params[f"MediaUrl{i}"] = (f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                                      f"/Messages/{params['MessageSid']}/Media/ME{i:032d}")
            params[f"MediaContentType{i}"] = "image/jpeg"
        resp = self.carrier.post("/sms/incoming", params)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        root = ET.fromstring(resp.get_data())
        assert root.tag == "Response"
        replies = [(m.text or "") for m in root.iter("Message")]
        for r in replies:
            self.rest.sent.append(Sent(sender, PROGRAM, r, None))
        for m in root.iter("Message"):  # Twilio reports each reply's fate to its action URL
            if m.get("action"):
                reply_sid = self.carrier.sid("SM")
                self.reply_sids.append(reply_sid)
                self.carrier.post(m.get("action"), {"MessageSid": reply_sid,
                                                    "MessageStatus": "delivered",
                                                    "AccountSid": ACCOUNT_SID})
        return replies

    def status(self, sid: str, status: str, error_code: str | None = None):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        if error_code:
            params["ErrorCode"] = error_code
        resp = self.carrier.post("/sms/status", params)
        assert resp.status_code == 200
        return resp

    def inbox(self, number: str) -> list[str]:
        return self.rest.inbox(number)

    def last(self, number: str) -> str:
        box = self.inbox(number)
        assert box, "nothing was sent to that phone"
        return box[-1]

    def sent_count(self) -> int:
        return len(self.rest.sent)

    def since(self, mark: int) -> list[Sent]:
        return self.rest.sent[mark:]

    def notice_sid(self, number: str) -> str:
        return [s.sid for s in self.rest.sent if s.to == number and s.sid][-1]

    def tick(self, seconds: float = 0) -> None:
        """Time passes, then the clock process polls once."""
        self.clock.advance(seconds)
        run_due(self.app, self.clock.now)


@pytest.fixture
def phones(app, clock):
    return Phones(app, clock)
