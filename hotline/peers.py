"""What a text from a peer or the clinical director means.

YES/Y [#n] takes, PASS [#n] hands on, DONE [#n] closes, HELP lists these,
REVEAL #n (clinical director only) returns a texter's number. "#n text"
writes to conversation n; plain text goes to the peer's most recent one. A
peer who owns nothing and writes plain text is reaching out for support
themselves and is treated as a texter (their own phone is never notified).
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import current_app, request, url_for
from sqlalchemy import select, update

from . import texting as tx
from .model import CLINICAL_DIRECTOR, Person
from .sender import Bridge, Text
from . import audit
from .store import Conversation
from .workload import count_handled

COMMAND = re.compile(r"\s*(yes|y|pass|done|call|help|reveal)\s*(?:#\s*(\d+))?\s*[.!]?\s*", re.I)
PREFIXED = re.compile(r"\s*#\s*(\d+)\s*[:,-]?\s*(.*)", re.S)
HELP = ("Peer line: YES (or YES #7) takes a text, PASS #7 hands it on, DONE #7 closes it, "
        "CALL #7 rings you, then them. Write \"#7 your text\" to reply to #7; plain text "
        "goes to your latest one.")


def peer_message(db, loaded, person: Person, body: str, now: datetime, out: list[Text],
                 replies: list[str]) -> bool:
    """Handle a text from someone in the rotation. False: treat it as a texter's."""
    m = COMMAND.fullmatch(body)
    if m:
        cmd, code = m.group(1).lower(), int(m.group(2)) if m.group(2) else None
        handler = {"yes": take, "y": take, "pass": pass_on, "done": done, "call": call,
                   "help": None, "reveal": reveal}[cmd]
        if handler is None:
            replies.append(HELP)
            return True
        return handler(db, loaded, person, code, body, now, out, replies)
    m = PREFIXED.fullmatch(body)
    if m:
        conv = _owned(db, person, int(m.group(1)))
        if conv is None or not m.group(2).strip():
            replies.append(f"You do not have #{m.group(1)} open. " + HELP)
            return True
        return _relay(loaded, conv, m.group(2), now, out)
    conv = _owned(db, person)
    if conv is None:
        return False
    return _relay(loaded, conv, body, now, out)


def _owned(db, person: Person, code: int | None = None) -> Conversation | None:
    q = select(Conversation).where(Conversation.owner == person.id)
    if code is not None:
        q = q.where(Conversation.code == code)
    return db.scalar(q.order_by(Conversation.owner_activity_at.desc(), Conversation.id.desc())
                     .limit(1))


def _waiting(db, person: Person, code: int | None) -> Conversation | None:
    """An untaken conversation this person was told about (the director may take any)."""
    q = select(Conversation).where(Conversation.owner.is_(None))
    if code is not None:
        q = q.where(Conversation.code == code)
    for conv in db.scalars(q.order_by(Conversation.id.desc())):
        if person.id == CLINICAL_DIRECTOR or person.id in tx.notified(conv):
            return conv
    return None


def _taken(db, person: Person, code: int | None) -> int | None:
    """The code of a conversation this person was told about that someone else took."""
    q = select(Conversation).where(Conversation.owner.is_not(None),
                                   Conversation.owner != person.id)
    if code is not None:
        q = q.where(Conversation.code == code)
    for conv in db.scalars(q.order_by(Conversation.id.desc())):
        if code is not None or person.id in tx.notified(conv):
            return conv.code
    return None


def _relay(loaded, conv: Conversation, body: str, now: datetime, out: list[Text]) -> bool:
    conv.last_activity_at = conv.owner_activity_at = now
    out.append(Text(tx.texter_of(current_app, conv), body, urgent=conv.urgent,
                    conversation_id=conv.id, to_texter=True))
    return True


