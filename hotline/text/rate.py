"""A per-number send rate shared by every sender (text/sender.py).

Twilio queues texts beyond a number's rate itself, but in its own order; a
burst of routine texts would then delay an urgent one. Holding the excess in
our outbox instead lets the sender (text/sender.py) release it at the number's
rate, urgent first. `HOTLINE_SEND_RATE` is texts per second (1 for a US long code, higher
for toll-free or short codes); 0 turns the limit off.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from hotline.store import SendWindow

# A window this many seconds or less ahead of our clock is another worker's, whose clock
# runs a little ahead: it counts. One further ahead is left from before our clock stepped
# back (an NTP correction, a restored snapshot, the simulator restarted after a
# fast-forward) and is started over: kept, it would hold every text until time caught up.
MAX_AHEAD = 2


def limit(app) -> int:
    return int(app.config.get("HOTLINE_SEND_RATE") or 0)


def take_slots(db, number: str, now: datetime, want: int, per_second: int) -> int:
    """Inside the sender's claim: up to `want` sends in the current second; how many
    were granted. The window's row stays locked until the claim commits, so two senders
    never hand out the same slots."""
    second = int(now.timestamp())
    # Written first: on SQLite this takes the write lock before any read.
    db.execute(update(SendWindow)
               .where(SendWindow.number == number,
                      or_(SendWindow.second < second, SendWindow.second > second + MAX_AHEAD))
               .values(second=second, count=0))
    row = db.execute(select(SendWindow.second, SendWindow.count)
                     .where(SendWindow.number == number).with_for_update()).first()
    if row is None:
        granted = min(want, per_second)
        try:
            with db.begin_nested():
                db.add(SendWindow(number=number, second=second, count=granted))
            return granted
        except IntegrityError:  # another sender created it this instant: next round
            return 0
    if row.second != second:
        return 0  # a window a little ahead (another process's clock): full until then
    granted = max(0, min(want, per_second - row.count))
    if granted:
        db.execute(update(SendWindow).where(SendWindow.number == number)
                   .values(count=SendWindow.count + granted))
    return granted


def give_back(db, number: str, now: datetime, unused: int) -> None:
    """Slots taken for texts that were not there to claim after all."""
    db.execute(update(SendWindow)
               .where(SendWindow.number == number, SendWindow.second == int(now.timestamp()))
               .values(count=SendWindow.count - unused))
