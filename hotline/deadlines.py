"""Deadlines: every webhook answers within its budget, whatever the database does.

Twilio waits 15 s for a webhook, gunicorn kills a worker after 20 s, and an officer
hears silence all the while. The database can fail in ways no single timeout
catches: refused connections (fast), a lock held by someone else (lock_timeout,
SQLite's busy timeout), a slow query (statement_timeout), a dead peer on the
network (TCP keepalives, tcp_user_timeout), and a server that accepts and then
never answers, which nothing on the client side bounds: psycopg waits forever for
a reply the kernel has acknowledged. So two layers:

- the engine's settings (`engine_options`), so a stuck connection ends on its own
  and a pool checkout never waits longer than the budget;
- `answer_within`: the view runs on a worker thread and the request waits for it
  at most the budget minus a margin; past that the emergency answer (built from
  memory only) goes out, and the worker's database socket is shut so its thread
  and its pooled connection end too. After such a timeout the next requests of
  this process take the emergency answer at once for BREAKER_OPEN, instead of each
  waiting out the budget, so a hung database cannot tie up every worker.

Work a view hands to `after_answer` (sending texts) runs on the worker thread after
the answer is on its way: a webhook never waits on Twilio.
"""
from __future__ import annotations

import logging
import math
import socket
import threading
import time
from contextvars import ContextVar

from flask import copy_current_request_context, current_app
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 2.0  # seconds from a webhook's arrival to its answer
# Kept back from the budget for building and sending the emergency answer.
MARGIN = 0.25
BREAKER_OPEN = 5.0  # seconds the emergency answer is given at once after a timeout
# Maintenance work (the clock, the CLI) answers nobody on the phone; its statements
# may take longer, but a hung server must still not stop it for ever.
MAINTENANCE_STATEMENT = 30.0

# The DBAPI connections the current worker thread has checked out, to shut on timeout.
_sockets: ContextVar[list | None] = ContextVar("hotline_db_sockets", default=None)


def budget(app) -> float:
    return float(app.config.get("HOTLINE_WEBHOOK_BUDGET") or DEFAULT_BUDGET)


# -- the engine ------------------------------------------------------------------------

def engine_options(url: str, budget_s: float | None) -> dict:
    """create_engine keyword arguments. `budget_s` None: a maintenance process."""
    statement = budget_s if budget_s is not None else MAINTENANCE_STATEMENT
    # No pre-ping: it costs a round trip on every checkout. A connection found dropped
    # is invalidated and the transaction retried once (webhooks.transaction).
    options: dict = {"future": True, "pool_pre_ping": False}
    if url.startswith("postgresql"):
        options["pool_timeout"] = max(0.1, statement - MARGIN)
        options["connect_args"] = {
            # libpq's minimum is 2 s; answer_within still answers in budget meanwhile.
            "connect_timeout": max(2, math.ceil(statement)),
            # A peer gone from the network: unacknowledged data is given up after this,
            # and an idle pooled connection is probed and dropped within ~8 s.
            "tcp_user_timeout": int(statement * 1000),
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 1,
            "keepalives_count": 3,
        }
    elif url.startswith("sqlite"):
        # pysqlite's own busy handler; the PRAGMA in store.py sets the same value.
        options["connect_args"] = {"timeout": sqlite_busy_ms(budget_s) / 1000}
    return options


def sqlite_busy_ms(budget_s: float | None) -> int:
    """How long a SQLite writer waits for the lock: most of the budget, leaving time to
    finish the transaction and answer; a maintenance process waits longer."""
    if budget_s is None:
        return int(MAINTENANCE_STATEMENT * 1000)
    return max(50, int((budget_s - MARGIN) * 700))


