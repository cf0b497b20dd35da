"""Who is on call at a given instant: the pure rotation engine.

No clock, no I/O: every question takes the instant as an aware datetime.

Rotations are defined in local wall-clock time, so a weekly handoff at Monday
08:00 stays at 08:00 across DST. A local time that does not exist (the spring
gap) means the first valid instant after it; one that happens twice (the
autumn repeat) means its first occurrence. Both rules are the same rule:
a local time T starts at the first instant whose wall clock reads T or later.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.rotation.model import CLINICAL_DIRECTOR, Config, Override, Person, Rotation, Step


def first_instant(wall: datetime, tz: ZoneInfo) -> float:
    """POSIX time of the first instant whose local clock in `tz` reads `wall` or later."""
    a = wall.replace(tzinfo=tz, fold=0).timestamp()
    b = wall.replace(tzinfo=tz, fold=1).timestamp()
    lo, hi = min(a, b), max(a, b)
    if _wall(lo, tz) == wall:
        return lo
    if _wall(hi, tz) == wall:
        return hi
    # In the spring gap: bisect to the transition, where the clock jumps past `wall`.
    lo_i, hi_i = int(lo), int(hi)
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        if _wall(mid, tz) >= wall:
            hi_i = mid
        else:
            lo_i = mid
    return float(hi_i)


def localize(wall: datetime, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(first_instant(wall, tz), tz)


def _wall(ts: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def _timestamp(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the schedule needs an aware datetime (with a time zone)")
    return at.timestamp()


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one answer: `peer` is on call (None = nobody)."""

    start: datetime
    end: datetime
    peer: str | None
    override: Override | None = None


@dataclass(frozen=True)
class Reach:
    person: Person
    via: str  # rotation name, "peer" when named directly, or clinical_director
    override: bool = False


@dataclass(frozen=True)
class StepPlan:
    number: int  # 1-based, as coordinators count
    step: Step
    reach: tuple[Reach, ...]
    already_tried: tuple[Person, ...]  # on call here but reached by an earlier step


