"""REVEAL: the only way a texter's number leaves the system, for a welfare check.

Narrow on purpose (README "Peer commands"):
- only the clinical director, and only for a conversation that is urgent or has
  already reached them (they were notified, alerted or took it);
- two messages: "REVEAL #7" asks, "REVEAL #7 CONFIRM" within CONFIRM_WITHIN shows the
  number, so a slip of the thumb shows nothing;
- at most PER_DAY numbers a day (the program's day);
- audited with the day only: a time to the second could be matched with the phone
  company's record of the welfare-check call, and so with the texter.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from hotline.records import audit
from hotline.rotation.model import CLINICAL_DIRECTOR
from hotline.store import AuditEvent, Conversation
from hotline.text import conversations as tx

CONFIRM_WITHIN = timedelta(minutes=5)
PER_DAY = 3


def eligible(conv: Conversation) -> bool:
    return conv.urgent or conv.owner == CLINICAL_DIRECTOR \
        or CLINICAL_DIRECTOR in tx.notified(conv)


def the_day(loaded, now: datetime) -> datetime:
    """The audit's time for a reveal: the start of the program's local day."""
    local = now.astimezone(loaded.config.program.timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def reveal(app, db, loaded, conv: Conversation, confirm: bool, now: datetime,
           replies: list[str]) -> None:
    c = conv.code
    if not eligible(conv):
        replies.append(f"#{c} is not urgent and has not reached you, so its number cannot be "
                       "revealed.")
        return
    if not confirm:
        conv.reveal_asked_at = now
        replies.append(f"To see #{c}'s number for a welfare check, text REVEAL #{c} CONFIRM "
                       f"within {int(CONFIRM_WITHIN.total_seconds() // 60)} minutes. Each "
                       "reveal is audited.")
        return
    asked = conv.reveal_asked_at
    if asked is None or not (timedelta(0) <= now - asked <= CONFIRM_WITHIN):
        replies.append(f"Text REVEAL #{c} first, then REVEAL #{c} CONFIRM within "
                       f"{int(CONFIRM_WITHIN.total_seconds() // 60)} minutes.")
        return
    day = the_day(loaded, now)
    done_today = db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == audit.REVEAL, AuditEvent.at >= day))
    if done_today >= PER_DAY:
        replies.append(f"No number shown: {PER_DAY} numbers were revealed today, the most a "
                       "day. In an emergency call 911 with what you know.")
        return
    number = tx.texter_of(app, conv)  # Shredded for a copy restored after its close
    conv.reveal_asked_at = None
    audit.record(db, day, audit.REVEAL, CLINICAL_DIRECTOR,
                 "urgent conversation" if conv.urgent else "")
    replies.append(f"#{c} texter's number: {number} (this reveal is audited).")
