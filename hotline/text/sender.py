"""The sender: the one path by which texts reach Twilio's REST API.

Webhooks and the clock's jobs only decide and stage their texts in the outbox, in the
transaction that decided them, which NOTIFYs (text/notify.py). A sender, the
`hotline sender` process or the thread the clock runs beside its jobs, is woken at
once and, round after round:

1. claims the due rows in one statement, urgent first, as many as the number's rate
   allows this second (text/rate.py): `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE
   SKIP LOCKED)` on PostgreSQL, the same UPDATE on SQLite, whose one writer at a time
   does the rest. Claimed rows are leased (hidden from other senders for LEASE) and
   marked `sending_at`, before any REST call, so two senders never send one text;
2. sends them on a small pool of threads (a 150 ms Twilio allows ~6 texts/s one at a
   time), the texts of one conversation to one phone in order on the same thread;
3. records the batch's results in one transaction: sent rows go (their SIDs kept
   for status callbacks and deletion at Twilio), 5xx and timeouts come back with
   backoff, refusals are reported (conversations.report_refused).

Exactly once across kill -9: Twilio's Messages API has no idempotency key. A sender
killed after Twilio took a text but before step 3 leaves the row claimed with
`sending_at` set; so does a REST call that timed out. When such a row's lease runs
out, the next sender first lists Twilio's recent messages to that phone from the
program number and compares bodies: found, it is recorded as sent with Twilio's
SID; not found, it is sent. The price: one list request per such row, and a text
Twilio took but does not list yet (or whose body the account redacts) can still go
twice. The alternative, recording before sending and never retrying, would lose a
text instead; on a crisis line a rare duplicate is the lesser harm.

A text a row holds sealed since an earlier HOTLINE_SECRET_KEY cannot be sent: dropped.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import requests
from cryptography.fernet import InvalidToken
from sqlalchemy import delete, func, literal, select, update
from twilio.base.exceptions import TwilioException

from hotline.store import Outbox, ProviderRecord, UTCDateTime
from hotline.text import conversations as tx
from hotline.text import rate
from hotline.text.notify import Listener
from hotline.text.outbox import (BACKGROUND, MAX_ATTEMPTS, OPTED_OUT, Refused,
                                 TemporaryFailure, Text, as_text, backoff, record_in,
                                 send_one)
from hotline.twilio_client import client

log = logging.getLogger(__name__)

# A claimed row is hidden this long from other senders: longer than a round takes (two
# texts per thread, each bounded by the REST timeout), short enough that a killed
# sender's texts go out again soon.
LEASE = timedelta(seconds=30)
THREADS = 32  # per sender; HOTLINE_SENDER_THREADS. Twilio allows 100 concurrent requests:
# two senders (the clock's thread and `hotline sender`) stay under it with room to spare.
# How far before a maybe-sent text's first attempt Twilio's list is read: the sender's
# clock and Twilio's may differ by this much.
LOOKBACK = timedelta(minutes=2)
# Of Twilio's newest messages to one phone: a burst can send a peer a thousand notices
# while a killed sender's lease runs out; past this many the text is sent again.
LOOK_AT_MOST = 3000


def threads(app) -> int:
    return max(1, int(app.config.get("HOTLINE_SENDER_THREADS") or THREADS))


@dataclass
class Claimed:
    row_id: int
    text: Text | None  # None: sealed under another key, dropped
    attempts: int
    maybe_sent_since: datetime | None  # an earlier attempt whose outcome is unknown


@dataclass
class Result:
    claimed: Claimed
    sid: str | None = None  # sent (or found already sent)
    retry: str | None = None  # why Twilio did not take it now: "5xx", "timeout"
    refused: int | None = None  # Twilio's error code, refused for good
    is_refused: bool = False


# -- one round ---------------------------------------------------------------------------

def send_due(app, now: datetime) -> int:
    """One round: claim what is due, send it, record the results. Returns how many rows
    were claimed (0: nothing due, or the rate is used up for this second)."""
    program = app.extensions["hotline.rotation"].current().config.program.number
    claimed = claim(app, program, now, 2 * threads(app))
    if claimed:
        results = send(app, program, [c for c in claimed if c.text is not None], now)
        record(app, results, now)
    return len(claimed)


def claim(app, program: str, now: datetime, want: int) -> list[Claimed]:
    vault = app.extensions["hotline.vault"]
    postgres = app.extensions["hotline.engine"].dialect.name == "postgresql"
    with app.extensions["hotline.sessions"]() as db:
        # A read first: an idle sender takes no write lock (SQLite) and no rate slot.
        if db.scalar(select(Outbox.id).where(Outbox.next_try_at <= now).limit(1)) is None:
            return []
    with app.extensions["hotline.sessions"]() as db, db.begin():
        # The rate first: on SQLite this write takes the lock before any read.
        per_second = rate.limit(app)
        allowed = rate.take_slots(db, program, now, want, per_second) if per_second > 0 \
            else want
        if allowed <= 0:
            return []
        # A text of higher priority still on its way (leased to a sender, or waiting out
        # a backoff) goes before any lower one: urgent first, even across a crash.
        ahead = (select(func.max(Outbox.priority)).where(Outbox.next_try_at > now)
                 .scalar_subquery())
        due = (select(Outbox.id)
               .where(Outbox.next_try_at <= now,
                      Outbox.priority >= func.coalesce(ahead, BACKGROUND - 1))
               .order_by(Outbox.priority.desc(), Outbox.id).limit(allowed))
        if postgres:
            due = due.with_for_update(skip_locked=True)
        stamp = literal(now, UTCDateTime())
        rows = db.execute(
            update(Outbox).where(Outbox.id.in_(due.scalar_subquery()))
            # The first attempt whose outcome is unknown is kept: any of them may be the
            # one Twilio took.
            .values(next_try_at=now + LEASE,
                    sending_at=func.coalesce(Outbox.sending_at, stamp))
            .returning(Outbox.id, Outbox.priority, Outbox.attempts, Outbox.sending_at,
                       Outbox.to_enc, Outbox.body_enc, Outbox.conversation_id,
                       Outbox.peer_id, Outbox.attempt, Outbox.to_texter, Outbox.callout_id,
                       Outbox.media_enc, Outbox.media_of)
            .execution_options(synchronize_session=False)).all()
        if per_second > 0 and len(rows) < allowed:
            rate.give_back(db, program, now, allowed - len(rows))
        claimed, unreadable, open_ = [], [], vault.opener()
        for row in sorted(rows, key=lambda r: (-r.priority, r.id)):
            since = row.sending_at if row.sending_at != now else None
            try:
                claimed.append(Claimed(row.id, as_text(open_, row), row.attempts, since))
            except InvalidToken:
                unreadable.append(row.id)
                claimed.append(Claimed(row.id, None, row.attempts, since))
        if unreadable:
            log.error("dropped %s queued text(s) that cannot be decrypted (was "
                      "HOTLINE_SECRET_KEY changed?)", len(unreadable))
            db.execute(delete(Outbox).where(Outbox.id.in_(unreadable)))
        return claimed


def send(app, program: str, claimed: list[Claimed], now: datetime) -> list[Result]:
    """Concurrently, but one conversation's texts to one phone in order on one thread.
    A sender killed meanwhile (a BaseException that is not an Exception) dies here,
    recording nothing: the leases and `sending_at` take it from there."""
    lanes: dict[tuple, list[Claimed]] = {}
    for c in claimed:
        key = (c.text.to, c.text.conversation_id) if c.text.conversation_id is not None \
            else (c.text.to, -c.row_id)
        lanes.setdefault(key, []).append(c)

    def lane(items: list[Claimed]) -> list[Result]:
        return [send_claimed(app, program, c) for c in items]

    if threads(app) == 1 or len(lanes) == 1:
        return [r for items in lanes.values() for r in lane(items)]  # claimed urgent first
    # Sends that run side by side reach Twilio in any order, so the urgent lanes of a
    # round go first and are taken before the others start: a crisis notice never
    # follows a routine one claimed with it (bench/burst.py counted such overtakes).
    # The price, only in a round that has both: the routine ones wait one REST call.
    def urgency(items: list[Claimed]) -> int:
        return max(c.text.priority for c in items)

    results, died = [], None
    for _, group in groupby(sorted(lanes.values(), key=urgency, reverse=True), key=urgency):
        for f in [pool(app).submit(lane, items) for items in group]:
            try:
                results.extend(f.result())
            except Exception:  # noqa: BLE001 - a bug, not Twilio: retried, maybe sent
                log.exception("sending a text failed unexpectedly")
            except BaseException as exc:  # noqa: BLE001 - the process is going down
                died = died or exc
        if died is not None:
            raise died
    return results


_pools_lock = threading.Lock()


def pool(app) -> ThreadPoolExecutor:
    with _pools_lock:
        found = app.extensions.get("hotline.sender_pool")
        if found is None:
            found = app.extensions["hotline.sender_pool"] = ThreadPoolExecutor(
                max_workers=threads(app), thread_name_prefix="hotline-sender")
        return found


def send_claimed(app, program: str, c: Claimed) -> Result:
    try:
        if c.maybe_sent_since is not None:
            sid = already_sent(app, program, c.text, c.maybe_sent_since)
            if sid is not None:
                log.info("a text a sender may have sent before it stopped had reached "
                         "Twilio: recorded, not sent again")
                return Result(c, sid=sid)
        return Result(c, sid=send_one(app, program, c.text))
    except TemporaryFailure as exc:
        log.warning("Twilio did not take a text (%s); retried with backoff", exc)
        return Result(c, retry="timeout" if str(exc) == "timeout" else "5xx")
    except Refused as exc:
        if exc.code != OPTED_OUT:
            log.warning("Twilio refused a text (error %s)", exc.code)
        return Result(c, refused=exc.code, is_refused=True)
    except Exception:  # noqa: BLE001 - an answer we did not expect: maybe sent, retried
        log.exception("sending a text failed unexpectedly; retried with backoff")
        return Result(c, retry="timeout")


def already_sent(app, program: str, text: Text, since: datetime) -> str | None:
    """Twilio's SID for this text if it took it at or after `since` (less LOOKBACK):
    the newest messages from the program number to the phone, compared by body. A
    message whose SID the router already recorded (an identical text sent just before,
    "You have #4" twice, say) is someone else's."""
    after, before = since - LOOKBACK, since + LEASE + LOOKBACK
    candidates = []
    try:
        for seen, message in enumerate(client(app).messages.stream(
                to=text.to, from_=program, page_size=100)):
            created = message.date_created
            if seen >= LOOK_AT_MOST or (created is not None and created < after):
                break
            if created is not None and created > before:
                continue  # sent since (a burst to one peer): page on to the attempt's time
            if (message.body or "") == text.body:
                candidates.append(message.sid)
    except TwilioException as exc:
        raise TemporaryFailure(getattr(exc, "status", "error")) from None
    except (requests.Timeout, requests.ConnectionError):
        raise TemporaryFailure("timeout") from None
    if not candidates:
        return None
    with app.extensions["hotline.sessions"]() as db:
        known = set(db.scalars(select(ProviderRecord.sid)
                               .where(ProviderRecord.sid.in_(candidates))))
    return next((sid for sid in reversed(candidates) if sid not in known), None)


