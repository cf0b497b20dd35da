"""The pure part of a callout: what a text means, who is asked, and the counts.

No clock, no database: the shell (service.py) passes `now` and the rows' values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from hotline.rotation.model import Config, Person

YES, NO = "yes", "no"
# "YES 40", "yes, 40 min", "y 15m": at most 3 digits, so "yes 1000" is nobody's ETA.
_MINUTES = r"(?:[\s,:-]+(\d{1,3})\s*(?:m|min|mins|minutes)?)?"
_ANSWER = re.compile(rf"\s*(yes|y|no|n){_MINUTES}[\s.!]*", re.I)
_EXPLICIT = re.compile(rf"\s*callout\s+(yes|y|no|n){_MINUTES}[\s.!]*", re.I)
_CLOSE = re.compile(r"\s*(?:close(?:\s+callout)?[\s.!]*|callout\s+close\b[\s:,.-]*(.*))",
                    re.I | re.S)
_START = re.compile(r"\s*callout\b[\s:,.-]*(.*)", re.I | re.S)
_TAG = re.compile(r"#([a-z][a-z0-9_.-]*)(?:[\s:,-]+|$)(.*)", re.I | re.S)


@dataclass(frozen=True)
class Answer:
    yes: bool
    minutes: int | None = None
    explicit: bool = False  # "CALLOUT YES 40": meant for the callout, whatever else is open


@dataclass(frozen=True)
class Start:
    message: str
    tag: str | None = None  # "CALLOUT #critical-incident ..."; None: the file's default


@dataclass(frozen=True)
class Close:
    note: str = ""


def parse_answer(body: str) -> Answer | None:
    """YES, NO, YES 40 (minutes away), or the explicit CALLOUT YES 40."""
    for pattern, explicit in ((_EXPLICIT, True), (_ANSWER, False)):
        if m := pattern.fullmatch(body):
            yes = m.group(1).lower() in ("yes", "y")
            return Answer(yes, int(m.group(2)) if yes and m.group(2) else None, explicit)
    return None


def parse_command(body: str) -> Start | Close | None:
    """CALLOUT <message>, CALLOUT #tag <message>, CLOSE, CALLOUT CLOSE [note]."""
    if m := _CLOSE.fullmatch(body):
        return Close(" ".join((m.group(1) or "").split()))
    if m := _START.fullmatch(body):
        rest = m.group(1).strip()
        tag = None
        if t := _TAG.fullmatch(rest):
            tag, rest = t.group(1).lower(), t.group(2).strip()
        return Start(" ".join(rest.split()), tag)
    return None


class Refusal(Exception):
    """Bad input: the message says what was wrong; nothing was changed."""


def recipients(config: Config, tag: str | None, initiator: str | None) -> list[Person]:
    """Every peer with the tag (every peer without one), not the person starting it."""
    if tag is not None:
        known = sorted({t for p in config.peers.values() for t in p.tags})
        if tag not in known:
            listed = ", ".join(known) if known else "none yet"
            raise Refusal(f"Unknown tag '{tag}'. Tags in the rotation file: {listed}. "
                          "Nothing was sent.")
    people = [p for p in config.peers.values()
              if (tag is None or tag in p.tags) and p.id != initiator]
    if not people:
        who = f"with the tag '{tag}'" if tag else "in the rotation file"
        raise Refusal(f"Nobody {who} can be asked (besides you). Nothing was sent.")
    return people


@dataclass(frozen=True)
class Counts:
    yes: int
    no: int
    waiting: int
    unreachable: int  # waiting, and their text or call failed

    def text(self, final: bool = False) -> str:
        head = "Callout closed" if final else "Callout"
        words = f"{head}: {self.yes} yes, {self.no} no, {self.waiting} " + \
            ("no answer" if final else "waiting")
        if self.unreachable:
            words += f" ({self.unreachable} unreachable)"
        return words + "."


def count(rows: list[tuple[str | None, bool]]) -> Counts:
    """`rows`: (answer, unreachable) per peer asked."""
    yes = sum(1 for a, _ in rows if a == YES)
    no = sum(1 for a, _ in rows if a == NO)
    unreachable = sum(1 for a, u in rows if a is None and u)
    return Counts(yes, no, len(rows) - yes - no, unreachable)


def tally_due(current: datetime | None, now: datetime, every: timedelta) -> datetime:
    """Debounce: the first answer after a tally starts the wait, later ones ride along."""
    return current if current is not None else now + every


def notice(config: Config, message: str) -> str:
    """The text every peer asked gets. Short: 40 of them go out at the number's rate."""
    return (f"{config.program.name} CALLOUT: {message} - reply YES (or YES 40 if 40 min "
            "away) or NO")


def send_seconds(peers: int, per_second: int) -> int:
    """How long the notices take to leave at the number's rate (README, worked example)."""
    return peers if per_second <= 0 else -(-peers // per_second)
