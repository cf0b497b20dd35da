"""Property tests: the engine against a minute-by-minute brute-force reference.

The reference never converts a local time to an instant. It walks UTC minutes
and keeps the largest local wall-clock reading seen so far, `high`. A local
boundary b "has started" at minute t iff high >= b: that is the rule "a local
time starts at the first instant whose clock reads it or later", which covers
both the spring gap (02:30 -> 03:00 CDT) and the autumn repeat (first
occurrence). Everything the reference decides is then a function of `high`.
All generated times are whole minutes and the zone's transitions are on the
hour, so stepping by minutes is exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.rotation.reader import parse
from hotline.rotation.model import WEEKDAYS
from hotline.schedule import Schedule

CHI = ZoneInfo("America/Chicago")
UTC = timezone.utc
MINUTE = timedelta(minutes=1)
# 2026 transitions in America/Chicago: the local day, and the instant of change.
TRANSITIONS = [(datetime(2026, 3, 8), datetime(2026, 3, 8, 8, tzinfo=UTC)),
               (datetime(2026, 11, 1), datetime(2026, 11, 1, 7, tzinfo=UTC))]
SPAN = timedelta(hours=36)  # checked on each side of the transition
PEERS = ("ann", "bob", "cat", "dan")
SHIFTS = {"30m": timedelta(minutes=30), "1h": timedelta(hours=1), "90m": timedelta(minutes=90),
          "12h": timedelta(hours=12), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}
FMT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Spec:
    day: datetime  # local midnight of the transition day
    instant: datetime  # UTC instant of the transition
    start: datetime
    shift: str
    peers: tuple[str, ...]
    window: tuple[frozenset[int], time, time] | None
    overrides: tuple[tuple[str, str | None, datetime, datetime], ...]  # peer, replaces, from, to

    def yaml(self) -> str:
        lines = [
            'program: {name: Prop PD, number: "+1 262 555 0100", timezone: America/Chicago}',
            'clinical_director: {name: Dr. Prop, phone: "(262) 555-0199"}',
            "peers:",
            *(f'  - {{id: {p}, name: {p.title()}, phone: "(262) 555-010{i + 1}"}}'
              for i, p in enumerate(PEERS)),
            "rotations:",
            "  r:",
            f'    start: "{self.start:{FMT}}"',
            f"    shift: {self.shift}",
            f"    peers: [{', '.join(self.peers)}]",
        ]
        if self.window:
            days, start, end = self.window
            names = ", ".join(WEEKDAYS[d] for d in sorted(days))
            lines.append(f'    active: {{days: [{names}], from: "{start:%H:%M}", to: "{end:%H:%M}"}}')
        if self.overrides:
            lines.append("overrides:")
        for peer, replaces, start, end in self.overrides:
            extra = f", replaces: {replaces}" if replaces else ""
            lines.append(f'  - {{rotation: r, peer: {peer}{extra}, from: "{start:{FMT}}", '
                         f'to: "{end:{FMT}}"}}')
        lines += ["escalation:", "  steps:", "    - {notify: r}",
                  '  fallback: {forward: "988", message: Call 988.}', ""]
        return "\n".join(lines)


# -- the brute-force reference ----------------------------------------------------

def covered_by_window(spec: Spec, high: datetime) -> bool:
    if spec.window is None:
        return True
    days, start, end = spec.window
    for back in range(-1, 3):
        day = high.date() - timedelta(days=back)
        if day.weekday() not in days:
            continue
        opens = datetime.combine(day, start)
        closes = datetime.combine(day + timedelta(days=1 if end <= start else 0), end)
        if opens <= high < closes:
            return True
    return False


def expected(spec: Spec, high: datetime) -> tuple[str | None, int | None]:
    """(peer on call, index of the override that put them there) once the clock has read `high`."""
    peer, source = None, None
    if high >= spec.start and covered_by_window(spec, high):
        k = (high - spec.start) // SHIFTS[spec.shift]
        peer = spec.peers[k % len(spec.peers)]
    for i, (o_peer, replaces, start, end) in enumerate(spec.overrides):
        if start <= high < end and (replaces is None or replaces == peer):
            peer, source = o_peer, i
    return peer, source


def walk(spec: Spec):
    """Yield (aware UTC minute, expected peer, expected override index) over the checked range."""
    t = spec.instant - SPAN - timedelta(hours=3)  # warm up `high` past any repeated hour
    high = datetime.min
    while t < spec.instant + SPAN:
        high = max(high, t.astimezone(CHI).replace(tzinfo=None))
        if t >= spec.instant - SPAN:
            yield (t, *expected(spec, high))
        t += MINUTE


# -- strategies ----------------------------------------------------------------------

def local_minute(day: datetime, lo: timedelta, hi: timedelta):
    """A whole-minute local time between day+lo and day+hi, often right at the DST hours."""
    near = st.integers(0, 240).map(lambda m: day + timedelta(minutes=m))  # 00:00-04:00
    anywhere = st.integers(int(lo / MINUTE), int(hi / MINUTE)).map(lambda m: day + m * MINUTE)
    return st.one_of(near, anywhere)


clock_times = st.one_of(
    st.sampled_from([time(0, 0), time(1, 0), time(1, 30), time(2, 0), time(2, 30), time(3, 0)]),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)))


@st.composite
def specs(draw) -> Spec:
    day, instant = draw(st.sampled_from(TRANSITIONS))
    start = draw(local_minute(day, timedelta(days=-4), timedelta(hours=6)))
    window = draw(st.none() | st.tuples(
        st.frozensets(st.integers(0, 6), min_size=1), clock_times, clock_times))
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        anywhere = local_minute(day, timedelta(hours=-40), timedelta(hours=36))
        if overrides:  # often overlap the previous one and replace whoever it put on call
            prev_start = overrides[-1][2]
            anywhere |= st.integers(-180, 180).map(lambda m, p=prev_start: p + m * MINUTE)
        o_start = draw(anywhere)
        length = draw(st.integers(1, 36 * 60)) * MINUTE
        candidates = (*PEERS, *(o[0] for o in overrides))
        replaces = draw(st.none() | st.sampled_from(candidates))
        overrides.append((draw(st.sampled_from(PEERS)), replaces, o_start, o_start + length))
    return Spec(day=day, instant=instant, start=start, shift=draw(st.sampled_from(list(SHIFTS))),
                peers=tuple(draw(st.lists(st.sampled_from(PEERS), min_size=1, max_size=4))),
                window=window, overrides=tuple(overrides))


def compile_spec(spec: Spec) -> Schedule:
    return Schedule(parse(spec.yaml(), "generated.yaml"))


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- properties ------------------------------------------------------------------------

@PROPERTY
@given(specs())
def test_on_call_matches_brute_force_every_minute_around_dst(spec):
    s = compile_spec(spec)
    for t, peer, _ in walk(spec):
        got = s.on_call("r", t)
        assert got == peer, (f"at {t:%Y-%m-%d %H:%MZ} ({t.astimezone(CHI):%H:%M %Z}) "
                             f"expected {peer}, got {got}\n{spec.yaml()}")


@PROPERTY
@given(specs(), st.data())
def test_segments_tile_the_range_and_agree_with_on_call_and_brute_force(spec, data):
    s = compile_spec(spec)
    minutes = int(2 * SPAN / MINUTE)
    first = data.draw(st.integers(0, minutes - 1))
    last = data.draw(st.integers(first + 1, minutes))
    a = spec.instant - SPAN + first * MINUTE
    b = spec.instant - SPAN + last * MINUTE
    segs = s.segments("r", a.astimezone(CHI), b.astimezone(CHI))

    # Tiling, compared as instants (same-zone datetimes compare by wall clock).
    starts = [x.start.astimezone(UTC) for x in segs]
    ends = [x.end.astimezone(UTC) for x in segs]
    assert starts[0] == a and ends[-1] == b
    assert all(x < y for x, y in zip(starts, ends))
    assert starts[1:] == ends[:-1]
    # Merged: neighbours always differ.
    assert all((x.peer, x.override) != (y.peer, y.override) for x, y in zip(segs, segs[1:]))

    for seg, begin, end in zip(segs, starts, ends):
        assert s.on_call("r", seg.start) == seg.peer, f"segment {begin} - {end}\n{spec.yaml()}"
        assert s.on_call("r", end - MINUTE) == seg.peer, f"segment {begin} - {end}\n{spec.yaml()}"

    # Every minute of [a, b) lies in the segment the reference expects.
    index = 0
    for t, peer, source in walk(spec):
        if not a <= t < b:
            continue
        while ends[index] <= t:
            index += 1
        seg = segs[index]
        assert seg.peer == peer, f"at {t:%Y-%m-%d %H:%MZ}\n{spec.yaml()}"
        want = None if source is None else spec.overrides[source]
        got = None if seg.override is None else (seg.override.peer, seg.override.replaces,
                                                 seg.override.start, seg.override.end)
        assert got == want, f"at {t:%Y-%m-%d %H:%MZ}\n{spec.yaml()}"
