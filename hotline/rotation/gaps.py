"""Coverage gaps, found before they happen: pure, over a period the caller picks.

For every escalation step and every stretch of time, is there somebody new to
ring? A step can come up empty three ways, and coordinators need to tell them
apart:

- `designed`: every rotation of the step is outside its `active` hours (a
  weeknights-only rotation on a Sunday afternoon). Chosen on purpose; shown calm.
- `hole`: nobody on call for another reason (a rotation not started yet), or
  everybody on call has stepped out (OFF/BUSY, when the caller passes who is away).
- `repeat`: the people on call were already rung at an earlier step (the same
  peer primary and backup the same week), so a contact skips this step.

`hotline check`, `hotline schedule`, the dashboard's Schedule page and the
coordinators' weekly text all read this one function.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from hotline.schedule import Schedule

DESIGNED, HOLE, REPEAT = "designed", "hole", "repeat"


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    step: int  # 1-based, as coordinators count
    kind: str  # DESIGNED, HOLE or REPEAT
    detail: str  # what a coordinator reads: why the step is empty

    @property
    def designed(self) -> bool:
        return self.kind == DESIGNED


def coverage_gaps(schedule: Schedule, start: datetime, end: datetime,
                  away: Mapping[str, datetime | None] | None = None) -> list[Gap]:
    """Every stretch in [start, end) when a step has nobody new to ring. `away`: peer id
    -> until (None: until they text ON) for peers who have stepped out."""
    away = dict(away or {})
    config = schedule.config
    names = {n for step in config.escalation.steps for n in step.notify if n in config.rotations}
    points = set(schedule.change_points(names, start, end))
    points |= {u for u in away.values() if u is not None and start < u < end}
    opened: dict[tuple[int, str, str], datetime] = {}
    found: list[Gap] = []
    for at in sorted(points):
        now_open = {(g.step, g.kind, g.detail) for g in _at(schedule, at, away)}
        for key in [k for k in opened if k not in now_open]:
            found.append(Gap(opened.pop(key), at, *key))
        for key in now_open:
            opened.setdefault(key, at)
    found += [Gap(since, end, *key) for key, since in opened.items()]
    return sorted(found, key=lambda g: (g.start, g.step))


def empty_steps(schedule: Schedule, at: datetime,
                away: Mapping[str, datetime | None] | None = None) -> dict[int, Gap]:
    """The steps with nobody new to ring at the instant `at`, by step number."""
    return {g.step: g for g in _at(schedule, at, dict(away or {}))}


def _at(schedule: Schedule, at: datetime, away: dict[str, datetime | None]) -> list[Gap]:
    config = schedule.config
    gone = {pid for pid, until in away.items() if until is None or until > at}
    first_step: dict[str, int] = {}  # person id -> the step that rings them first
    out = []
    for number, step in enumerate(config.escalation.steps, start=1):
        reach = schedule.step_reach(step, at)
        fresh = [r for r in reach if r.person.id not in first_step]
        for r in fresh:
            first_step[r.person.id] = number
        if any(r.person.id not in gone for r in fresh):
            continue
        rotations = [n for n in step.notify if n in config.rotations]
        if not reach:
            if rotations and all(schedule.off_by_design(n, at) for n in rotations):
                kind, detail = DESIGNED, f"{_names(rotations)} off by design (active hours)"
            else:
                kind, detail = HOLE, f"nobody on call in {_names(rotations)}"
        elif fresh:
            kind, detail = HOLE, ", ".join(r.person.name for r in fresh) + " stepped out"
        else:
            again = ", ".join(f"{r.person.name} ({r.via})" for r in reach)
            kind = REPEAT
            detail = (f"{again} already rung at step "
                      f"{min(first_step[r.person.id] for r in reach)}: contacts skip step {number}")
        out.append(Gap(at, at, number, kind, detail))
    return out


def _names(rotations: list[str]) -> str:
    return " + ".join(rotations)
