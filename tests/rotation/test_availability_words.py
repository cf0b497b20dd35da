"""What a peer's availability text means, at a given instant: pure, no database."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline.rotation.availability import Away, Refused, Word, away_now, parse, when
from tests.conftest import CHICAGO

NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=CHICAGO)  # Monday 23:00


@pytest.mark.parametrize("typed, until", [
    ("OFF", None), ("off.", None), ("OFF 4h", NIGHT + timedelta(hours=4)),
    ("off 4", NIGHT + timedelta(hours=4)), ("Off for 2 days", NIGHT + timedelta(days=2)),
    ("OFF 90 min", NIGHT + timedelta(minutes=90)), ("OFF 14d", NIGHT + timedelta(days=14)),
    ("off until 18:00", datetime(2026, 11, 24, 18, 0, tzinfo=CHICAGO)),
    ("OFF until 11:30pm", datetime(2026, 11, 23, 23, 30, tzinfo=CHICAGO)),
])
def test_off_in_the_ways_people_write_it(typed, until):
    assert parse(typed, NIGHT, CHICAGO) == Away("off", until)


def test_busy_alone_is_an_hour_so_nobody_forgets_to_come_back():
    assert parse("busy", NIGHT, CHICAGO) == Away("busy", NIGHT + timedelta(hours=1))
    assert parse("BUSY 30m", NIGHT, CHICAGO) == Away("busy", NIGHT + timedelta(minutes=30))


@pytest.mark.parametrize("typed, word", [("ON", "on"), ("status", "status"), ("Who", "who"),
                                         ("REMIND OFF", "remind off"),
                                         ("reminders on", "remind on")])
def test_the_one_word_commands(typed, word):
    assert parse(typed, NIGHT, CHICAGO) == Word(word)


@pytest.mark.parametrize("typed, reason", [
    ("OFF 15d", "the longest is 14 days"), ("OFF 3 fortnights", "a number and a unit"),
    ("off until 24:30", "write the time as 18:00"), ("OFF until 13pm", "write the time"),
    ("off until lunch", "write the time"), ("REMIND later", "REMIND takes ON or OFF"),
    ("OFF 0h", "a number and a unit"),
])
def test_what_looks_meant_but_cannot_be_obeyed_is_refused_never_guessed(typed, reason):
    result = parse(typed, NIGHT, CHICAGO)
    assert isinstance(result, Refused) and reason in result.reason


@pytest.mark.parametrize("typed", ["busy night, can someone talk?", "on my way", "who?",
                                   "off to bed soon", "Who is this", "status report done",
                                   "offline", "online"])
def test_ordinary_words_are_not_commands(typed):
    assert parse(typed, NIGHT, CHICAGO) is None


def test_until_a_time_the_clocks_skip_starts_when_that_hour_would_have():
    # Saturday 13 March 2027 22:00; 02:30 on Sunday does not exist in Chicago.
    sat = datetime(2027, 3, 13, 22, 0, tzinfo=CHICAGO)
    result = parse("OFF until 02:30", sat, CHICAGO)
    assert result.until == datetime(2027, 3, 14, 3, 0, tzinfo=CHICAGO)


def test_who_is_away_at_an_instant():
    rows = [("ann", None), ("bob", NIGHT + timedelta(hours=1)), ("cat", NIGHT)]
    assert away_now(rows, NIGHT) == {"ann", "bob"}


def test_times_are_said_as_short_as_is_unmistakable():
    assert when(NIGHT + timedelta(minutes=30), CHICAGO, NIGHT) == "23:30"
    assert when(NIGHT + timedelta(hours=2), CHICAGO, NIGHT) == "Tue 01:00"
    assert when(NIGHT + timedelta(days=8), CHICAGO, NIGHT) == "Tue 1 Dec 23:00"