class _RotationClock:
    """One rotation compiled against the program zone, with its overrides."""

    def __init__(self, rotation: Rotation, overrides: list[Override], tz: ZoneInfo):
        self.rotation = rotation
        self.tz = tz
        self.start_ts = first_instant(rotation.start, tz)
        self.overrides = [(first_instant(o.start, tz), first_instant(o.end, tz), o)
                          for o in overrides]
        self._boundaries: dict[int, float] = {}
        self._windows: dict[date, tuple[float, float]] = {}

    def boundary(self, k: int) -> float:
        ts = self._boundaries.get(k)
        if ts is None:
            rot = self.rotation
            ts = self._boundaries[k] = first_instant(rot.start + k * rot.shift, self.tz)
        return ts

    def slot(self, ts: float, wall: datetime) -> int | None:
        if ts < self.start_ts:
            return None
        k = max((wall - self.rotation.start) // self.rotation.shift, 0)
        # The wall-clock estimate can be off by one around DST; the boundaries decide.
        while k > 0 and self.boundary(k) > ts:
            k -= 1
        while self.boundary(k + 1) <= ts:
            k += 1
        return k

    def window(self, day: date) -> tuple[float, float]:
        span = self._windows.get(day)
        if span is None:
            w = self.rotation.active
            end_day = day + timedelta(days=1) if w.wraps else day
            span = self._windows[day] = (
                first_instant(datetime.combine(day, w.start), self.tz),
                first_instant(datetime.combine(end_day, w.end), self.tz))
        return span

    def active(self, ts: float, wall: datetime) -> bool:
        w = self.rotation.active
        if w is None:
            return True
        for day in (wall.date(), wall.date() - timedelta(days=1)):
            if day.weekday() in w.days:
                start, end = self.window(day)
                if start <= ts < end:
                    return True
        return False

    def resolve(self, ts: float) -> tuple[str | None, Override | None]:
        wall = _wall(ts, self.tz)
        peer, source = None, None
        k = self.slot(ts, wall)
        if k is not None and self.active(ts, wall):
            peer = self.rotation.peers[k % len(self.rotation.peers)]
        # In file order, so a later override wins where two overlap.
        for start, end, o in self.overrides:
            if start <= ts < end and (o.replaces is None or o.replaces == peer):
                peer, source = o.peer, o
        return peer, source

    def change_points(self, start_ts: float, end_ts: float) -> set[float]:
        """Every instant in [start_ts, end_ts) where the answer may change."""
        points = {start_ts}
        if end_ts > self.start_ts:
            k = self.slot(max(start_ts, self.start_ts), _wall(max(start_ts, self.start_ts), self.tz))
            while (ts := self.boundary(k)) < end_ts:
                points.add(ts)
                k += 1
        if self.rotation.active is not None:
            day = _wall(start_ts, self.tz).date() - timedelta(days=1)
            last = _wall(end_ts, self.tz).date()
            while day <= last:
                if day.weekday() in self.rotation.active.days:
                    points.update(self.window(day))
                day += timedelta(days=1)
        for start, end, _ in self.overrides:
            points.update((start, end))
        return {p for p in points if start_ts <= p < end_ts}


class Schedule:
    """Answers "who is on call" for one validated rotation file."""

    def __init__(self, config: Config):
        self.config = config
        self.tz = config.program.timezone
        self._clocks = {
            name: _RotationClock(rot, [o for o in config.overrides if o.rotation == name], self.tz)
            for name, rot in config.rotations.items()}
        clinical = config.clinical
        self._clinical = None
        if clinical.start is not None and clinical.shift is not None and clinical.people:
            turn = Rotation(name="clinical", start=clinical.start, shift=clinical.shift,
                            peers=tuple(p.id for p in clinical.people))
            self._clinical = _RotationClock(turn, [], self.tz)

    def on_call(self, rotation: str, at: datetime) -> str | None:
        return self._clocks[rotation].resolve(_timestamp(at))[0]

    def clinical_chain(self, at: datetime) -> tuple[Person, ...]:
        """Whom a page reaches, in order: the clinician on call, the other clinicians in
        rotation order after them, and the clinical director last. Without clinicians
        listed, the clinical director alone."""
        people = self.config.clinical.people
        first = 0
        if self._clinical is not None:
            on_call = self._clinical.resolve(_timestamp(at))[0]
            first = next((i for i, p in enumerate(people) if p.id == on_call), 0)
        chain = people[first:] + people[:first]
        return chain + (self.config.clinical_director,)

    def clinician_on_call(self, at: datetime) -> Person:
        return self.clinical_chain(at)[0]

    def step_reach(self, step: Step, at: datetime) -> list[Reach]:
        """Everyone a step would ring at `at`, each once, in the order the file lists them."""
        ts = _timestamp(at)
        out: list[Reach] = []
        seen: set[str] = set()
        for name in step.notify:
            if name in self._clocks:
                peer, source = self._clocks[name].resolve(ts)
                if peer is None:
                    continue
                reach = Reach(self.config.peers[peer], name, source is not None)
            elif name == CLINICAL_DIRECTOR:
                reach = Reach(self.config.clinical_director, CLINICAL_DIRECTOR)
            else:
                reach = Reach(self.config.peers[name], "peer")
            if reach.person.id not in seen:
                seen.add(reach.person.id)
                out.append(reach)
        return out

    def plan(self, at: datetime) -> list[StepPlan]:
        """The whole escalation as one contact at `at` would meet it."""
        tried: set[str] = set()
        plans = []
        for number, step in enumerate(self.config.escalation.steps, start=1):
            reach = self.step_reach(step, at)
            fresh = tuple(r for r in reach if r.person.id not in tried)
            again = tuple(r.person for r in reach if r.person.id in tried)
            tried.update(r.person.id for r in fresh)
            plans.append(StepPlan(number, step, fresh, again))
        return plans

    def off_by_design(self, rotation: str, at: datetime) -> bool:
        """Nobody on call because the rotation's `active` hours leave this time out (as
        opposed to before its start): a window the coordinators chose, not a hole."""
        clock, ts = self._clocks[rotation], _timestamp(at)
        wall = _wall(ts, self.tz)
        return (clock.rotation.active is not None and ts >= clock.start_ts
                and not clock.active(ts, wall) and clock.resolve(ts)[0] is None)

    def change_points(self, rotations, start: datetime, end: datetime) -> list[datetime]:
        """Every instant in [start, end) where who is on call in `rotations` may change."""
        start_ts, end_ts = _timestamp(start), _timestamp(end)
        points = {start_ts}.union(*(self._clocks[n].change_points(start_ts, end_ts)
                                    for n in rotations))
        return [self._dt(p) for p in sorted(points)]

    def segments(self, rotation: str, start: datetime, end: datetime) -> list[Segment]:
        clock = self._clocks[rotation]
        start_ts, end_ts = _timestamp(start), _timestamp(end)
        return self._merge(sorted(clock.change_points(start_ts, end_ts)), end_ts, clock.resolve)

    def gaps(self, start: datetime, end: datetime) -> list[Segment]:
        """Stretches in [start, end) when the first escalation step reaches nobody."""
        first = self.config.escalation.steps[0]
        if any(name not in self._clocks for name in first.notify):
            return []  # a named peer or the clinical director is always reachable
        clocks = [self._clocks[name] for name in first.notify]
        start_ts, end_ts = _timestamp(start), _timestamp(end)
        points = set().union(*(c.change_points(start_ts, end_ts) for c in clocks))

        def anyone(ts: float) -> tuple[str | None, None]:
            covered = any(c.resolve(ts)[0] is not None for c in clocks)
            return ("covered" if covered else None), None

        return [s for s in self._merge(sorted(points), end_ts, anyone) if s.peer is None]

    def _merge(self, points: list[float], end_ts: float, resolve) -> list[Segment]:
        out: list[Segment] = []
        for i, ts in enumerate(points):
            peer, source = resolve(ts)
            seg_end = points[i + 1] if i + 1 < len(points) else end_ts
            if out and out[-1].peer == peer and out[-1].override == source:
                last = out[-1]
                out[-1] = Segment(last.start, self._dt(seg_end), peer, source)
            else:
                out.append(Segment(self._dt(ts), self._dt(seg_end), peer, source))
        return out

    def _dt(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz)
