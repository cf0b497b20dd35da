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
    # Other names texters may use in `ASK <name>` (posters often give a nickname).
    short_names: tuple[str, ...] = ()


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

    def covers(self, local: datetime) -> bool:
        """Whether a local wall-clock time falls in the window (office hours)."""
        t, day = local.time(), local.weekday()
        if not self.wraps:
            return day in self.days and self.start <= t < self.end
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days
                                                          and t < self.end)


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


# What a menu choice is for. The first four reach a peer (a preference round, then the
# normal steps); resources and office never page anybody.
MENU_KINDS = ("peer", "family", "concern", "ask", "resources", "office")
ROUTED_KINDS = ("peer", "family", "concern", "ask")


@dataclass(frozen=True)
class MenuOption:
    """A choice offered in the voice greeting ("press 2 for ...") and in the first
    reply to a texter ("reply 2 for ...")."""

    digit: str
    key: str  # short label kept in statistics, e.g. "spanish"
    say: str
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kind: str = "peer"  # one of MENU_KINDS
    # A few words for texts and for the peer's notice and whisper ("family member");
    # the reader fills it from the key when the file leaves it out.
    label: str = ""
    # Said to the caller / texted to the texter once they chose (wording for families,
    # for a worried colleague); empty: nothing extra.
    reply: str = ""
    clinician: bool = False  # "press 9 for the clinician": rings the clinical on-call first

    def matches(self, person: Person) -> bool:
        return not self.clinician and bool(set(self.languages) & set(person.languages)
                                           or set(self.tags) & set(person.tags))


def choice_reason(option: MenuOption | None, asked_for: str | None) -> str | None:
    """The kind of choice a contact made, as the statistics count it: family, concern,
    named, peer, resources or office (None: no choice)."""
    if asked_for:
        return "named"
    if option is None:
        return None
    return "named" if option.kind == "ask" else option.kind


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
    # How a caller meets the peer who took the call: "direct" (<Dial><Number>, whisper on
    # the leg) or "conference" (a named Twilio conference a clinician can join as coach).
    bridge: str = "direct"


BRIDGE_MODES = ("direct", "conference")


# Phrases, never single words: officers say "gun", "suicide", "overdose" on every shift, and
# a page that fires for shop talk teaches clinicians to ignore pages. Danger to others
# is as urgent as danger to self. Programs tune the list under `sms: urgent_phrases`.
URGENT_PHRASES = (
    # to self
    "kill myself", "killing myself", "end my life", "end it all", "want to end it",
    "going to end it", "want to die",
    "better off dead", "better off without me", "no reason to live", "feeling suicidal",
    "i'm suicidal", "im suicidal", "eat my gun", "gun in my mouth", "took all my pills",
    "pills lined up", "hang myself", "won't be here tomorrow", "say goodbye for me",
    # to others
    "going to kill", "gonna kill", "want to kill", "going to hurt", "gonna hurt",
    "want to hurt", "make them pay", "shoot him", "shoot her", "shoot them")


PICTURE_MODES = ("refuse", "relay")


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
    # Appended to the first reply when there is a menu; empty: built from the labels.
    menu_prompt: str = ""
    no_pictures: str = ("Pictures are not passed on to peers on this line. Please write what "
                        "you want them to know.")
    # "refuse" (the default: a texter's picture never leaves Twilio) or "relay" (passed to
    # the peer, then deleted at Twilio once delivered; hotline/text/pictures.py).
    pictures: str = "refuse"
    pictures_relayed: str = ("Your picture is passed on to the peer. Our carrier deletes its "
                             "copy once it is delivered.")


@dataclass(frozen=True)
class Office:
    """The program office (coordinators) for non-crisis choices: joining the team,
    a question about the program."""

    phone: str  # E.164
    hours: Window  # local office hours
    closed: str  # said / texted outside the hours


@dataclass(frozen=True)
class Services:
    """What the line offers besides a peer: resources, the office, asking by name."""

    resources: tuple[str, ...] = ("988 Suicide and Crisis Lifeline: call or text 988, any time.",)
    office: Office | None = None
    # Whether a texter (ASK <name>) or caller may ask for a particular peer. Off by
    # default: a program decides this, since it rings a peer who may not be on call.
    ask_by_name: bool = False


@dataclass(frozen=True)
class CalloutSettings:
    """Critical-incident callouts (hotline/callout/): who may start one by text, and
    how hard the router tries to reach the team."""

    allowed: tuple[str, ...] = (CLINICAL_DIRECTOR,)  # person ids who may text CALLOUT
    tag: str | None = None  # the tag a texted CALLOUT reaches by default; None = every peer
    call_after: timedelta = timedelta(minutes=10)  # phone those who have not answered
    calls: int = 2  # phone calls at most per peer, call_after apart
    tally_every: timedelta = timedelta(minutes=2)  # the initiator's running tally, at most
    close_after: timedelta = timedelta(hours=12)  # a forgotten callout closes itself
    yes_is_busy: bool = False  # a peer who said YES is skipped by routing while it is open
    closing: str = "The callout is closed. Thank you. The coordinator will be in touch."


CLINICIAN_MODEL, COORDINATOR_MODEL = "clinician", "team_coordinator"


@dataclass(frozen=True)
class Clinical:
    """Who answers a page: the clinical on-call rotation, how pages repeat, and whether
    the program has licensed clinicians or (the team coordinator model) a coordinator
    in that place. Without a `clinical` section the clinical director is paged."""

    model: str = CLINICIAN_MODEL
    people: tuple[Person, ...] = ()  # in rotation order; empty = the clinical director
    start: datetime | None = None  # naive local; with `shift`, the on-call turn
    shift: timedelta | None = None
    page_every: timedelta = timedelta(minutes=2)
    page_times: int = 3  # pages to one person before the next is paged
    menu_digit: str | None = None  # the caller's "press 9 for the clinician"
    menu_say: str = ""

    @property
    def title(self) -> str:
        """What callers, texters and peers hear them called."""
        return "team coordinator" if self.model == COORDINATOR_MODEL else "clinician"


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
    callout: CalloutSettings = CalloutSettings()
    services: Services = Services()
    clinical: Clinical = Clinical()
    # Texted when a step is left with nobody, and the weekly gap summary. Not peers: they
    # are never rung for a contact. Without any, the clinical director gets those texts.
    coordinators: tuple[Person, ...] = ()
    reminders: Reminders = Reminders()

    def person(self, ident: str) -> Person:
        if ident == CLINICAL_DIRECTOR:
            return self.clinical_director
        for p in self.clinical.people:
            if p.id == ident:
                return p
        return self.peers[ident]

    def is_clinical(self, ident: str) -> bool:
        """The clinical director, or a clinician (coordinator) of the clinical rotation."""
        return ident == CLINICAL_DIRECTOR or any(p.id == ident for p in self.clinical.people)

    def person_by_phone(self, e164: str) -> Person | None:
        for p in (self.clinical_director, *self.clinical.people, *self.peers.values()):
            if p.phone == e164:
                return p
        return None
