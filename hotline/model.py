"""The rotation file as plain, immutable values.

Everything here is already validated: times are naive *local* wall-clock
datetimes in the program's zone (the schedule engine turns them into instants),
phone numbers are E.164 strings, and every name points at something that exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

CLINICAL_DIRECTOR = "clinical_director"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    phone: str  # E.164
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """Weekly local coverage: starts at `start` on each of `days`, ends at `end`
    (on the next day when `end` is not after `start`)."""

    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start: time
    end: time

    @property
    def wraps(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Rotation:
    name: str
    start: datetime  # naive, local wall clock
    shift: timedelta  # wall-clock length of one slot
    peers: tuple[str, ...]
    active: Window | None = None


@dataclass(frozen=True)
class Override:
    rotation: str
    peer: str
    start: datetime  # naive, local
    end: datetime  # naive, local, exclusive
    replaces: str | None = None
    line: int = 0  # where it was written, so a coordinator can find it


@dataclass(frozen=True)
class Step:
    notify: tuple[str, ...]  # rotation names, peer ids or CLINICAL_DIRECTOR
    ring: timedelta
    wait: timedelta


@dataclass(frozen=True)
class Fallback:
    forward: str | None  # E.164 or a short code such as 988
    message: str


@dataclass(frozen=True)
class Escalation:
    steps: tuple[Step, ...]
    repeat: int
    fallback: Fallback
    max_wait: timedelta  # longest a caller is kept waiting before the fallback


@dataclass(frozen=True)
class Program:
    name: str
    number: str  # E.164
    timezone: ZoneInfo
    region: str


@dataclass(frozen=True)
class Config:
    program: Program
    clinical_director: Person
    peers: dict[str, Person]
    rotations: dict[str, Rotation]
    overrides: tuple[Override, ...]
    escalation: Escalation
    source: str = "<config>"

    def person(self, ident: str) -> Person:
        if ident == CLINICAL_DIRECTOR:
            return self.clinical_director
        return self.peers[ident]

    def person_by_phone(self, e164: str) -> Person | None:
        for p in (self.clinical_director, *self.peers.values()):
            if p.phone == e164:
                return p
        return None
