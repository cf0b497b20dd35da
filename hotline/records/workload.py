"""Peer workload: contacts handled per peer per month, and nothing finer.

Kept apart from the statistics events on purpose: no row links a peer to a
contact's hour, so workload figures cannot be joined back to a contact.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hotline.store import PeerLoad


def count_handled(db, peer_id: str, at: datetime, tz: ZoneInfo) -> None:
    """One more contact for `peer_id` in the local month of `at` (safe across workers)."""
    month = at.astimezone(tz).strftime("%Y-%m")
    bump = (update(PeerLoad).where(PeerLoad.peer_id == peer_id, PeerLoad.month == month)
            .values(contacts=PeerLoad.contacts + 1).execution_options(synchronize_session=False))
    if db.execute(bump).rowcount:
        return
    try:
        with db.begin_nested():
            db.add(PeerLoad(peer_id=peer_id, month=month, contacts=1))
    except IntegrityError:  # another worker created the month's row first
        db.execute(bump)


def monthly(db, start: str, end: str) -> list[tuple[str, str, int]]:
    """(month, peer id, contacts) for months start..end inclusive ("2026-01".."2026-12")."""
    rows = db.execute(select(PeerLoad.month, PeerLoad.peer_id, PeerLoad.contacts)
                      .where(PeerLoad.month >= start, PeerLoad.month <= end)
                      .order_by(PeerLoad.month, PeerLoad.peer_id))
    return [tuple(r) for r in rows]
