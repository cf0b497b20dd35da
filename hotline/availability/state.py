"""Who has stepped out, kept in the database so no restart forgets it.

Routing reads `away_ids` exactly where it reads who is on another call: an away
peer is skipped for new contacts, and keeps the conversations they already own.
A row whose `until` has passed no longer counts (the clock then deletes it and
tells the peer they are back: `expired`).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from hotline.callout.busy import yes_busy
from hotline.records import audit
from hotline.rotation.availability import away_now
from hotline.store import PeerAway, ReminderOptOut


# Read for every new contact: built once, on the table's columns (no ORM work per read).
_AWAY = select(PeerAway.__table__.c.peer_id, PeerAway.__table__.c.until)


def away(db, now: datetime) -> dict[str, datetime | None]:
    """Peer id -> until (None: until ON), for everyone stepped out at `now`."""
    rows = db.execute(_AWAY).all()
    gone = away_now(rows, now)
    return {pid: until for pid, until in rows if pid in gone}


def away_ids(db, now: datetime) -> frozenset[str]:
    return frozenset(away(db, now))


def current(db, peer_id: str, now: datetime) -> PeerAway | None:
    row = db.get(PeerAway, peer_id)
    return row if row is not None and (row.until is None or row.until > now) else None


def step_out(db, peer_id: str, kind: str, until: datetime | None, now: datetime) -> None:
    row = db.get(PeerAway, peer_id, with_for_update=True)
    if row is None:
        db.add(PeerAway(peer_id=peer_id, kind=kind, since=now, until=until))
    else:
        row.kind, row.since, row.until = kind, now, until
    shown = until.isoformat(timespec="minutes") if until else "until ON"
    audit.record(db, now, audit.AVAILABILITY, peer_id, f"{kind.upper()} {shown}")


def step_in(db, peer_id: str, now: datetime) -> bool:
    """Back on. False when they were not away (nothing to undo)."""
    was = current(db, peer_id, now) is not None
    db.execute(delete(PeerAway).where(PeerAway.peer_id == peer_id))
    if was:
        audit.record(db, now, audit.AVAILABILITY, peer_id, "ON")
    return was


def claim_expired(db, now: datetime) -> list[str]:
    """Delete the rows whose time is up and return their peers: the DELETE is the claim,
    so two clocks never both tell a peer they are back."""
    due = db.scalars(select(PeerAway.peer_id).where(PeerAway.until <= now)).all()
    back = []
    for pid in due:
        if db.execute(delete(PeerAway).where(PeerAway.peer_id == pid, PeerAway.until <= now)
                      .execution_options(synchronize_session=False)).rowcount == 1:
            audit.record(db, now, audit.AVAILABILITY, pid, "ON (time up)")
            back.append(pid)
    return back


def reminders_on(db, peer_id: str) -> bool:
    return db.get(ReminderOptOut, peer_id) is None


def opted_out(db) -> set[str]:
    return set(db.scalars(select(ReminderOptOut.peer_id)))


def set_reminders(db, peer_id: str, on: bool, now: datetime) -> None:
    row = db.get(ReminderOptOut, peer_id)
    if on and row is not None:
        db.delete(row)
    elif not on and row is None:
        db.add(ReminderOptOut(peer_id=peer_id, since=now))


def unavailable(db, config, now: datetime) -> frozenset[str]:
    """Peers routing skips besides those on another contact: stepped out (OFF, BUSY),
    and, where the rotation file says so, those who said YES to a callout."""
    return away_ids(db, now) | yes_busy(db, config)
