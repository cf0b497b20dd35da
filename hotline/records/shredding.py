"""Destroying the keys of what the router no longer needs (crypto-shredding).

- A conversation's key goes the moment its close commits (`forget_after_commit`):
  from then on its number cannot be read from any copy of the database.
- A callout's message key goes when the callout closes, the same way.
- The clock's `sweep` (every minute) destroys every other key no live row needs: a
  queued-text batch key once its rows are sent or dropped, a key whose transaction
  rolled back, a conversation key whose immediate destruction failed. Queued texts of
  a conversation closed for over an hour are dropped first, so their keys go too.
- The sweep also replaces the lookup key before it is LOOKUP_EVERY old: open
  conversations are re-tagged under the new key and the old key is destroyed, so a
  tag in a copy of the database cannot be matched to a number after that.

Each step is safe to repeat and to run from two clocks at once: destroying a key
twice is harmless, and a re-tag is one conditional UPDATE per row.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, event, select, update

from hotline.crypto import CALLOUT, CONVERSATION, LOOKUP, TEXTS, Shredded, key_of, tag_key
from hotline.store import Callout, Conversation, Outbox, forget_on_disk

log = logging.getLogger(__name__)

# A key younger than this may belong to a transaction still running: never an orphan.
GRACE = timedelta(minutes=2)
# Below the hour the issue promises, with room for the GRACE and a late clock poll.
LOOKUP_EVERY = timedelta(minutes=50)
# A queued text of a closed conversation waits at most this long, then its key goes.
QUEUED_AFTER_CLOSE = timedelta(hours=1)
_PENDING = "hotline.shred"


def vault(app):
    return app.extensions["hotline.vault"]


def install(app) -> None:
    """Destroy keys only once the transaction that let go of them has committed."""
    sessions = app.extensions["hotline.sessions"]

    @event.listens_for(sessions, "after_commit")
    def _shred(session):
        pending = session.info.pop(_PENDING, None)
        if not pending:
            return
        for name in pending:
            try:
                vault(app).destroy(name)
            except Exception:  # noqa: BLE001 - the sweep destroys it within minutes
                log.exception("could not destroy a closed conversation's key; the clock will")
        forget_on_disk(app.extensions["hotline.engine"])

    @event.listens_for(sessions, "after_rollback")
    def _keep(session):
        session.info.pop(_PENDING, None)


def forget_after_commit(app, db, conv: Conversation) -> None:
    """Called where a conversation closes, inside its transaction."""
    forget_sealed_after_commit(db, conv.texter_enc)


def forget_sealed_after_commit(db, token: bytes) -> None:
    """The key of `token` goes once the caller's transaction commits (a callout's
    message at its close, say); nothing sealed under it can be read after that."""
    name = key_of(token)
    if name is not None:
        db.info.setdefault(_PENDING, []).append(name)


def sweep(app, now: datetime) -> dict[str, int]:
    counts = {"queued texts of closed conversations dropped": _drop_stale_outbox(app, now)}
    counts["conversations re-tagged"] = _rotate_lookup(app, now)
    counts["keys destroyed"] = _destroy_orphans(app, now)
    return counts


def _drop_stale_outbox(app, now: datetime) -> int:
    with app.extensions["hotline.sessions"]() as db, db.begin():
        return db.execute(delete(Outbox).where(
            Outbox.created_at < now - QUEUED_AFTER_CLOSE,
            (Outbox.conversation_id.is_(None))
            | Outbox.conversation_id.not_in(select(Conversation.id)))
            .execution_options(synchronize_session=False)).rowcount


def _rotate_lookup(app, now: datetime) -> int:
    v = vault(app)
    names = v.store.names()
    lookups = v.lookup_keys(names)
    if not lookups or now - names[lookups[0]] >= LOOKUP_EVERY:
        v.new_key(LOOKUP)
        return 0  # the old keys go at a later sweep, once every worker uses the new one
    newest, older = lookups[0], lookups[1:]
    if not older or now - names[newest] < GRACE:
        return 0
    moved = 0
    sessions = app.extensions["hotline.sessions"]
    with sessions() as db:
        rows = db.execute(select(Conversation.id, Conversation.texter_hash,
                                 Conversation.texter_enc)).all()
    current = tag_key(newest) + ":"
    for conv_id, tag, sealed in rows:
        if tag.startswith(current):
            continue
        with sessions() as db, db.begin():
            try:
                new_tag = v.lookup(v.open(sealed))
            except Shredded:  # restored from a copy after its close: nobody to reach
                db.execute(delete(Conversation).where(Conversation.id == conv_id))
                continue
            moved += db.execute(update(Conversation).where(
                Conversation.id == conv_id, Conversation.texter_hash == tag)
                .values(texter_hash=new_tag)
                .execution_options(synchronize_session=False)).rowcount
    for name in older:
        v.destroy(name)
    return moved


def _destroy_orphans(app, now: datetime) -> int:
    v = vault(app)
    with app.extensions["hotline.sessions"]() as db:
        needed = {key_of(t) for t in db.scalars(select(Conversation.texter_enc))}
        needed |= {key_of(m) for m in db.scalars(select(Callout.message_enc))}
        for to_enc, body_enc in db.execute(select(Outbox.to_enc, Outbox.body_enc)):
            needed |= {key_of(to_enc), key_of(body_enc)}
    gone = 0
    for name, created in v.store.names().items():
        if not name.startswith((CONVERSATION + "-", TEXTS + "-", CALLOUT + "-")):
            continue
        if name in needed or now - created < GRACE:
            continue
        v.destroy(name)
        gone += 1
    if gone:
        forget_on_disk(app.extensions["hotline.engine"])
    return gone
