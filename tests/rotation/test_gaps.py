"""Coverage gaps, found before they happen: which step is empty when, and why."""
from __future__ import annotations

from datetime import datetime, timedelta

from hotline.rotation.gaps import DESIGNED, HOLE, REPEAT, coverage_gaps, empty_steps
from hotline.rotation.reader import parse
from hotline.schedule import Schedule
from tests.conftest import CHICAGO

FILE = """
program: {name: Gaps PD, number: "+1 262 555 0100", timezone: America/Chicago}
clinical_director: {name: Dr. D, phone: "262-555-0199"}
peers:
  - {id: ann, name: Ann, phone: "262-555-0101"}
  - {id: bob, name: Bob, phone: "262-555-0102"}
  - {id: cat, name: Cat, phone: "262-555-0103"}
rotations:
  primary: {start: "2026-06-01 08:00", shift: 1w, peers: [ann, bob]}
  backup:  {start: "2026-06-01 08:00", shift: 1w, peers: [bob, ann]}
  nights:
    start: "2026-06-01 18:00"
    shift: 1d
    peers: [cat]
    active: {days: [mon, tue, wed, thu, fri], from: "18:00", to: "06:00"}
escalation:
  steps:
    - {notify: primary}
    - {notify: nights}
    - {notify: backup}
    - {notify: clinical_director}
  fallback: {forward: "988", message: Call 988.}
"""


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def gaps(text: str = FILE, start=at(2026, 6, 2, 0), days: int = 1, away=None):
    return coverage_gaps(Schedule(parse(text)), start, start + timedelta(days=days), away)


def test_a_weeknights_rotations_daytime_is_designed_not_a_hole():
    assert [(g.start, g.end, g.step, g.kind) for g in gaps()] == [
        (at(2026, 6, 2, 6), at(2026, 6, 2, 18), 2, DESIGNED)]
    assert gaps()[0].detail == "nights off by design (active hours)"


def test_the_same_peer_on_two_steps_makes_the_later_step_a_repeat_hole():
    same = FILE.replace("peers: [bob, ann]", "peers: [ann, bob]")
    found = [g for g in gaps(same) if not g.designed]
    assert [(g.start, g.end, g.step, g.kind) for g in found] == [
        (at(2026, 6, 2, 0), at(2026, 6, 3, 0), 3, REPEAT)]
    assert found[0].detail == "Ann (backup) already rung at step 1: contacts skip step 3"


def test_a_rotation_not_started_yet_is_a_hole():
    late = FILE.replace('backup:  {start: "2026-06-01 08:00"',
                        'backup:  {start: "2026-06-10 08:00"')
    found = [g for g in gaps(late) if not g.designed]
    assert [(g.step, g.kind, g.detail) for g in found] == [(3, HOLE, "nobody on call in backup")]


def test_a_peer_who_stepped_out_leaves_a_hole_until_she_is_back():
    found = gaps(away={"ann": at(2026, 6, 2, 9)})
    holes = [(g.start, g.end, g.step, g.kind, g.detail) for g in found if not g.designed]
    assert holes == [(at(2026, 6, 2, 0), at(2026, 6, 2, 9), 1, HOLE, "Ann stepped out")]


def test_stretches_are_merged_across_days_and_split_by_kind():
    found = gaps(days=3)
    assert [(g.start.day, g.start.hour, g.end.day, g.end.hour) for g in found] == [
        (2, 6, 2, 18), (3, 6, 3, 18), (4, 6, 4, 18)]


def test_the_steps_empty_at_one_instant():
    empty = empty_steps(Schedule(parse(FILE)), at(2026, 6, 2, 12), {"bob": None})
    assert {n: g.kind for n, g in empty.items()} == {2: DESIGNED, 3: HOLE}
