"""Reminders across the night the clocks go forward (Chicago, Sunday 14 March 2027,
02:00 CST -> 03:00 CDT): a shift handed over at 08:00 starts at 08:00 on the wall
clock that Sunday too, and so does its reminder; the "12 h before" one is counted on
the wall clock like the shifts are, so it comes at 20:00 the evening before, as it does
every other week (only eleven real hours before, that one night)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hotline.clock import run_due
from hotline.testing.fake_twilio import FakeClock
from tests.conftest import BOB, CHICAGO, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture

DAILY = ROTATION.replace(
    'primary: {start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob]}',
    'primary: {start: "2027-03-01 08:00", shift: 1d, peers: [alice, bob]}')


@pytest.fixture
def clock():
    return FakeClock(datetime(2027, 3, 13, 12, 0, tzinfo=CHICAGO))


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(DAILY)
    return path


def poll_at_utc(phones, *when) -> None:
    phones.clock.now = datetime(*when, tzinfo=timezone.utc)
    run_due(phones.app, phones.clock.now)


def test_the_start_reminder_comes_at_eight_on_the_wall_clock_after_the_change(phones):
    poll_at_utc(phones, 2027, 3, 14, 12, 59)  # 07:59 CDT
    assert not any("until" in t and "on call for primary until" in t for t in phones.inbox(BOB))
    poll_at_utc(phones, 2027, 3, 14, 13, 0)  # 08:00 CDT; a day earlier 08:00 was 14:00 UTC
    assert phones.last(BOB) == ("Peer line: you are on call for primary until Mon 08:00; "
                                "0 conversations are open and will stay with their peers.")


def test_the_twelve_hour_reminder_comes_at_twenty_hundred_as_every_week(phones):
    poll_at_utc(phones, 2027, 3, 14, 1, 59)  # Sat 19:59 CST (twelve real hours before: 19:00)
    assert not any("from Sun 08:00" in t for t in phones.inbox(BOB))
    poll_at_utc(phones, 2027, 3, 14, 2, 0)  # Sat 20:00 CST
    assert phones.last(BOB).startswith(
        "Peer line reminder: you are on call for primary from Sun 08:00 until Mon 08:00.")