def record(app, results: list[Result], now: datetime) -> None:
    """The batch's outcomes in one transaction; then what Twilio refused is reported."""
    refused: list[tuple[Text, int | None]] = []
    with app.extensions["hotline.sessions"]() as db, db.begin():
        record_in(app, db, [(r.sid, r.claimed.text) for r in results if r.sid], now)
        for r in results:
            c = r.claimed
            if r.is_refused:
                db.execute(delete(Outbox).where(Outbox.id == c.row_id))
                refused.append((c.text, r.refused))
            elif r.retry is not None:
                if c.attempts + 1 >= MAX_ATTEMPTS:
                    log.warning("dropped a text after %s attempts", c.attempts + 1)
                    db.execute(delete(Outbox).where(Outbox.id == c.row_id))
                    refused.append((c.text, None))  # a texter's words given up on: told
                    continue
                values = {"attempts": c.attempts + 1,
                          "next_try_at": now + backoff(c.attempts + 1)}
                if r.retry != "timeout" and c.maybe_sent_since is None:
                    values["sending_at"] = None  # Twilio said no: certainly not sent
                db.execute(update(Outbox).where(Outbox.id == c.row_id).values(**values))
    if refused:
        tx.report_refused(app, refused, now)


# -- the loop --------------------------------------------------------------------------

def drain(app, clock=None, rounds: int = 1000) -> None:
    """Send everything due now, round after round, in this thread (the test harness and
    the simulator after each webhook, so a conversation reads in order; the clock's
    poll in tests). A kill (the fake Twilio's ProcessKilled) goes up to the caller."""
    clock = clock or app.config["HOTLINE_CLOCK"]
    for _ in range(rounds):
        with app.app_context():
            if not send_due(app, clock()):
                return


def run_forever(app, clock, every: float = 1.0, stop: threading.Event | None = None,
                send=send_due) -> None:
    """A sender: a round each time it is woken, and at least every `every` seconds,
    until `stop` is set; rounds follow each other at once while each finds a full
    batch. A lost connection is opened again after a pause."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            listener = Listener(app.extensions["hotline.engine"])
            try:
                busy = True
                while not stop.is_set():
                    if not busy:
                        listener.wait(every)
                        if stop.is_set():
                            break
                    with app.app_context():
                        busy = send(app, clock()) >= 2 * threads(app)
            finally:
                listener.close()
        except Exception:  # noqa: BLE001 - a database away: try again shortly
            log.exception("the sender failed; starting again in 2 s")
            stop.wait(2)
