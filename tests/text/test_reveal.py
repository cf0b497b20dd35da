"""REVEAL is narrow: the clinical director, an urgent or escalated conversation, a
confirming second text, a few a day, and an audit that keeps only the day."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hotline.store import AuditEvent
from hotline.text.reveal import CONFIRM_WITHIN, PER_DAY
from tests.conftest import ALICE, CHICAGO, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

URGENT = "I have my pills lined up"


def test_the_director_asks_then_confirms_and_sees_the_number(phones):
    phones.text(OFFICER, URGENT)
    [ask] = phones.text(DIRECTOR, "REVEAL #1")
    assert OFFICER not in ask and "REVEAL #1 CONFIRM" in ask
    assert phones.text(DIRECTOR, "REVEAL #1 CONFIRM") == [
        f"#1 texter's number: {OFFICER} (this reveal is audited)."]


def test_a_confirm_without_asking_first_shows_nothing(phones):
    phones.text(OFFICER, URGENT)
    [reply] = phones.text(DIRECTOR, "REVEAL #1 CONFIRM")
    assert OFFICER not in reply and "first" in reply


def test_a_confirm_after_the_window_shows_nothing(phones):
    phones.text(OFFICER, URGENT)
    phones.text(DIRECTOR, "REVEAL #1")
    phones.clock.advance(CONFIRM_WITHIN.total_seconds() + 1)
    [reply] = phones.text(DIRECTOR, "REVEAL #1 CONFIRM")
    assert OFFICER not in reply


def test_a_quiet_conversation_that_never_reached_the_director_cannot_be_revealed(phones):
    phones.text(OFFICER, "rough night, can someone talk?")
    phones.text(ALICE, "yes")
    [reply] = phones.text(DIRECTOR, "REVEAL #1")
    assert "cannot be revealed" in reply
    assert OFFICER not in phones.text(DIRECTOR, "REVEAL #1 CONFIRM")[0]


def test_a_conversation_escalated_to_the_director_can_be_revealed(phones):
    phones.text(OFFICER, "rough night, can someone talk?")
    phones.tick(5 * 60)  # nobody at step 1
    phones.tick(5 * 60)  # nobody at step 2: the director is notified
    assert phones.last(DIRECTOR).startswith("Peer line #1")
    phones.text(DIRECTOR, "REVEAL #1")
    assert OFFICER in phones.text(DIRECTOR, "REVEAL #1 CONFIRM")[0]


def test_reveals_stop_after_the_days_limit(phones):
    texters = [f"+1262555015{i}" for i in range(PER_DAY + 1)]
    for number in texters:
        phones.text(number, URGENT)
    for code in range(1, PER_DAY + 1):
        phones.text(DIRECTOR, f"REVEAL #{code}")
        assert texters[code - 1] in phones.text(DIRECTOR, f"REVEAL #{code} CONFIRM")[0]
    last = PER_DAY + 1
    phones.text(DIRECTOR, f"REVEAL #{last}")
    [reply] = phones.text(DIRECTOR, f"REVEAL #{last} CONFIRM")
    assert texters[-1] not in reply and "911" in reply


def test_the_audit_keeps_the_day_of_a_reveal_not_its_time(phones, app):
    phones.clock.advance(3 * 3600 + 17 * 60 + 41)  # 02:17:41 on Tuesday, Chicago time
    phones.text(OFFICER, URGENT)
    phones.text(DIRECTOR, "REVEAL #1")
    phones.text(DIRECTOR, "REVEAL #1 CONFIRM")
    with app.extensions["hotline.sessions"]() as db:
        [entry] = db.scalars(select(AuditEvent).where(AuditEvent.action == "reveal"))
    assert entry.at == datetime(2026, 11, 24, 0, 0, tzinfo=CHICAGO)
