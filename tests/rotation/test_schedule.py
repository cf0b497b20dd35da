"""Scenario tests for the on-call engine, one behaviour per test.

Rotation files are written inline and go through the real loader. Times are
aware datetimes in America/Chicago; instants that matter across DST are
checked in UTC, because Python compares and subtracts two datetimes that share
a tzinfo by wall clock, ignoring the offset.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from textwrap import dedent, indent
from zoneinfo import ZoneInfo

import pytest

from hotline.rotation.reader import load, parse
from hotline.schedule import Schedule

CHI = ZoneInfo("America/Chicago")
UTC = timezone.utc
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "rotation.yaml"

HEADER = """\
program: {name: Test PD Peer Support, number: "+1 262 555 0100", timezone: America/Chicago}
clinical_director: {name: Dr. Test, phone: "(262) 555-0199"}
peers:
  - {id: ann, name: Ann A, phone: "(262) 555-0101"}
  - {id: bob, name: Bob B, phone: "(262) 555-0102"}
  - {id: cat, name: Cat C, phone: "(262) 555-0103"}
  - {id: dan, name: Dan D, phone: "(262) 555-0104"}
"""


def make(rotations: str, overrides: str = "", steps: str = "- {notify: r}\n") -> Schedule:
    """A Schedule from YAML snippets for the rotations, overrides and escalation steps."""
    text = HEADER + "rotations:\n" + indent(dedent(rotations), "  ")
    if overrides:
        text += "overrides:\n" + indent(dedent(overrides), "  ")
    text += ("escalation:\n  steps:\n" + indent(dedent(steps), "    ")
             + "  fallback: {forward: \"988\", message: Call 988.}\n")
    return Schedule(parse(text, "test.yaml"))


def at(y, mo, d, h=0, mi=0, fold=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CHI, fold=fold)


def utc(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def handoffs(s: Schedule, rotation: str, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants where the on-call answer changes inside (start, end)."""
    return [seg.start.astimezone(UTC) for seg in s.segments(rotation, start, end)[1:]]


def real_length(seg) -> timedelta:
    return seg.end.astimezone(UTC) - seg.start.astimezone(UTC)


# -- handoffs across DST -------------------------------------------------------

def test_daily_handoff_stays_at_0800_local_across_spring_forward():
    s = make('r: {start: "2026-03-06 08:00", shift: 1d, peers: [ann, bob, cat]}\n')
    assert handoffs(s, "r", at(2026, 3, 7), at(2026, 3, 10)) == [
        utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]  # 08:00 CST, CDT, CDT
    assert s.on_call("r", at(2026, 3, 8, 7, 59)) == "bob"
    assert s.on_call("r", at(2026, 3, 8, 8, 0)) == "cat"


def test_spring_forward_daily_slot_is_23_real_hours():
    s = make('r: {start: "2026-03-06 08:00", shift: 1d, peers: [ann, bob, cat]}\n')
    seg = s.segments("r", at(2026, 3, 7, 8), at(2026, 3, 8, 12))[0]
    assert seg.peer == "bob"
    assert real_length(seg) == timedelta(hours=23)


def test_daily_handoff_stays_at_0800_local_across_fall_back():
    s = make('r: {start: "2026-10-30 08:00", shift: 1d, peers: [ann, bob, cat]}\n')
    assert handoffs(s, "r", at(2026, 10, 31), at(2026, 11, 3)) == [
        utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]  # CDT, CST, CST


def test_fall_back_daily_slot_is_25_real_hours():
    s = make('r: {start: "2026-10-30 08:00", shift: 1d, peers: [ann, bob, cat]}\n')
    seg = s.segments("r", at(2026, 10, 31, 8), at(2026, 11, 1, 12))[0]
    assert seg.peer == "bob"
    assert real_length(seg) == timedelta(hours=25)


