"""Waking the sender the moment a text waits in the outbox.

The transaction that stages a text says so with PostgreSQL's NOTIFY, delivered when it
commits (never for a decision that rolled back); a sender LISTENs on a connection of
its own and claims the text at once (text/sender.py). SQLite has no NOTIFY: there
the sender looks every POLL seconds instead.
"""
from __future__ import annotations

import threading

from sqlalchemy import text

CHANNEL = "hotline_outbox"
_NOTIFY = text(f"NOTIFY {CHANNEL}")  # built once: every staged batch sends it
POLL = 0.2  # seconds between looks at the outbox on SQLite


def wake(db) -> None:
    """Inside the transaction that staged texts: wake a sender when it commits."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(_NOTIFY)


class Listener:
    """A sender's wait for a wake-up: NOTIFY on PostgreSQL, a short sleep on SQLite."""

    def __init__(self, engine):
        self.engine = engine
        self.conn = None
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            self.conn = raw.driver_connection
            raw.detach()  # its own connection for as long as it listens, outside the pool
            self.conn.autocommit = True
            self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """True when woken by a NOTIFY within `timeout` seconds. Wake-ups that arrived
        together count once: one look at the outbox serves them all."""
        if self.conn is None:
            threading.Event().wait(min(timeout, POLL))
            return False
        woken = False
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            woken = True
        if woken:
            for _ in self.conn.notifies(timeout=0.001):
                pass
        return woken

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
