"""What a peer's availability text means: pure, so it is tested by passing `now`.

A peer steps out with OFF (until ON), OFF 4h, OFF until 18:00, or BUSY 30m, and
asks STATUS, WHO, REMIND OFF / REMIND ON. The store-backed shell
(hotline/availability/) keeps the answer; this module only reads the words.

A text is a command only in these exact shapes. Peers also write to texters and
reach out for support themselves, so "busy night, can we talk?" or "on my way"
must stay ordinary words: a first word of OFF or BUSY makes a text a command only
when what follows looks like a length or "until" (and then a bad one is refused
with an example, never guessed at).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.rotation.durations import parse_duration
from hotline.schedule import localize

# Longer absences are a change to the rotation file, made by a coordinator.
MAX_AWAY = timedelta(days=14)
BUSY_DEFAULT = timedelta(hours=1)  # BUSY alone: a short absence that ends by itself

_END = r"[\s.!]*"
_BARE = re.compile(rf"\s*(on|status|who){_END}", re.I)
_AWAY = re.compile(rf"\s*(off|busy)(?:\s+(?:for\s+)?(.*?))?{_END}", re.I | re.S)
_REMIND = re.compile(rf"\s*remind(?:ers?)?\s+(\S+){_END}", re.I)
_LENGTH = re.compile(r"(\d+)\s*([a-z]*)", re.I)
_UNTIL = re.compile(r"until\s+(.*)", re.I | re.S)
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.I)
_UNITS = {"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
          "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
          "d": "d", "day": "d", "days": "d", "w": "w", "wk": "w", "week": "w", "weeks": "w"}
EXAMPLES = "e.g. OFF, OFF 4h, OFF until 18:00, BUSY 30m; ON when you are back"


@dataclass(frozen=True)
class Away:
    """Step out: `until` None means until the peer texts ON."""

    kind: str  # "off" or "busy"
    until: datetime | None


@dataclass(frozen=True)
class Word:
    word: str  # "on", "status", "who", "remind on", "remind off"


@dataclass(frozen=True)
class Refused:
    """It was meant as a command but cannot be obeyed: nothing changes, this is said."""

    reason: str


def parse(body: str, now: datetime, tz: ZoneInfo) -> Away | Word | Refused | None:
    """The availability command in a text, or None when the text is not one."""
    if m := _BARE.fullmatch(body):
        return Word(m.group(1).lower())
    if m := _REMIND.fullmatch(body):
        arg = m.group(1).lower()
        if arg in ("on", "off"):
            return Word(f"remind {arg}")
        return Refused("REMIND takes ON or OFF: REMIND OFF stops shift reminders, "
                       "REMIND ON starts them again.")
    m = _AWAY.fullmatch(body)
    if m is None:
        return None
    kind, rest = m.group(1).lower(), (m.group(2) or "").strip()
    if not rest:
        return Away(kind, now + BUSY_DEFAULT if kind == "busy" else None)
    if u := _UNTIL.fullmatch(rest):
        return _until(kind, u.group(1).strip(), now, tz)
    if n := _LENGTH.fullmatch(rest):
        return _for(kind, int(n.group(1)), n.group(2).lower(), now)
    return None  # "busy night, can someone talk?": words, not a command


def _for(kind: str, amount: int, unit: str, now: datetime) -> Away | Refused:
    unit = _UNITS.get(unit or "h")  # "OFF 4" means hours: nobody steps out for 4 minutes
    length = parse_duration(f"{amount}{unit}") if unit else None
    if length is None:
        return Refused(f"Nothing changed: write how long as a number and a unit, {EXAMPLES}.")
    if length > MAX_AWAY:
        return Refused("Nothing changed: the longest is 14 days. For longer, ask a "
                       "coordinator to change the rotation.")
    return Away(kind, now + length)


def _until(kind: str, text: str, now: datetime, tz: ZoneInfo) -> Away | Refused:
    """"until 18:00" is the next 18:00 on the program's clock: today, or tomorrow if past."""
    m = _CLOCK.fullmatch(text)
    at = _clock_time(m) if m else None
    if at is None:
        return Refused(f"Nothing changed: write the time as 18:00 or 6pm, {EXAMPLES}.")
    local = now.astimezone(tz)
    wall = datetime.combine(local.date(), at)
    if wall <= local.replace(tzinfo=None):
        wall += timedelta(days=1)
    # The schedule's rule for the spring gap and the autumn repeat: "until 02:30" on the
    # night clocks change means what a shift handoff at 02:30 would.
    return Away(kind, localize(wall, tz))


def _clock_time(m: re.Match) -> time | None:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    half = (m.group(3) or "").lower().replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def away_now(rows, now: datetime) -> frozenset[str]:
    """Peer ids stepped out at `now`, from (peer id, until) pairs; until None = until ON."""
    return frozenset(pid for pid, until in rows if until is None or until > now)


def describe(kind: str, until: datetime | None, tz: ZoneInfo, now: datetime) -> str:
    """"OFF until Tue 18:00" in the program's time, for replies, STATUS and the dashboard."""
    if until is None:
        return f"{kind.upper()} until ON"
    return f"{kind.upper()} until {when(until, tz, now)}"


def when(at: datetime, tz: ZoneInfo, now: datetime) -> str:
    """As short as is unmistakable: "18:00" today, "Tue 18:00" this week, else the date."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if timedelta(0) < local.date() - today < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return f"{local:%a} {local.day} {local:%b %H:%M}"