def test_weekly_handoff_stays_at_monday_0800_across_spring_forward():
    s = make('r: {start: "2026-03-02 08:00", shift: 1w, peers: [ann, bob]}\n')
    assert handoffs(s, "r", at(2026, 3, 1), at(2026, 3, 16)) == [
        utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)]
    assert s.on_call("r", at(2026, 3, 9, 7, 59)) == "ann"
    assert s.on_call("r", at(2026, 3, 9, 8, 0)) == "bob"


def test_weekly_handoff_stays_at_monday_0800_across_fall_back():
    s = make('r: {start: "2026-10-26 08:00", shift: 1w, peers: [ann, bob]}\n')
    segs = s.segments("r", at(2026, 10, 26, 8), at(2026, 11, 9, 8))
    assert [(x.start.astimezone(UTC), x.peer) for x in segs] == [
        (utc(2026, 10, 26, 13), "ann"), (utc(2026, 11, 2, 14), "bob")]
    assert real_length(segs[0]) == timedelta(hours=169)


def test_12h_shift_from_0200_hands_off_at_0300_cdt_on_spring_forward_day():
    s = make('r: {start: "2026-03-07 02:00", shift: 12h, peers: [ann, bob, cat]}\n')
    assert handoffs(s, "r", at(2026, 3, 7, 1), at(2026, 3, 9, 12)) == [
        utc(2026, 3, 7, 8),    # Sat 02:00 CST
        utc(2026, 3, 7, 20),   # Sat 14:00 CST
        utc(2026, 3, 8, 8),    # Sun 02:00 does not exist: 03:00 CDT
        utc(2026, 3, 8, 19),   # Sun 14:00 CDT (an 11-hour slot)
        utc(2026, 3, 9, 7),    # Mon 02:00 CDT
    ]
    assert s.on_call("r", at(2026, 3, 8, 3, 0)) == "cat"


def test_12h_shift_from_0200_gets_13_real_hours_over_fall_back_night():
    s = make('r: {start: "2026-10-31 02:00", shift: 12h, peers: [ann, bob, cat]}\n')
    assert handoffs(s, "r", at(2026, 10, 31, 1), at(2026, 11, 1, 15)) == [
        utc(2026, 10, 31, 7), utc(2026, 10, 31, 19), utc(2026, 11, 1, 8), utc(2026, 11, 1, 20)]
    seg = s.segments("r", at(2026, 10, 31, 14), at(2026, 11, 1, 3))[0]
    assert (seg.peer, real_length(seg)) == ("bob", timedelta(hours=13))


def test_handoff_at_nonexistent_0230_starts_at_0300_cdt():
    s = make('r: {start: "2026-03-07 02:30", shift: 1d, peers: [ann, bob]}\n')
    assert s.on_call("r", at(2026, 3, 8, 1, 59)) == "ann"  # last CST minute
    assert s.on_call("r", at(2026, 3, 8, 3, 0)) == "bob"
    [handoff] = handoffs(s, "r", at(2026, 3, 8), at(2026, 3, 8, 12))
    assert handoff == utc(2026, 3, 8, 8)
    assert handoff.astimezone(CHI).utcoffset() == timedelta(hours=-5)


def test_rotation_starting_at_nonexistent_time_begins_at_0300_cdt():
    s = make('r: {start: "2026-03-08 02:30", shift: 1d, peers: [ann, bob]}\n')
    assert s.on_call("r", at(2026, 3, 8, 1, 59)) is None
    assert s.on_call("r", at(2026, 3, 8, 3, 0)) == "ann"


def test_ambiguous_0130_handoff_happens_at_first_occurrence_cdt():
    s = make('r: {start: "2026-10-31 01:30", shift: 1d, peers: [ann, bob]}\n')
    assert s.on_call("r", at(2026, 11, 1, 1, 29)) == "ann"           # 01:29 CDT
    assert s.on_call("r", at(2026, 11, 1, 1, 30)) == "bob"           # 01:30 CDT
    assert s.on_call("r", at(2026, 11, 1, 1, 29, fold=1)) == "bob"   # 01:29 CST, an hour later
    [handoff] = handoffs(s, "r", at(2026, 11, 1), at(2026, 11, 1, 12))
    assert handoff == utc(2026, 11, 1, 6, 30)
    assert handoff.astimezone(CHI).utcoffset() == timedelta(hours=-5)


