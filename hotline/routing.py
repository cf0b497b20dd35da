"""Given a contact, the rotation and the live state: whom to ring next.

Pure: the caller passes the instant, the busy set and the contact's history.
Voice and text share these rules; only the timing differs (voice rings for
`step.ring` within the caller's overall wait, text waits `step.wait`).

Rules, in order:
- a caller or texter who asked for the clinician has a clinician round first: the
  clinician on call alone (the peers are their fallback);
- a preference round (caller asked for, say, a Spanish speaker) comes first
  and rings every on-call peer who matches; then the normal steps follow;
- a peer asked for by name is in that round whether on call or not (the
  caller is never told which), ahead of the peers who match;
- steps run in file order, `repeat` extra passes;
- within one pass a person is rung at most once;
- a peer busy on another contact is skipped, and nobody is ever rung on the
  caller's own phone (peers call the line for support too);
- a step left with nobody is passed at once;
- at most 10 phones ring together (Twilio's <Dial> limit);
- past the deadline, or with no step left, the fallback.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hotline.rotation.model import CLINICAL_DIRECTOR, Config, Fallback, MenuOption, Person, Step
from hotline.schedule import Schedule

PREFERENCE_ROUND = -1
# -2 is taken: the voice emergency route marks its whisper with it.
CLINICIAN_ROUND = -3
# How long the clinician round rings a phone, or waits for a text reply, when the first
# step's own times are shorter: a clinician is often not carrying the line's phone in hand.
CLINICIAN_RING = timedelta(seconds=30)
MAX_PARALLEL = 10
# Ringing for less than this is pointless: a peer cannot answer and press 1 in time.
MIN_RING = timedelta(seconds=8)


@dataclass(frozen=True)
class Contact:
    started_at: datetime
    caller: str | None  # E.164, only ever held in memory while deciding
    next_attempt: int  # attempt index to consider next (PREFERENCE_ROUND first if any)
    tried: tuple[tuple[int, str], ...] = ()  # (attempt, person id) already rung
    preference: MenuOption | None = None
    deadline: datetime | None = None  # voice: started_at + max_wait
    asked_for: str | None = None  # a peer id the contact asked for by name


@dataclass(frozen=True)
class Ring:
    attempt: int
    step_number: int  # 1-based step within the file; 0 for the preference round
    people: tuple[Person, ...]
    ring: timedelta
    wait: timedelta


@dataclass(frozen=True)
class GiveUp:
    fallback: Fallback
    reason: str  # "exhausted" or "deadline"


def first_attempt(preference: MenuOption | None, asked_for: str | None = None) -> int:
    if preference is not None and preference.clinician:
        return CLINICIAN_ROUND
    return PREFERENCE_ROUND if preference or asked_for else 0


def preferred(config: Config, schedule: Schedule, contact: Contact, now: datetime) -> list[Person]:
    """Who the preference round offers the contact to: the peer asked for by name,
    then every matching on-call peer of any step but the clinical director's."""
    named = [config.peers[contact.asked_for]] if contact.asked_for in config.peers else []
    if contact.preference is None:
        return named
    return named + [r.person for s in config.escalation.steps for r in schedule.step_reach(s, now)
                    if r.person.id != CLINICAL_DIRECTOR and contact.preference.matches(r.person)]


def step_number(config: Config, attempt: int) -> int:
    return 0 if attempt < 0 else attempt % len(config.escalation.steps) + 1


def attempts_from(contact: Contact, total: int) -> list[int]:
    """The attempts still to consider, in order: the clinician round, the preference
    round (only for a contact that chose a preference or asked for a peer by name),
    then the steps."""
    order = []
    if contact.next_attempt <= CLINICIAN_ROUND:
        order.append(CLINICIAN_ROUND)
    chose = contact.preference is not None and not contact.preference.clinician
    if contact.next_attempt <= PREFERENCE_ROUND and (chose or contact.asked_for):
        order.append(PREFERENCE_ROUND)
    return order + list(range(max(contact.next_attempt, 0), total))


def next_ring(config: Config, schedule: Schedule, contact: Contact, busy: frozenset[str],
              now: datetime) -> Ring | GiveUp:
    steps = config.escalation.steps
    total = len(steps) * (config.escalation.repeat + 1)
    remaining = contact.deadline - now if contact.deadline else None
    if remaining is not None and remaining < MIN_RING:
        return GiveUp(config.escalation.fallback, "deadline")

    def pass_of(attempt: int) -> int:
        return max(attempt, 0) // len(steps)

    for attempt in attempts_from(contact, total):
        if attempt == CLINICIAN_ROUND:
            first = steps[0]
            step = Step(notify=(), ring=max(first.ring, CLINICIAN_RING), wait=first.wait)
            reach = [schedule.clinician_on_call(now)]
        elif attempt == PREFERENCE_ROUND:
            step = steps[0]
            reach = preferred(config, schedule, contact, now)
        else:
            step = steps[attempt % len(steps)]
            reach = [r.person for r in schedule.step_reach(step, now)]
        tried = {pid for a, pid in contact.tried if pass_of(a) == pass_of(attempt)}
        people: list[Person] = []
        for p in reach:
            if p.id in tried or p.id in busy or p.phone == contact.caller or p in people:
                continue
            people.append(p)
        if contact.preference and attempt >= 0:
            people.sort(key=lambda p: not contact.preference.matches(p))
        if people:
            ring = step.ring if remaining is None else min(step.ring, remaining)
            return Ring(attempt, step_number(config, attempt), tuple(people[:MAX_PARALLEL]),
                        ring, step.wait)
    return GiveUp(config.escalation.fallback, "exhausted")
