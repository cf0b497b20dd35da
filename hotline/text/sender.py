"""Waking the clock's sender the moment a text waits in the outbox.

A text the webhook could not send at once (over the number's rate, or Twilio
failing) waits in the outbox for the clock. Rather than sit until the clock's
next poll, the transaction that queues it says so with PostgreSQL's NOTIFY,
delivered when it commits (never for a decision that rolled back); the clock
LISTENs on a connection of its own and sends at once, urgent first and within
the rate (clock.retry_outbox). SQLite has no NOTIFY: there the sender polls
every POLL seconds instead.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import text

log = logging.getLogger(__name__)

CHANNEL = "hotline_outbox"
POLL = 0.2  # seconds between looks at the outbox on SQLite


def wake(db) -> None:
    """Inside the transaction that queued texts: wake the sender when it commits."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text(f"NOTIFY {CHANNEL}"))


class Listener:
    """The sender's wait for a wake-up: NOTIFY on PostgreSQL, a short sleep on SQLite."""

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
        """True when woken by a NOTIFY within `timeout` seconds."""
        if self.conn is None:
            threading.Event().wait(min(timeout, POLL))
            return False
        woken = False
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            woken = True
        return woken

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def run_forever(app, clock, send, every: float = 1.0,
                stop: threading.Event | None = None) -> None:
    """The clock's sender thread: `send(app, now)` each time it is woken, and at least
    every `every` seconds, until `stop` is set. A lost connection is opened again
    after a pause."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            listener = Listener(app.extensions["hotline.engine"])
            try:
                while not stop.is_set():
                    listener.wait(every)
                    with app.app_context():
                        send(app, clock())
            finally:
                listener.close()
        except Exception:  # noqa: BLE001 - a database away: try again shortly
            log.exception("the outbox sender failed; starting again in 2 s")
            stop.wait(2)