def test_nobody_is_on_call_before_the_rotation_starts():
    s = make('r: {start: "2026-06-01 08:00", shift: 1d, peers: [ann, bob]}\n')
    assert s.on_call("r", at(2026, 5, 20, 12)) is None
    assert s.on_call("r", at(2026, 6, 1, 7, 59)) is None
    assert s.on_call("r", at(2026, 6, 1, 8, 0)) == "ann"


# -- active windows --------------------------------------------------------------

NIGHTS = """\
r:
  start: "2026-06-01 18:00"
  shift: 1d
  peers: [ann, bob, cat, dan]
  active: {days: [mon, tue, wed, thu, fri], from: 18:00, to: 06:00}
"""


def test_friday_night_window_runs_past_midnight_into_saturday_morning():
    s = make(NIGHTS)
    assert s.on_call("r", at(2026, 6, 5, 17, 59)) is None        # Fri, before the window
    assert s.on_call("r", at(2026, 6, 5, 18, 0)) == "ann"        # Fri 18:00, slot 4
    assert s.on_call("r", at(2026, 6, 6, 5, 59)) == "ann"        # Sat 05:59
    assert s.on_call("r", at(2026, 6, 6, 6, 0)) is None          # Sat 06:00


def test_saturday_evening_is_not_covered_by_a_weekday_window():
    s = make(NIGHTS)
    assert s.on_call("r", at(2026, 6, 6, 18, 0)) is None         # Sat 18:00
    assert s.on_call("r", at(2026, 6, 7, 23, 0)) is None         # Sun 23:00
    assert s.on_call("r", at(2026, 6, 8, 5, 0)) is None          # Mon 05:00 (Sun's night)
    assert s.on_call("r", at(2026, 6, 8, 18, 0)) == "dan"        # Mon 18:00, slot 7


SATURDAY_NIGHTS = """\
r:
  start: "2026-01-03 18:00"
  shift: 1d
  peers: [ann, bob]
  active: {days: [sat], from: 18:00, to: 06:00}
"""


def test_a_night_window_across_spring_forward_ends_at_0600_local_after_11_real_hours():
    s = make(SATURDAY_NIGHTS)  # Sat 2026-03-07 18:00 CST to Sun 06:00 CDT, slot 63: bob
    assert s.on_call("r", at(2026, 3, 7, 18, 0)) == "bob"
    assert s.on_call("r", at(2026, 3, 8, 3, 0)) == "bob"         # just after the skipped hour
    assert s.on_call("r", at(2026, 3, 8, 5, 59)) == "bob"
    assert s.on_call("r", at(2026, 3, 8, 6, 0)) is None
    [night] = [g for g in s.segments("r", at(2026, 3, 7, 12), at(2026, 3, 8, 12)) if g.peer]
    assert real_length(night) == timedelta(hours=11)


def test_a_night_window_across_fall_back_ends_at_0600_local_after_13_real_hours():
    s = make(SATURDAY_NIGHTS)  # Sat 2026-10-31 18:00 CDT to Sun 06:00 CST, slot 301: bob
    assert s.on_call("r", at(2026, 11, 1, 1, 30, fold=1)) == "bob"  # the repeated hour
    assert s.on_call("r", at(2026, 11, 1, 5, 59)) == "bob"
    assert s.on_call("r", at(2026, 11, 1, 6, 0)) is None
    [night] = [g for g in s.segments("r", at(2026, 10, 31, 12), at(2026, 11, 1, 12)) if g.peer]
    assert real_length(night) == timedelta(hours=13)


def test_a_step_can_name_a_peer_directly_beside_a_rotation():
    s = make('r: {start: "2026-06-01 08:00", shift: 1w, peers: [ann, bob]}\n',
             steps="- {notify: [r, dan]}\n- {notify: [dan, clinical_director]}\n")
    first, second = s.plan(at(2026, 6, 2, 12))
    assert [(r.person.id, r.via) for r in first.reach] == [("ann", "r"), ("dan", "peer")]
    assert [r.person.id for r in second.reach] == ["clinical_director"]  # dan was tried
    assert [p.id for p in second.already_tried] == ["dan"]


