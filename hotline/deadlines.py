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
- `answer_within`: the view runs under a watchdog (one thread per process). Past
  the budget minus a margin, the watchdog shuts the view's database sockets, so its
  blocked read fails at once and the emergency answer (built from memory only) goes
  out; a new connection is waited for only until the deadline (`do_connect` on a
  helper thread). After such a timeout the next requests of this process take the
  emergency answer at once, but for one a second that tries the database again
  (_Breaker), so a hung database cannot tie up every worker and a database that was
  only slow for a moment is back in use within a second.

Work a view hands to `after_answer` (placing calls) runs on a small pool of threads
after the answer is on its way: a webhook never waits on Twilio. Texts never go that
way: they are staged in the outbox and sent by the sender process (text/sender.py).
"""
from __future__ import annotations

import logging
import math
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import ContextVar

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 2.0  # seconds from a webhook's arrival to its answer
# Kept back from the budget for building and sending the emergency answer.
MARGIN = 0.25
PROBE_EVERY = 1.0  # seconds between tries of a database that timed out (_Breaker)
# Maintenance work (the clock, the CLI) answers nobody on the phone; its statements
# may take longer, but a hung server must still not stop it for ever.
MAINTENANCE_STATEMENT = 30.0
BACKGROUND_THREADS = 8  # per process: texts handed to Twilio after the answers

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

        @event.listens_for(engine, "do_connect")
        def _connect(dialect, _record, cargs, cparams):
            return connect_within_budget(dialect, cargs, cparams)

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

class _Watch:
    """One webhook under the watchdog: its deadline and the connections it holds."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.sockets: list = []
        self.after: list = []
        self.timed_out = False


_watch: ContextVar[_Watch | None] = ContextVar("hotline_watch", default=None)


class _Watchdog:
    """One thread per process. A webhook past its deadline has its database sockets
    shut under it: psycopg's blocked read returns at once with an error, and the
    view fails into the emergency answer on its own thread. (A thread per request
    would cost more than the database round trip it guards.)"""

    TICK = 0.05

    def __init__(self):
        self.lock = threading.Lock()
        self.active: set[_Watch] = set()
        self.thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self.lock:
            self.active.add(watch)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="hotline-watchdog",
                                               daemon=True)
                self.thread.start()

    def remove(self, watch: _Watch) -> None:
        with self.lock:
            self.active.discard(watch)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self.lock:
                late = [w for w in self.active if w.deadline <= now and not w.timed_out]
            for watch in late:
                watch.timed_out = True
                for conn in list(watch.sockets):
                    _shut(conn)


_watchdog = _Watchdog()


def after_answer(fn) -> None:
    """Run `fn()` once the answer has been handed back, on the process's small pool of
    sender threads; outside a webhook, at once."""
    watch = _watch.get()
    if watch is None:
        fn()
    else:
        watch.after.append(fn)


