"""A per-number send rate shared by all web workers and the clock.

Twilio queues texts beyond a number's rate itself, but in its own order; a
burst of routine texts would then delay an urgent one. Holding the excess in
our outbox instead lets the clock release it at the number's rate, urgent
first. `HOTLINE_SEND_RATE` is texts per second (1 for a US long code, higher
for toll-free or short codes); 0 turns the limit off.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from hotline.store import Outbox, SendWindow

# A window this many seconds or less ahead of our clock is another worker's, whose clock
# runs a little ahead: it counts. One further ahead is left from before our clock stepped
# back (an NTP correction, a restored snapshot, the simulator restarted after a
# fast-forward) and is started over: kept, it would hold every text until time caught up.
MAX_AHEAD = 2


def limit(app) -> int:
    return int(app.config.get("HOTLINE_SEND_RATE") or 0)


def take_slot(app, number: str, now: datetime) -> bool:
    """Claim one send in the current second; False when the second is full."""
    if limit(app) <= 0:
        return True
    with app.extensions["hotline.sessions"]() as db, db.begin():
        return _claim(db, number, now, limit(app))


def may_send(app, number: str, mine: int, now: datetime, own: tuple[int, ...] = ()) -> bool:
    """For a new text: nothing of its priority waits before it, and a slot is free
    (one round of the database for both). Even without a limit, texts due for a retry
    mean Twilio is struggling: a new one queues behind them rather than make its
    webhook wait out another timeout (and risk a duplicate if Twilio took it after all).
    `mine`: the text's priority (outbox.ROUTINE, CALLOUT or URGENT).
    `own`: the outbox rows of the caller's own batch, never ahead of itself."""
    with app.extensions["hotline.sessions"]() as db, db.begin():
        # A text of higher priority still on its way (staged by another webhook, or left by
        # a dead one) is ahead of a lower one even before its retry is due.
        ahead = db.scalar(select(Outbox.id).where(
            or_(and_(Outbox.next_try_at <= now, Outbox.priority >= mine), Outbox.priority > mine),
            Outbox.id.not_in(own)).limit(1))
        return ahead is None and (limit(app) <= 0 or _claim(db, number, now, limit(app)))


def _claim(db, number: str, now: datetime, per_second: int) -> bool:
    second = int(now.timestamp())
    if db.execute(update(SendWindow)
                  .where(SendWindow.number == number, SendWindow.second == second,
                         SendWindow.count < per_second)
                  .values(count=SendWindow.count + 1)).rowcount == 1:
        return True
    if db.execute(update(SendWindow)
                  .where(SendWindow.number == number,
                         or_(SendWindow.second < second, SendWindow.second > second + MAX_AHEAD))
                  .values(second=second, count=1)).rowcount == 1:
        return True
    if db.get(SendWindow, number) is not None:
        return False
    try:
        with db.begin_nested():
            db.add(SendWindow(number=number, second=second, count=1))
        return True
    except IntegrityError:  # another worker created it this instant and took the slot
        return False
