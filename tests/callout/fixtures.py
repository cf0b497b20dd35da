"""A rotation with a critical-incident team, and helpers to play the phone pages."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hotline.store import Callout, CalloutAnswer, CalloutStat
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import PROGRAM, ROTATION

# Alice, Bob and Carol are the critical-incident team; Dave is not. Dave may start a
# callout by text, as the clinical director may.
TEAM_ROTATION = ROTATION.replace(
    '{id: alice, name: Alice, phone: "262-555-0101"}',
    '{id: alice, name: Alice, phone: "262-555-0101", tags: [critical-incident]}'
).replace('tags: [family]}', 'tags: [family, critical-incident]}').replace(
    '{id: carol, name: Carol, phone: "262-555-0103", languages: [en, es]}',
    '{id: carol, name: Carol, phone: "262-555-0103", languages: [en, es], '
    'tags: [critical-incident]}'
) + """callout:
  allowed: [clinical_director, dave]
  call_after: 10m
  calls: 2
  tally_every: 1m
"""
START = "CALLOUT #critical-incident Defusing at District 4, 23:30"
NOTICE = ("Test PD Peer Support CALLOUT: Defusing at District 4, 23:30 - reply YES (or YES 40 "
          "if 40 min away) or NO")


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(TEAM_ROTATION)
    return path


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def answers(app) -> dict[str, str | None]:
    return {r.peer_id: r.answer for r in rows(app, CalloutAnswer)}


def press(phones, placed, digit: str | None) -> list[str]:
    """Twilio fetches a phone page's TwiML when the peer picks up; the peer presses
    `digit` (None: a voicemail greeting, no key). Returns what the peer heard."""
    carrier = phones.carrier
    leg = {"CallSid": placed.sid, "AccountSid": ACCOUNT_SID, "From": PROGRAM, "To": placed.to,
           "Direction": "outbound-api", "CallStatus": "in-progress"}
    resp = carrier.post(_path(placed.url), leg)
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    heard = [t for t in _says(resp)]
    if digit is None:
        return heard
    import xml.etree.ElementTree as ET
    gather = ET.fromstring(resp.get_data()).find("Gather")
    resp = carrier.post(gather.get("action"), {**leg, "Digits": digit})
    assert resp.status_code == 200
    return heard + _says(resp)


def call_status(phones, placed, status: str) -> None:
    resp = phones.carrier.post(_path(placed.status_callback),
                               {"CallSid": placed.sid, "AccountSid": ACCOUNT_SID,
                                "From": PROGRAM, "To": placed.to, "CallStatus": status})
    assert resp.status_code == 200


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _says(resp) -> list[str]:
    import xml.etree.ElementTree as ET
    return [(e.text or "").strip() for e in ET.fromstring(resp.get_data()).iter("Say")]


__all__ = ["Callout", "CalloutAnswer", "CalloutStat", "NOTICE", "START", "TEAM_ROTATION",
           "answers", "call_status", "press", "rotation_file", "rows"]
