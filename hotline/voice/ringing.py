"""Whom a call rings next, with the live state: who is busy, who was tried. Shared by
the direct bridge (calls.py, step by step in <Dial action>) and the conference bridge
(conference.py, step by step in the queue's wait loop), so both route alike."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from hotline.availability import state as availability
from hotline.routing import Contact, GiveUp, Ring, next_ring
from hotline.store import Call
from hotline.voice.answer import STALE
from hotline.webhooks import e164, now, rotation


def busy_peers(db, exclude: str) -> frozenset[str]:
    """On another call, or stepped out by text (OFF, BUSY): both are skipped alike."""
    cutoff = now() - STALE
    rows = db.execute(select(Call.accepted_by).where(
        Call.bridged, Call.call_sid != exclude, Call.updated_at > cutoff))  # its index's words
    return frozenset(r[0] for r in rows) | availability.unavailable(db, rotation().config, now())


def decide(db, loaded, call: Call) -> Ring | GiveUp:
    """The next step for `call` (from call.attempt), recorded on the row when it rings
    somebody; the caller's own phone is never rung (routing knows it from `From`)."""
    config = loaded.config
    contact = Contact(
        started_at=call.started_at,
        caller=e164(request.form.get("From"), config.program.region),
        next_attempt=call.attempt,
        tried=tuple((a, p) for a, p in call.tried),
        preference=next((o for o in config.voice.menu if o.key == call.preference), None),
        deadline=call.started_at + config.escalation.max_wait, asked_for=call.asked_for)
    decision = next_ring(config, loaded.schedule, contact, busy_peers(db, call.call_sid), now())
    call.updated_at = now()
    if isinstance(decision, GiveUp):
        call.fallback = True
        return decision
    call.tried = call.tried + [[decision.attempt, p.id] for p in decision.people]
    call.attempt = decision.attempt
    call.ringing = [p.id for p in decision.people]
    return decision
