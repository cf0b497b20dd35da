"""Shared by the dashboard tests (client and browser): accounts, sign-in, and the
phone numbers that must never appear on a page."""
from __future__ import annotations

import re

import phonenumbers
import pytest
from werkzeug.security import generate_password_hash

from hotline.deadlines import drain
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import OFFICER, PROGRAM, ROTATION

PASSWORD = "correct horse battery staple"
# Few iterations: these hashes only need to be real werkzeug hashes, not slow ones.
USERS = ";".join([
    "jsmith:coordinator:" + generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
    "dreyes:clinical_director:" + generate_password_hash("another long secret",
                                                         method="pbkdf2:sha256:1000"),
])

# Sundays nobody is on primary (a gap at step 1); Dave covers Carol's Wednesday.
SCHEDULE_ROTATION = ROTATION.replace(
    'primary: {start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob]}',
    'primary: {start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob], '
    'active: {days: [mon, tue, wed, thu, fri, sat], from: "00:00", to: "00:00"}}'
) + """overrides:
  - {rotation: backup, peer: dave, replaces: carol, from: "2026-11-25 08:00", to: "2026-11-26 08:00"}
"""


def every_number() -> list[str]:
    """Every fictional number of the test rotation (and the callers) in the forms a page
    might use: E.164, international, national and digits only."""
    raw = set(re.findall(r'phone: "([^"]+)"', ROTATION)) | {PROGRAM, OFFICER, "+12625550143"}
    forms = set()
    for text in raw:
        n = phonenumbers.parse(text, "US")
        national = str(n.national_number)
        forms |= {phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164),
                  phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                  phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL),
                  national, f"1{national}", f"{national[:3]}-{national[3:6]}-{national[6:]}",
                  f"{national[:3]}.{national[3:6]}.{national[6:]}",
                  f"{national[3:6]}-{national[6:]}"}
    return sorted(forms)


def assert_no_number(html: str) -> None:
    for form in every_number():
        assert form not in html, f"a phone number ({form}) is on the page"
    digits = re.sub(r"\D", "", html)
    for form in every_number():
        if form.isdigit() and len(form) == 10:
            assert form not in digits, f"the digits of a phone number ({form}) are on the page"


def incoming_call(twilio, caller: str = OFFICER, sid: str = "CA" + "a" * 32):
    """A signed /voice/incoming as Twilio sends it: leaves a live Call row, ringing."""
    resp = twilio.post("/voice/incoming", {"CallSid": sid, "AccountSid": ACCOUNT_SID,
                                           "From": caller, "To": PROGRAM,
                                           "Direction": "inbound", "CallStatus": "ringing"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return sid


@pytest.fixture
def dashboard_app(app):
    app.config["HOTLINE_DASHBOARD_USERS"] = USERS

    @app.after_request
    def _sent_by_the_answer(response):
        # A coordinator's action (a callout) stages its texts for the sender; as after a
        # webhook (fake_twilio.post), they have gone by the time the page answers.
        drain(app)
        return response

    return app