# -- overrides --------------------------------------------------------------------

DAILY = 'r: {start: "2026-06-01 08:00", shift: 1d, peers: [ann, bob]}\n'


def test_override_without_replaces_takes_the_slot_from_from_up_to_to():
    s = make(DAILY, '- {rotation: r, peer: cat, from: "2026-06-02 10:00", to: "2026-06-03 10:00"}\n')
    assert s.on_call("r", at(2026, 6, 2, 9, 59)) == "bob"
    assert s.on_call("r", at(2026, 6, 2, 10, 0)) == "cat"
    assert s.on_call("r", at(2026, 6, 3, 9, 59)) == "cat"        # across the 08:00 handoff
    assert s.on_call("r", at(2026, 6, 3, 10, 0)) == "ann"


def test_override_without_replaces_covers_before_start_and_outside_the_window():
    s = make(NIGHTS, '- {rotation: r, peer: dan, from: "2026-05-31 12:00", to: "2026-06-06 12:00"}\n')
    assert s.on_call("r", at(2026, 5, 31, 12, 0)) == "dan"       # before the rotation starts
    assert s.on_call("r", at(2026, 6, 3, 12, 0)) == "dan"        # midday, outside the window


def test_override_with_replaces_covers_only_that_peers_slots():
    s = make(DAILY, '- {rotation: r, peer: cat, replaces: ann, from: "2026-06-01 00:00", '
                    'to: "2026-06-04 00:00"}\n')
    assert s.on_call("r", at(2026, 6, 1, 7, 0)) is None          # before start: nobody to replace
    assert s.on_call("r", at(2026, 6, 1, 12)) == "cat"           # ann's day
    assert s.on_call("r", at(2026, 6, 2, 12)) == "bob"           # bob's day is untouched
    assert s.on_call("r", at(2026, 6, 3, 12)) == "cat"           # ann's again
    assert s.on_call("r", at(2026, 6, 4, 12)) == "bob"


def test_override_whose_replaces_is_not_on_call_changes_nothing():
    s = make(DAILY, '- {rotation: r, peer: cat, replaces: dan, from: "2026-06-01 00:00", '
                    'to: "2026-06-04 00:00"}\n')
    segs = s.segments("r", at(2026, 6, 1, 8), at(2026, 6, 3, 8))
    assert [(x.peer, x.override) for x in segs] == [("ann", None), ("bob", None)]


def test_later_override_wins_where_two_overlap():
    s = make(DAILY, """\
        - {rotation: r, peer: cat, from: "2026-06-02 10:00", to: "2026-06-02 14:00"}
        - {rotation: r, peer: dan, from: "2026-06-02 12:00", to: "2026-06-02 16:00"}
        """)
    segs = s.segments("r", at(2026, 6, 2, 9), at(2026, 6, 2, 17))
    assert [(x.start.hour, x.peer) for x in segs] == [(9, "bob"), (10, "cat"), (12, "dan"), (16, "bob")]


def test_replaces_sees_the_result_of_earlier_overrides():
    s = make(DAILY, """\
        - {rotation: r, peer: cat, replaces: ann, from: "2026-06-01 08:00", to: "2026-06-02 08:00"}
        - {rotation: r, peer: dan, replaces: cat, from: "2026-06-01 12:00", to: "2026-06-01 13:00"}
        - {rotation: r, peer: bob, replaces: ann, from: "2026-06-01 14:00", to: "2026-06-01 15:00"}
        """)
    assert s.on_call("r", at(2026, 6, 1, 12, 30)) == "dan"
    assert s.on_call("r", at(2026, 6, 1, 14, 30)) == "cat"       # ann is no longer on call here


# -- escalation plans ---------------------------------------------------------------