class _Breaker:
    """After a webhook timed out on the database, this process answers from memory at
    once, except for one request a PROBE_EVERY that tries the database again (within
    its own budget): a hung database costs each worker one budget's wait a second,
    and a database that was only slow for a moment is back in use within a second."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open = False
        self.next_probe = 0.0

    def admit(self) -> bool:
        with self.lock:
            if not self.open:
                return True
            now = time.monotonic()
            if now < self.next_probe:
                return False
            self.next_probe = now + PROBE_EVERY
            return True

    def trip(self) -> None:
        with self.lock:
            self.open, self.next_probe = True, time.monotonic() + PROBE_EVERY

    def close(self) -> None:
        with self.lock:
            self.open = False


def answer_within(view, emergency):
    """The view's answer, or the emergency answer when the view fails or the database
    does not answer within the budget (see _Breaker for what follows a timeout)."""
    app = current_app._get_current_object()
    breaker = app.extensions.get("hotline.breaker")
    if breaker is None:
        breaker = app.extensions.setdefault("hotline.breaker", _Breaker())
    if not breaker.admit():
        return emergency()
    watch = _Watch(time.monotonic() + max(0.05, budget(app) - MARGIN))
    token, held = _watch.set(watch), _sockets.set(watch.sockets)
    _watchdog.add(watch)
    try:
        result = _once_more_if_dropped(view, watch)
    except Exception:
        if watch.timed_out:
            breaker.trip()
            log.error("the database did not answer within the webhook budget (%.1f s); "
                      "answering from memory, trying it again every %.0f s", budget(app),
                      PROBE_EVERY)
        raise
    finally:
        _watchdog.remove(watch)
        _watch.reset(token)
        _sockets.reset(held)
    breaker.close()
    for fn in watch.after:
        in_background(app, fn, "after a webhook's answer")
    return result


def connect_within_budget(dialect, cargs, cparams):
    """A new connection (do_connect): made on a helper thread and waited for only until
    the webhook's deadline, since libpq's connect_timeout cannot go below 2 s and a
    hung server would otherwise hold the webhook that long. None: connect as usual."""
    watch = _watch.get()
    if watch is None:
        return None
    box: dict = {}
    lock = threading.Lock()

    def connect():
        try:
            conn = dialect.connect(*cargs, **cparams)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
            return
        with lock:
            if box.get("abandoned"):
                conn.close()  # nobody is waiting for it any more
            else:
                box["conn"] = conn

    helper = threading.Thread(target=connect, name="hotline-connect", daemon=True)
    helper.start()
    helper.join(max(0.0, watch.deadline - time.monotonic()))
    with lock:
        if "conn" in box:
            return box["conn"]
        if "error" in box:
            raise box["error"]
        box["abandoned"] = True
    watch.timed_out = True
    raise dialect.loaded_dbapi.OperationalError(
        "the database did not accept a connection within the webhook budget")


def _once_more_if_dropped(view, watch: _Watch):
    """Without a pre-ping on every checkout, a connection the server dropped (restart,
    failover) is found out by the first statement on it; the pool then throws away
    its connections and the view runs once more, on a fresh one. Not after a timeout:
    the watchdog's own shut looks like a drop too."""
    try:
        return view()
    except DBAPIError as exc:
        if not exc.connection_invalidated or watch.timed_out:
            raise
        log.warning("a pooled database connection had been dropped; retrying once")
        return view()


_pool_lock = threading.Lock()


def in_background(app, fn, what: str) -> None:
    """Work that must not hold up an answer (texts to Twilio, the fault alert), on a
    small pool of threads kept for the life of the process."""
    with _pool_lock:
        pool = app.extensions.get("hotline.background")
        if pool is None:
            pool = app.extensions["hotline.background"] = ThreadPoolExecutor(
                max_workers=BACKGROUND_THREADS, thread_name_prefix="hotline-background")
        pending = app.extensions.setdefault("hotline.pending", set())
        pending.difference_update([f for f in pending if f.done()])

    def run():
        try:
            with app.app_context():
                fn()
        except BaseException:  # noqa: BLE001 - the answer is already out; staged texts
            log.exception("%s failed", what)  # wait in the outbox for the clock

    future = pool.submit(run)
    with _pool_lock:
        pending.add(future)


def drain(app, timeout: float = 10.0) -> None:
    """Wait for work handed off after answers (calls being placed), then run the
    drainers the application registered (`hotline.drainers`: the text sender, until
    nothing is due). The test harness and the simulator call it after each webhook so
    a conversation reads in order. A drainer that fails or is "killed" (the fake
    Twilio's ProcessKilled) is logged: its texts wait in the outbox, as in production."""
    with _pool_lock:
        pending = list(app.extensions.get("hotline.pending", ()))
    wait(pending, timeout=timeout)
    for drainer in app.extensions.get("hotline.drainers", ()):
        try:
            drainer()
        except BaseException:  # noqa: BLE001 - the answer is out; the outbox keeps them
            log.warning("a drainer stopped after a webhook", exc_info=True)
