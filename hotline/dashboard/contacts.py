"""Open contacts as anonymous cards for the Now page.

A card says what a coordinator needs to see that the line is working: a short
code, voice or text, the escalation step, how long the contact has waited,
whether it is urgent and which peer has it. It never carries a number, a
message, or Twilio's call ID (which Twilio's own logs tie to the caller): a
call's code is a keyed hash of its ID, a text's is the #code its peer sees.

Columns are read with getattr, so a model that gains or loses a column (or a
text line that does not exist yet) does not break the page.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hotline import store
from hotline.rotation.model import Config
from hotline.routing import step_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Card:
    code: str
    channel: str  # voice | text
    step: str  # "step 2", "preference round", ...
    state: str  # what is happening, in words
    waited_minutes: int  # until a person took it, or until now
    talking_minutes: int | None  # since a person took it
    urgent: bool
    peer: str | None  # name of whoever has it
    notified: tuple[str, ...]  # names being rung / told right now
    started: datetime


def _name(config: Config | None, ident: str | None) -> str | None:
    if not ident:
        return None
    try:
        return config.person(ident).name if config else ident
    except KeyError:
        return ident  # somebody since removed from the rotation file: the id, never a number


def _minutes(a: datetime | None, b: datetime | None) -> int:
    if a is None or b is None:
        return 0
    return max(0, int((b - a).total_seconds() // 60))


def _step_label(config: Config | None, attempt: int | None, accepted_step: int | None) -> str:
    if accepted_step is not None:
        return "preference round" if accepted_step == 0 else f"step {accepted_step}"
    if attempt is None or config is None:
        return "-"
    if attempt < 0:
        return {-1: "preference round", -3: "clinician first"}.get(attempt, "emergency route")
    number = step_number(config, attempt)
    passes = attempt // len(config.escalation.steps)
    return f"step {number}" + (f" (pass {passes + 1})" if passes else "")


def call_code(secret: bytes | str, call_sid: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return "V-" + hmac.new(key, call_sid.encode(), hashlib.sha256).hexdigest()[:5].upper()


def call_cards(db, config: Config | None, now: datetime, secret) -> list[Card]:
    cards = []
    # A CALL bridge is shown on its text conversation's card, not as a call of its own.
    for call in db.scalars(select(store.Call).where(store.Call.text_bridge.is_(False))).all():
        started = getattr(call, "started_at", None) or now
        accepted_by = getattr(call, "accepted_by", None)
        accepted_at = getattr(call, "accepted_at", None)
        ringing = tuple(n for n in (_name(config, i) for i in (getattr(call, "ringing", None) or [])) if n)
        if accepted_by:
            state = "talking" if getattr(call, "bridged", False) else "being connected"
        elif getattr(call, "fallback", False):
            state = "fallback (forwarded)"
        elif ringing:
            state = "ringing"
        else:
            state = "waiting"
        cards.append(Card(
            code=call_code(secret, call.call_sid), channel="voice",
            step=_step_label(config, getattr(call, "attempt", None),
                             getattr(call, "accepted_step", None)),
            state=state,
            waited_minutes=_minutes(started, accepted_at if accepted_by else now),
            talking_minutes=_minutes(accepted_at, now) if accepted_by and accepted_at else None,
            urgent=bool(getattr(call, "urgent", False)),
            peer=_name(config, accepted_by),
            notified=() if accepted_by else ringing,
            started=started))
    return cards


def text_cards(db, config: Config | None, now: datetime) -> list[Card]:
    model = getattr(store, "Conversation", None)
    if model is None:  # no text line in this version
        return []
    cards = []
    for conv in db.scalars(select(model)).all():
        if getattr(conv, "closed", False):
            continue
        started = getattr(conv, "started_at", None) or now
        owner = getattr(conv, "owner", None)
        accepted_at = getattr(conv, "accepted_at", None)
        attempt = getattr(conv, "attempt", None)
        tried = getattr(conv, "tried", None) or []
        notified = tuple(n for n in (_name(config, pid) for a, pid in tried if a == attempt) if n)
        if owner:
            state = "in conversation"
        elif getattr(conv, "gave_up", False):
            state = "fallback sent, still open"
        elif notified:
            state = "waiting for a peer to reply YES"
        else:
            state = "waiting"
        code = getattr(conv, "code", None)
        cards.append(Card(
            code=f"#{code}" if code is not None else f"T-{conv.id}", channel="text",
            step=_step_label(config, attempt, getattr(conv, "accepted_step", None)),
            state=state,
            waited_minutes=_minutes(started, accepted_at if owner else now),
            talking_minutes=_minutes(accepted_at, now) if owner and accepted_at else None,
            urgent=bool(getattr(conv, "urgent", False)),
            peer=_name(config, owner),
            notified=() if owner else notified,
            started=started))
    return cards


def open_contacts(sessions, config: Config | None, now: datetime, secret) -> list[Card]:
    """Every open contact, urgent and unanswered first, then the longest waiting."""
    with sessions() as db:
        cards = call_cards(db, config, now, secret) + text_cards(db, config, now)
    return sorted(cards, key=lambda c: (not c.urgent, c.peer is not None, c.started))