def take(db, loaded, person, code, body, now, out, replies) -> bool:
    conv = _waiting(db, person, code)
    if conv is None:
        if code is None and _owned(db, person) is not None:
            return peer_message(db, loaded, person, "#%d %s" % (_owned(db, person).code, body),
                                now, out, replies)  # "yes" was an answer to the texter
        taken = _taken(db, person, code)
        replies.append(f"#{taken} was already taken. Thank you." if taken
                       else "Nothing is waiting for you. " + HELP)
        return True
    config = loaded.config
    # First YES wins: the row changes only while nobody owns it. On PostgreSQL a
    # concurrent YES waits for this one to commit, then finds owner set and loses.
    won = db.execute(
        update(Conversation)
        .where(Conversation.id == conv.id, Conversation.owner.is_(None))
        .values(owner=person.id, accepted_at=now, owner_activity_at=now, last_activity_at=now,
                accepted_step=tx.accepted_step(config, conv, person.id), escalate_at=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        replies.append(f"#{conv.code} was already taken. Thank you.")
        return True
    db.refresh(conv)
    count_handled(db, person.id, now, config.program.timezone)
    c = conv.code
    replies.append(f"You have #{c}. Text here to write to them; DONE #{c} closes it, "
                   f"PASS #{c} hands it on.")
    out.append(Text(tx.texter_of(current_app, conv), config.sms.joined, urgent=conv.urgent,
                    conversation_id=conv.id, to_texter=True))
    others = [pid for pid in tx.notified(conv) if pid != person.id]
    tx.tell(config, others, f"#{c} was taken by another peer. Thank you.", conv, out)
    return True


def pass_on(db, loaded, person, code, body, now, out, replies) -> bool:
    conv = _owned(db, person, code) or _waiting(db, person, code)
    if conv is None:
        replies.append("Nothing to pass. " + HELP)
        return True
    c, config = conv.code, loaded.config
    texter = tx.texter_of(current_app, conv)
    if conv.owner == person.id:
        conv.owner, conv.accepted_at, conv.accepted_step = None, None, None
        out.append(Text(texter, config.sms.new_peer, urgent=conv.urgent,
                        conversation_id=conv.id, to_texter=True))
    elif [conv.attempt, person.id] not in conv.tried:
        replies.append(f"OK, you passed #{c}.")  # the escalation has already moved on
        return True
    replies.append(f"OK, #{c} goes to the next peer. Thank you.")
    conv.gave_up = False
    tx.advance(current_app, loaded, conv, texter, now, out, next_attempt=conv.attempt + 1,
               busy=frozenset({person.id}))
    return True


def done(db, loaded, person, code, body, now, out, replies) -> bool:
    conv = _owned(db, person, code)
    if conv is None:
        replies.append((f"You do not have #{code} open. " if code else "") + HELP)
        return True
    replies.append(f"#{conv.code} is closed. Thank you.")
    tx.close(current_app, db, loaded, conv, out, loaded.config.sms.closed)
    return True


def call(db, loaded, person, code, body, now, out, replies) -> bool:
    """Ring the peer, then (once they press 1) the texter; both see the program number."""
    conv = _owned(db, person, code)
    if conv is None:
        replies.append((f"You do not have #{code} open. " if code else "") + HELP)
        return True
    conv.last_activity_at = conv.owner_activity_at = now
    base = current_app.config.get("HOTLINE_PUBLIC_URL") or request.url_root
    url = base.rstrip("/") + url_for("voice.bridge", conv=conv.id, peer=person.id)
    out.append(Bridge(person.phone, url))
    out.append(Text(tx.texter_of(current_app, conv), loaded.config.sms.calling,
                    urgent=conv.urgent, conversation_id=conv.id, to_texter=True))
    replies.append(f"Calling you now for #{conv.code}; press 1 to be connected.")
    return True


def reveal(db, loaded, person, code, body, now, out, replies) -> bool:
    """The only way a texter's number leaves the system: for a welfare check."""
    if person.id != CLINICAL_DIRECTOR or code is None:
        replies.append("REVEAL #n is for the clinical director only. " + HELP)
        return True
    conv = db.scalar(select(Conversation).where(Conversation.code == code))
    if conv is None:
        replies.append(f"#{code} is not open.")
        return True
    audit.record(db, now, audit.REVEAL, CLINICAL_DIRECTOR,
                 "urgent conversation" if conv.urgent else "")
    replies.append(f"#{code} texter's number: {tx.texter_of(current_app, conv)} "
                   "(this reveal is counted).")
    return True
