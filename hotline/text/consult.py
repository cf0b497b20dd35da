"""A clinician in a text conversation beside its peer: CONSULT #n, and the copies.

The clinician a peer consults (or who acknowledged an urgent page while a peer had
the conversation) is the conversation's `consultant`. From then on they get its
messages both ways; "#7 words" from them goes to the texter (the peer gets a copy),
"PEER 7 words" to the peer only. The texter sees one line, as always: whoever writes,
it comes from the program number.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from hotline.records import audit
from hotline.rotation.model import Config, Person
from hotline.store import Conversation
from hotline.text.outbox import Text

TO_PEER = re.compile(r"\s*peer\s*#?\s*(\d{1,9})\s*[:,-]?\s*(.*)", re.I | re.S)
TO_TEXTER = re.compile(r"\s*#\s*(\d{1,9})\s*[:,-]?\s*(.*)", re.S)


def how_to(config: Config, conv: Conversation) -> str:
    c, peer = conv.code, config.person(conv.owner).name if conv.owner else "the peer"
    return (f"You will get #{c}'s messages from now on. \"#{c} your words\" writes to the "
            f"texter ({peer} sees it); \"PEER {c} your words\" writes to {peer} only.")


def invite(db, loaded, conv: Conversation, asked_by: str, now: datetime,
           out: list[Text]) -> Person | None:
    """Bring the clinician on call into `conv` (CONSULT, or a texter's CLINICIAN). None
    when the only clinical person is the texter themselves."""
    config = loaded.config
    texter = current_app.extensions["hotline.vault"].open(conv.texter_enc)
    clinician = next((p for p in loaded.schedule.clinical_chain(now) if p.phone != texter), None)
    if clinician is None:
        return None
    if conv.consultant == clinician.id:
        return clinician
    conv.consultant = clinician.id
    if clinician.id not in conv.alerted:
        conv.alerted = conv.alerted + [clinician.id]
    who = config.person(asked_by).name if asked_by in config.peers else "The texter"
    out.append(Text(clinician.phone, f"Peer line consult: {who} asks you to join #{conv.code}. "
                    + how_to(config, conv), urgent=conv.urgent, conversation_id=conv.id))
    audit.record(db, now, audit.CONSULT, clinician.id,
                 "asked by a peer" if asked_by in config.peers else "asked by the texter")
    return clinician


def copy_to_consultant(config: Config, conv: Conversation, writer: str | None, body: str,
                       out: list[Text]) -> None:
    """A message in `conv` also reaches its consultant (unless they wrote it)."""
    if not conv.consultant or conv.consultant == writer:
        return
    label = f"#{conv.code}" if writer is None else f"#{conv.code} {config.person(writer).name}"
    out.append(Text(config.person(conv.consultant).phone, f"{label}: {body}",
                    urgent=conv.urgent, conversation_id=conv.id))


def consultant_message(db, loaded, person: Person, body: str, now: datetime,
                       out: list[Text], replies: list[str]) -> bool:
    """A text from a clinician to a conversation they consult on. False: not one."""
    config = loaded.config
    for pattern, to_peer in ((TO_PEER, True), (TO_TEXTER, False)):
        m = pattern.fullmatch(body)
        if m is None:
            continue
        conv = db.scalar(select(Conversation).where(Conversation.code == int(m.group(1)),
                                                    Conversation.consultant == person.id))
        if conv is None or conv.owner == person.id:
            return False  # not theirs to consult on, or theirs outright: the usual path
        words = m.group(2).strip()
        if not words:
            replies.append(f"Nothing was sent: write \"{m.group(0).strip()} your words\".")
            return True
        c = conv.code
        if to_peer:
            if not conv.owner:
                replies.append(f"No peer has #{c} yet, so nothing was sent. Text YES {c} to "
                               "take it yourself.")
                return True
            out.append(Text(config.person(conv.owner).phone, f"#{c} from {person.name} "
                            f"(only you see this): {words}", urgent=conv.urgent,
                            conversation_id=conv.id))
            return True
        conv.last_activity_at = now
        texter = current_app.extensions["hotline.vault"].open(conv.texter_enc)
        out.append(Text(texter, words, urgent=conv.urgent, conversation_id=conv.id,
                        to_texter=True))
        if conv.owner:
            out.append(Text(config.person(conv.owner).phone, f"#{c} {person.name}: {words}",
                            urgent=conv.urgent, conversation_id=conv.id))
        return True
    return False
