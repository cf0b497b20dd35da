"""Shift reminders, sent by the clock: 12 h before a shift and as it starts, once each,
whatever restarts or second clocks happen; and the coordinators' weekly summary.

The test rotation hands over on Mondays at 08:00: from Monday 30 November Bob is
primary and Dave backup. The clock starts on Monday 23 November, 23:00."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hotline.clock import run_due
from hotline.store import Outbox
from tests.conftest import ALICE, BOB, CAROL, CHICAGO, DIRECTOR, OFFICER, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture

DAVE = "+12625550104"
COORDINATOR = "+12625550110"


def until(phones, *when) -> None:
    """The clock polls at that local time (and at nothing in between)."""
    phones.clock.now = datetime(*when, tzinfo=CHICAGO)
    run_due(phones.app, phones.clock.now)


def reminders(phones, number):
    return [t for t in phones.inbox(number) if "on call for" in t]


def test_twelve_hours_before_her_shift_a_peer_is_reminded_once(phones):
    until(phones, 2026, 11, 29, 19, 59)
    assert reminders(phones, BOB) == []
    until(phones, 2026, 11, 29, 20, 0)
    assert reminders(phones, BOB) == [
        "Peer line reminder: you are on call for primary from Mon 08:00 until Mon 7 Dec 08:00. "
        "Can't make it? Tell a coordinator now, and text OFF when it starts. "
        "REMIND OFF stops these."]
    assert reminders(phones, DAVE)[0].startswith(
        "Peer line reminder: you are on call for backup from Mon 08:00")
    until(phones, 2026, 11, 29, 21, 0)
    assert len(reminders(phones, BOB)) == 1
    assert reminders(phones, ALICE) == [] and reminders(phones, CAROL) == []


def test_at_the_start_the_peer_hears_what_is_open_without_any_detail(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text("+12625550143", "hello?")  # a second texter nobody has taken yet
    until(phones, 2026, 11, 30, 8, 0)
    assert reminders(phones, BOB)[-1] == (
        "Peer line: you are on call for primary until Mon 7 Dec 08:00; 1 conversation is open "
        "and will stay with its peer, 1 waiting for a peer.")
    assert not any("rough night" in t or "hello?" in t for t in reminders(phones, BOB))


def test_a_peer_who_is_off_when_the_shift_starts_is_told_so(phones):
    until(phones, 2026, 11, 30, 7, 0)
    phones.text(BOB, "OFF 4h")
    until(phones, 2026, 11, 30, 8, 0)
    assert reminders(phones, BOB)[-1].endswith(
        "The line has you away until 11:00: text ON to take contacts.")


def test_reminders_are_sent_once_across_a_restart_and_a_second_clock(phones):
    until(phones, 2026, 11, 29, 20, 0)
    other_clock = phones.restart()  # the old process is gone; a new one polls again
    run_due(other_clock, phones.clock.now)
    until(phones, 2026, 11, 29, 20, 0)
    assert len(reminders(phones, BOB)) == 1


def test_remind_off_stops_them_and_remind_on_starts_them_again(phones):
    assert phones.text(BOB, "REMIND OFF") == [
        "Shift reminders are off. REMIND ON starts them again."]
    until(phones, 2026, 11, 29, 20, 0)
    until(phones, 2026, 11, 30, 8, 0)
    assert reminders(phones, BOB) == []
    assert len(reminders(phones, DAVE)) == 2
    assert phones.text(BOB, "remind on") == ["Shift reminders are on."]
    until(phones, 2026, 12, 13, 20, 0)  # Bob's next primary week begins Mon 14 Dec
    assert len(reminders(phones, BOB)) == 1


def test_reminders_wait_behind_crisis_texts(phones, app):
    """Queued at the lowest priority: the clock sends every crisis text first."""
    phones.clock.now = datetime(2026, 11, 29, 20, 0, tzinfo=CHICAGO)
    from hotline.availability.reminders import shift_reminders
    with app.app_context():
        shift_reminders(app, app.extensions["hotline.rotation"].current(), phones.clock.now)
    with app.extensions["hotline.sessions"]() as db:
        assert sorted(r.priority for r in db.scalars(select(Outbox))) == [-1, -1]
    phones.text(OFFICER, "is anyone there")  # a crisis text goes straight past them
    assert phones.last(ALICE).startswith("Peer line #1: is anyone there")
    sent = [s.body for s in phones.rest.sent]
    assert sent[0].startswith("Peer line #1: is anyone there")  # first, then the reminders
    run_due(app, phones.clock.now)
    assert len(reminders(phones, BOB)) == 1


def test_coordinators_get_a_weekly_summary_of_holes_ahead_when_they_ask(
        phones, app, rotation_file):
    rotation_file.write_text(ROTATION + """coordinators:
  - {name: Sam Lee, phone: "262-555-0110"}
reminders: {gap_summary: "mon 09:00", weeks: 2}
overrides:
  - {rotation: backup, peer: bob, from: "2026-12-01 08:00", to: "2026-12-02 08:00"}
""")
    app.extensions["hotline.rotation"].refresh(force=True)
    until(phones, 2026, 11, 30, 8, 59)
    assert phones.inbox(COORDINATOR) == []
    until(phones, 2026, 11, 30, 9, 0)
    until(phones, 2026, 11, 30, 9, 5)
    assert phones.inbox(COORDINATOR) == [
        "Peer line, next 2 weeks: 1 hole. Step 2 Tue 08:00 to Wed 08:00: Bob (backup) already "
        "rung at step 1: contacts skip step 2. hotline schedule lists them all."]
    assert phones.inbox(DIRECTOR) == []