TWO = """\
primary: {start: "2026-06-01 08:00", shift: 1w, peers: [ann, bob]}
backup:  {start: "2026-06-01 08:00", shift: 1w, peers: [ann, cat]}
nights:
  start: "2026-06-01 18:00"
  shift: 1d
  peers: [dan]
  active: {from: "18:00", to: "06:00"}
"""
STEPS = "- {notify: primary}\n- {notify: [backup, nights]}\n- {notify: clinical_director}\n"


def test_plan_lists_a_peer_reached_in_an_earlier_step_as_already_tried():
    s = make(TWO, steps=STEPS)
    p1, p2, p3 = s.plan(at(2026, 6, 1, 20))
    assert [r.person.id for r in p1.reach] == ["ann"]
    assert [(r.person.id, r.via) for r in p2.reach] == [("dan", "nights")]
    assert [p.id for p in p2.already_tried] == ["ann"]
    assert [(r.person.id, r.via) for r in p3.reach] == [("clinical_director", "clinical_director")]
    assert [p.number for p in (p1, p2, p3)] == [1, 2, 3]


def test_step_with_nobody_on_call_has_empty_reach():
    s = make(TWO, steps="- {notify: nights}\n- {notify: primary}\n")
    p1, p2 = s.plan(at(2026, 6, 2, 12))                          # midday: nights is off
    assert (p1.reach, p1.already_tried) == ((), ())
    assert [r.person.id for r in p2.reach] == ["ann"]


def test_segments_merge_equal_neighbours_and_mark_overrides():
    s = make('r: {start: "2026-06-01 08:00", shift: 1d, peers: [ann]}\n',
             '- {rotation: r, peer: bob, from: "2026-06-02 12:00", to: "2026-06-02 18:00"}\n')
    segs = s.segments("r", at(2026, 6, 1, 8), at(2026, 6, 4, 8))
    assert [(x.start, x.end, x.peer) for x in segs] == [
        (at(2026, 6, 1, 8), at(2026, 6, 2, 12), "ann"),
        (at(2026, 6, 2, 12), at(2026, 6, 2, 18), "bob"),
        (at(2026, 6, 2, 18), at(2026, 6, 4, 8), "ann")]
    assert segs[0].override is None and segs[2].override is None
    assert (segs[1].override.peer, segs[1].override.line) == ("bob", 11)


def test_gaps_report_when_step_1_reaches_nobody():
    s = make(TWO, steps="- {notify: nights}\n")
    gaps = s.gaps(at(2026, 6, 2, 0), at(2026, 6, 3, 0))
    assert [(g.start, g.end) for g in gaps] == [(at(2026, 6, 2, 6), at(2026, 6, 2, 18))]


def test_gaps_are_empty_when_step_1_names_the_clinical_director():
    s = make(TWO, steps="- {notify: [nights, clinical_director]}\n")
    assert s.gaps(at(2026, 6, 2, 0), at(2026, 6, 3, 0)) == []


@pytest.mark.parametrize("call", [
    lambda s, t: s.on_call("r", t),
    lambda s, t: s.plan(t),
    lambda s, t: s.segments("r", t, t + timedelta(days=1)),
    lambda s, t: s.gaps(t, t + timedelta(days=1)),
], ids=["on_call", "plan", "segments", "gaps"])
def test_naive_datetime_is_refused(call):
    with pytest.raises(ValueError, match="aware"):
        call(make(DAILY), datetime(2026, 6, 2, 12))


# -- the example rotation file ---------------------------------------------------------

def test_example_christmas_override_puts_tnguyen_on_primary_while_maria_is_away():
    s = Schedule(load(EXAMPLE))
    [reach] = s.plan(at(2026, 12, 25, 9))[0].reach
    assert (reach.person.id, reach.via, reach.override) == ("tnguyen", "primary", True)


def test_example_wednesday_night_before_christmas_eve():
    s = Schedule(load(EXAMPLE))
    p1, p2, _ = s.plan(at(2026, 12, 23, 23))
    assert [(r.person.id, r.override) for r in p1.reach] == [("mgarcia", False)]
    assert [(r.person.id, r.via) for r in p2.reach] == [("jsmith", "backup"), ("akim", "nights")]
