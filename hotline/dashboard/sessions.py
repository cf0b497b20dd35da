"""Server-side dashboard sessions: the signed cookie carries a random id, the database
the session (store.DashboardSession, keyed by the id's hash). Logging out deletes the
row, so a copied cookie is worthless afterwards; a session also ends after
HOTLINE_DASHBOARD_IDLE_MINUTES without use and, however busy, HOTLINE_DASHBOARD_MAX_HOURS
after sign-in.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

from hotline.store import DashboardSession


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(sessions, user: str, now: datetime) -> str:
    """A new session for `user`; returns the id for the cookie."""
    sid = secrets.token_urlsafe(32)
    with sessions() as db, db.begin():
        db.add(DashboardSession(id_hash=_hash(sid), user=user, created_at=now, seen_at=now))
    return sid


def current(sessions, sid: str | None, now: datetime, idle: timedelta, lifetime: timedelta,
            touch: bool = True) -> tuple[str | None, bool]:
    """(user, expired): the session's user, or None; expired when it ran out of time
    (the row is deleted then). `touch` records the use (not for a page's auto-refresh)."""
    if not sid:
        return None, False
    with sessions() as db, db.begin():
        row = db.get(DashboardSession, _hash(sid), with_for_update=True)
        if row is None:
            return None, False
        if now - row.seen_at > idle or now - row.created_at > lifetime:
            db.delete(row)
            return None, True
        if touch:
            row.seen_at = now
        return row.user, False


def end(sessions, sid: str | None) -> None:
    if sid:
        with sessions() as db, db.begin():
            db.execute(delete(DashboardSession).where(DashboardSession.id_hash == _hash(sid)))
