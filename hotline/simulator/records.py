"""What the simulated carrier holds: texts, notes, calls, their legs and waits."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers


OUTBOUND_RING = 60  # seconds Twilio rings a REST-placed call (its default Timeout)
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}


def new_sid(prefix: str) -> str:
    # Random, like Twilio's: the router remembers MessageSids across restarts.
    return prefix + uuid.uuid4().hex


def pretty(number: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(number),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


def text_of(node: ET.Element) -> str:
    return " ".join((node.text or "").split())


@dataclass
class Msg:
    sid: str
    from_: str
    to: str
    body: str
    at: datetime


@dataclass
class Note:
    number: str
    text: str
    at: datetime


@dataclass
class Gather:
    node: ET.Element
    deadline: datetime
    digits: str = ""


@dataclass
class Pause:
    deadline: datetime


@dataclass
class Recording:
    node: ET.Element
    started: datetime
    deadline: datetime


@dataclass
class Party:
    """A phone running TwiML: the caller of an inbound call, the peer of a REST-placed
    call, or a <Number url> whisper on a dialled leg."""

    number: str
    params: dict
    url: str = ""
    verbs: list = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    wait: object | None = None  # Gather | Pause | Recording | Dial | Hold | Seat
    queue: "Queued | None" = None  # between <Enqueue> and leaving the queue


@dataclass
class Queued:
    """A caller in a named queue (<Enqueue>): their waitUrl document plays in a loop."""

    sid: str  # QU...: the queue's
    name: str
    node: ET.Element  # the <Enqueue>
    url: str  # the document it came from, for relative URLs
    started: datetime
    after: list  # the verbs after <Enqueue>: played on <Leave> when there is no action
    waited: bool = False  # this round of the waitUrl document held the call (Pause, Gather)
    spoken: float = 0.0  # seconds of speech in this round


@dataclass
class Hold:
    """The waitUrl document ended without waiting: Twilio plays it again once said."""

    deadline: datetime


@dataclass
class Seat:
    """A call in a conference (<Dial><Conference>): its party's wait while it lasts."""

    room: "Room"
    call: "Call"
    dial: ET.Element
    noun: ET.Element  # the <Conference>
    url: str  # the document it came from, for the Dial action
    joined: datetime
    coach: str | None = None  # the CallSid this participant coaches (heard by it alone)

    def flag(self, name: str, default: bool) -> bool:
        value = self.noun.get(name)
        return default if value is None else value.lower() == "true"


@dataclass
class Room:
    """A named conference, created by its first participant, over when it ends."""

    sid: str  # CF...
    name: str
    created: datetime
    seats: list[Seat] = field(default_factory=list)
    started_at: datetime | None = None
    callback: str | None = None  # set by the first participant who gives a statusCallback
    events: frozenset = frozenset()
    sequence: int = 0
    ended: bool = False


@dataclass
class Leg:
    sid: str
    number: str
    node: ET.Element
    status: str = "ringing"  # ringing, whisper, bridged, then a final status
    party: Party | None = None  # the whisper running on this phone
    answered_at: datetime | None = None
    reported: bool = False


@dataclass
class Dial:
    node: ET.Element
    url: str  # the document it came from, for relative URLs
    caller_id: str
    started: datetime
    deadline: datetime
    legs: list[Leg]
    winner: Leg | None = None
    external: str | None = None  # a number outside the simulator (988): taken as answered
    outside: Leg | None = None  # its leg: Twilio reports it to its statusCallback when over
    bridged_at: datetime | None = None


@dataclass
class Call:
    sid: str
    direction: str  # inbound | outbound-api
    from_: str
    party: Party
    started: datetime
    status: str = "in-progress"  # ringing (REST call not yet answered), in-progress, ended
    url: str = ""  # outbound-api: the TwiML fetched on answer
    status_callback: str | None = None
    ring_deadline: datetime | None = None
    dial: Dial | None = None
    ended_at: datetime | None = None
    answered_at: datetime | None = None
    connected_to: list[str] = field(default_factory=list)  # every number ever bridged

    @property
    def live(self) -> bool:
        return self.status != "ended"


def clock_face(delta: timedelta) -> str:
    """How long a call has lasted, as a phone shows it: 4:05, or 1:02:03."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
