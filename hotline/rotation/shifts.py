"""A peer's shifts as they would see them: pure, from the schedule.

The schedule answers in segments that split wherever anything might change (an
override starting, a window opening); a peer only cares when *their* time on call
starts and ends in each rotation. Shifts are what reminders, STATUS and WHO speak of.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline.schedule import Schedule


@dataclass(frozen=True)
class Shift:
    peer: str
    rotation: str
    start: datetime
    end: datetime
    cut: bool = False  # already under way when the period began: its real start is earlier


def shifts(schedule: Schedule, start: datetime, end: datetime,
           peer: str | None = None) -> list[Shift]:
    """Each stretch in [start, end) one peer is on call in one rotation, in time order."""
    out: list[Shift] = []
    for name in schedule.config.rotations:
        current: Shift | None = None
        for seg in schedule.segments(name, start, end):
            if current is not None and current.peer == seg.peer:
                current = Shift(current.peer, name, current.start, seg.end, current.cut)
                continue
            if current is not None:
                out.append(current)
            current = (Shift(seg.peer, name, seg.start, seg.end, seg.start <= start)
                       if seg.peer is not None else None)
        if current is not None:
            out.append(current)
    return sorted((s for s in out if peer is None or s.peer == peer),
                  key=lambda s: (s.start, s.rotation))
