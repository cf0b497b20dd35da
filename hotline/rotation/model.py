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
class MenuOption:
    """A caller preference offered in the voice greeting ("press 2 for ...")."""

    digit: str
    key: str  # short label kept in statistics, e.g. "spanish"
    say: str
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def matches(self, person: Person) -> bool:
        return bool(set(self.languages) & set(person.languages)
                    or set(self.tags) & set(person.tags))


@dataclass(frozen=True)
class VoiceSettings:
    greeting: str = ("You have reached the peer support line. This call is confidential. "
                     "Please hold while we connect you with a peer.")
    menu_prompt: str = ""
    menu: tuple[MenuOption, ...] = ()
    whisper: str = "Peer support line. Press 1 to take this call, 2 to pass."
    hold: str = "Please stay on the line."
    goodbye: str = "Thank you for calling. Take care."
    voice: str | None = None  # Twilio <Say> voice, e.g. Polly.Joanna; None = Twilio's default
    language: str = "en-US"
    voicemail: bool = False


URGENT_PHRASES = ("kill myself", "suicide", "end it", "gun", "pills", "goodbye",
                  "no reason to live", "better off without me")


@dataclass(frozen=True)
class SmsSettings:
    """What the text line says. Keep it short and GSM-7: every emoji or curly quote
    halves a segment."""

    welcome: str = ("Thanks for reaching out. A trained peer will reply here shortly. This line "
                    "is confidential. In an emergency call 911, or call or text 988.")
    urgent: str = ("If you are in danger now, call 911. You can call or text 988 any time. "
                   "We are reaching a peer and our clinician for you now.")
    joined: str = "A peer is here now. Text them back on this number."
    fallback: str = ("We could not reach a peer right now. Please call or text 988 now; in an "
                     "emergency call 911. A peer will still reply here when one is free.")
    new_peer: str = "OK, we are finding you another peer."
    calling: str = "Your peer will call you from this number in a moment."
    closed: str = "This conversation is closed. Text this number any time to reach a peer."
    idle_closed: str = ("This conversation was closed after a quiet day. Text this number any "
                        "time to reach a peer.")
    urgent_phrases: tuple[str, ...] = URGENT_PHRASES


@dataclass(frozen=True)
class Reminders:
    """Texts to peers about their own shifts, and to coordinators about holes ahead."""

    before: timedelta | None = timedelta(hours=12)  # None: no early reminder
    at_start: bool = True
    handoff: bool = True  # counts of open conversations in the start reminder; never who
    # The coordinators' weekly text of holes ahead: local weekday (0 = Monday) and time;
    # None (the default) sends none.
    gap_summary: tuple[int, time] | None = None
    weeks: int = 8  # how far ahead that summary looks


@dataclass(frozen=True)
class Config:
    program: Program
    clinical_director: Person
    peers: dict[str, Person]
    rotations: dict[str, Rotation]
    overrides: tuple[Override, ...]
    escalation: Escalation
    source: str = "<config>"
    voice: VoiceSettings = VoiceSettings()
    sms: SmsSettings = SmsSettings()
    # Texted when a step is left with nobody, and the weekly gap summary. Not peers: they
    # are never rung for a contact. Without any, the clinical director gets those texts.
    coordinators: tuple[Person, ...] = ()
    reminders: Reminders = Reminders()

    def person(self, ident: str) -> Person:
        if ident == CLINICAL_DIRECTOR:
            return self.clinical_director
        return self.peers[ident]

    def person_by_phone(self, e164: str) -> Person | None:
        for p in (self.clinical_director, *self.peers.values()):
            if p.phone == e164:
                return p
        return None