def install(engine, budget_s: float | None) -> None:
    """Server-side limits on each new PostgreSQL connection (once per connection, not
    per transaction), and the bookkeeping `answer_within` needs to shut a stuck socket."""
    statement = budget_s if budget_s is not None else MAINTENANCE_STATEMENT
    if engine.dialect.name == "postgresql":
        ms = int(statement * 1000)

        @event.listens_for(engine, "connect")
        def _limits(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                # A lock wait or a statement past these is cancelled by the server; an
                # abandoned transaction cannot hold locks for longer than a minute.
                cur.execute(f"SET statement_timeout = {ms}")
                cur.execute(f"SET lock_timeout = {max(50, ms // 2)}")
                cur.execute("SET idle_in_transaction_session_timeout = 60000")
            dbapi_conn.commit()

    @event.listens_for(engine, "checkout")
    def _track(dbapi_conn, _record, _proxy):
        held = _sockets.get()
        if held is not None:
            held.append(dbapi_conn)


def _shut(dbapi_conn) -> None:
    """Shut a psycopg connection's socket under it: the blocked read returns at once
    with an error, the pool drops the connection, the thread ends."""
    try:
        fd = dbapi_conn.pgconn.socket
    except Exception:  # noqa: BLE001 - SQLite, or already closed
        return
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # the fd stays psycopg's to close


# -- the request --------------------------------------------------------------------------

class _Work:
    def __init__(self):
        self.answered = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.after: list = []
        self.sockets: list = []


_current: ContextVar[_Work | None] = ContextVar("hotline_work", default=None)


def after_answer(fn) -> None:
    """Run `fn()` once the answer has been handed back (in the webhook's worker
    thread); outside a webhook, at once."""
    work = _current.get()
    if work is None:
        fn()
    else:
        work.after.append(fn)


def answer_within(view, emergency):
    """The view's answer if it comes within the budget, else the emergency answer.
    An exception in the view also gives the emergency answer."""
    app = current_app._get_current_object()
    breaker = app.extensions.setdefault("hotline.breaker", {"open_until": 0.0})
    if time.monotonic() < breaker["open_until"]:
        return emergency()
    work = _Work()

    @copy_current_request_context
    def run():
        _current.set(work)
        _sockets.set(work.sockets)
        try:
            work.result = _once_more_if_dropped(view)
        except BaseException as exc:  # noqa: BLE001 - reported by the request thread
            work.error = exc
        finally:
            work.answered.set()
        for fn in work.after:
            try:
                fn()
            except BaseException:  # noqa: BLE001 - the answer is already out; the staged
                # texts wait in the outbox for the clock
                log.exception("work after a webhook's answer failed")

    thread = threading.Thread(target=run, name="hotline-webhook", daemon=True)
    thread.start()
    _register(app, thread)
    if not work.answered.wait(max(0.05, budget(app) - MARGIN)):
        breaker["open_until"] = time.monotonic() + BREAKER_OPEN
        log.error("the database did not answer within the webhook budget (%.1f s); "
                  "answering from memory for the next %.0f s", budget(app), BREAKER_OPEN)
        for conn in list(work.sockets):
            _shut(conn)
        return emergency()
    if work.error is not None:
        raise work.error
    return work.result


def _once_more_if_dropped(view):
    """Without a pre-ping on every checkout, a connection the server dropped (restart,
    failover) is found out by the first statement on it; the pool then throws away
    its connections and the view runs once more, on a fresh one."""
    try:
        return view()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("a pooled database connection had been dropped; retrying once")
        return view()


def in_background(app, fn, name: str) -> None:
    """Best-effort work that must not hold up an answer (the fault alert)."""
    thread = threading.Thread(target=fn, name=name, daemon=True)
    thread.start()
    _register(app, thread)


_threads_lock = threading.Lock()


def _register(app, thread: threading.Thread) -> None:
    with _threads_lock:
        threads = app.extensions.setdefault("hotline.webhook_threads", set())
        threads.difference_update([t for t in threads if not t.is_alive()])
        threads.add(thread)


def drain(app, timeout: float = 10.0) -> None:
    """Wait for webhooks' work after their answers (texts being handed to Twilio).
    The test harness and the simulator call it so a conversation reads in order."""
    end = time.monotonic() + timeout
    with _threads_lock:
        threads = list(app.extensions.get("hotline.webhook_threads", ()))
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
