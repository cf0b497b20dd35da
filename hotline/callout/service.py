"""Open, answer and close the one open callout, inside the caller's transaction.

Like text/conversations.py, functions here change rows and append outgoing texts to
`out`; the caller stages them (text/outbox.stage) in the same transaction and sends
them after commit, so a callout's texts queue at the CALLOUT priority with every
other text the number sends. Refusal (tally.py) means bad input: nothing changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from hotline.callout.tally import (NO, YES, Counts, Refusal, count, notice, recipients,
                                   tally_due)
from hotline.crypto import CALLOUT
from hotline.records.shredding import forget_sealed_after_commit
from hotline.rotation.model import CLINICAL_DIRECTOR, Config
from hotline.store import Callout, CalloutAnswer, CalloutStat, Outbox
from hotline.text.outbox import Text

MAX_MESSAGE = 300  # the notice goes to every peer asked: keep it to two segments
EVERYONE = "*"  # start(tag=EVERYONE): every peer, whatever the file's default tag


def vault(app):
    return app.extensions["hotline.vault"]


def open_callout(db, lock: bool = False) -> Callout | None:
    q = select(Callout).order_by(Callout.id).limit(1)
    return db.scalar(q.with_for_update() if lock else q)


def start(app, db, config: Config, message: str, tag: str | None, initiator: str | None,
          now: datetime, out: list) -> tuple[Callout, int]:
    """Ask every peer with `tag` (None: the file's callout tag, or everyone; EVERYONE:
    everyone) by text.
    Returns the callout and how many were asked; raises Refusal, changing nothing."""
    message = " ".join(message.split())
    if not message:
        raise Refusal("Write what the callout is for, e.g. \"CALLOUT Defusing at District 4, "
                      "23:30\". Nothing was sent.")
    if len(message) > MAX_MESSAGE:
        raise Refusal(f"The callout message is {len(message)} characters; keep it under "
                      f"{MAX_MESSAGE} (it goes to every peer asked). Nothing was sent.")
    if initiator is not None and initiator != CLINICAL_DIRECTOR and initiator not in config.peers:
        raise Refusal(f"'{initiator}' is not in the rotation file, so cannot get the tally. "
                      "Nothing was sent.")
    existing = open_callout(db)
    if existing is not None:
        raise Refusal(_already_open(config, existing))
    tag = None if tag == EVERYONE else tag.lower() if tag else config.callout.tag
    people = recipients(config, tag, initiator)
    # Its own key, destroyed at close like a conversation's: no copy keeps the message.
    _, seal = vault(app).new_sealer(CALLOUT)
    sealed = seal(message)
    callout = Callout(slot=1, message_enc=sealed, tag=tag, initiator=initiator, started_at=now,
                      close_at=now + config.callout.close_after)
    try:
        with db.begin_nested():  # the unique slot: two starts at the same instant, one wins
            db.add(callout)
            db.flush()
    except IntegrityError:
        raise Refusal("Another callout was opened a moment ago. Nothing was sent.") from None
    first_call = now + config.callout.call_after if config.callout.calls else None
    text = notice(config, message)
    for person in people:
        db.add(CalloutAnswer(callout_id=callout.id, peer_id=person.id, answer=None,
                             unreachable=False, calls=0, call_due_at=first_call))
        out.append(Text(person.phone, text, peer_id=person.id, callout_id=callout.id))
    db.flush()
    return callout, len(people)


def _already_open(config: Config, callout: Callout) -> str:
    at = callout.started_at.astimezone(config.program.timezone).strftime("%H:%M")
    return (f"A callout is already open (started {at}). Close it first (CLOSE, or "
            "`hotline callout close`). Nothing was sent.")


def asked(db, person_id: str) -> CalloutAnswer | None:
    """This person's row in the open callout, if they were asked."""
    return db.scalar(select(CalloutAnswer).join(Callout, Callout.id == CalloutAnswer.callout_id)
                     .where(CalloutAnswer.peer_id == person_id))


def answer(db, config: Config, person_id: str, yes: bool, minutes: int | None,
           now: datetime) -> str:
    """Record (or replace) an answer; returns the confirmation for the peer."""
    callout = open_callout(db, lock=True)
    row = db.get(CalloutAnswer, (callout.id, person_id)) if callout else None
    if row is None:
        return "No callout is open for you right now. Thank you."
    before = row.answer
    row.answer, row.minutes = (YES if yes else NO), (minutes if yes else None)
    row.answered_at, row.call_due_at = now, None
    if yes and callout.first_yes_at is None:
        callout.first_yes_at = now
    callout.tally_due_at = tally_due(callout.tally_due_at, now, config.callout.tally_every)
    said = "YES" + (f" ({minutes} min away)" if yes and minutes is not None else "") \
        if yes else "NO"
    lead = "Changed: you said" if before is not None else "Thank you: you said"
    return f"{lead} {said} to the callout. A later answer replaces this one."


def counts(db, callout: Callout) -> Counts:
    return count(db.execute(select(CalloutAnswer.answer, CalloutAnswer.unreachable)
                            .where(CalloutAnswer.callout_id == callout.id)).all())


def close(app, db, config: Config, now: datetime, out: list, note: str = "",
          closer: str | None = None) -> Counts:
    """Thank those who said yes, send the initiator the final tally (unless they are
    `closer`, who is answered directly), keep only counts."""
    callout = open_callout(db, lock=True)
    if callout is None:
        raise Refusal("No callout is open.")
    final = counts(db, callout)
    closing = config.callout.closing + (f" {note}" if note else "")
    for row in db.scalars(select(CalloutAnswer).where(CalloutAnswer.callout_id == callout.id,
                                                      CalloutAnswer.answer == YES)):
        person = config.peers.get(row.peer_id)
        if person is not None:
            out.append(Text(person.phone, closing, callout_id=callout.id))
    if callout.initiator != closer:
        _tell_initiator(config, callout, final.text(final=True), out)
    local = callout.started_at.astimezone(config.program.timezone)
    first = callout.first_yes_at
    db.add(CalloutStat(month=local.strftime("%Y-%m"), asked=final.yes + final.no + final.waiting,
                       answered_yes=final.yes,
                       seconds_to_first_yes=int((first - callout.started_at).total_seconds())
                       if first else None))
    # The message and who answered what go now: only the counts above stay.
    db.execute(delete(CalloutAnswer).where(CalloutAnswer.callout_id == callout.id))
    forget_sealed_after_commit(db, callout.message_enc)
    db.delete(callout)
    return final


def send_tally(db, config: Config, callout: Callout, out: list) -> None:
    """The running tally to the initiator, unless nothing changed since the last one."""
    words = counts(db, callout).text()
    if words != callout.tallied:
        callout.tallied = words
        _tell_initiator(config, callout, words, out)


def _tell_initiator(config: Config, callout: Callout, words: str, out: list) -> None:
    if callout.initiator is None:
        return
    try:
        person = config.person(callout.initiator)
    except KeyError:  # removed from the file since: status and the dashboard still show it
        return
    out.append(Text(person.phone, words, callout_id=callout.id))


def unreachable(db, callout_id: int | None, peer_id: str | None, sid: str | None,
                now: datetime, call_now: bool = False, every: timedelta | None = None) -> None:
    """A callout text or phone page never reached a peer: count them unreachable, and
    if their text failed (`sid`, or `call_now`), phone them now, not after call_after.
    With `every` (callout tally_every) the starter hears of it in the next tally: they
    may know another way to reach that peer."""
    if sid is not None:
        row = db.scalar(select(CalloutAnswer).where(CalloutAnswer.notice_sid == sid))
    else:
        row = db.get(CalloutAnswer, (callout_id, peer_id))
    if row is None or row.answer is not None:
        return
    first = not row.unreachable
    row.unreachable = True
    if (sid is not None or call_now) and row.call_due_at is not None:
        row.call_due_at = now
    callout = db.get(Callout, row.callout_id) if first and every is not None else None
    if callout is not None:
        callout.tally_due_at = tally_due(callout.tally_due_at, now, every)


@dataclass(frozen=True)
class Status:
    """What `hotline callout status` and the dashboard show: names, for coordinators."""

    message: str
    tag: str | None
    started_at: datetime
    initiator: str | None  # a name
    counts: Counts
    yes: list[tuple[str, int | None]]  # (name, minutes away), in the order they answered
    no: list[str]
    waiting: list[tuple[str, bool, int]]  # (name, unreachable, phone pages placed)


def status(app, db, config: Config) -> Status | None:
    callout = open_callout(db)
    if callout is None:
        return None
    rows = db.scalars(select(CalloutAnswer).where(CalloutAnswer.callout_id == callout.id)
                      .order_by(CalloutAnswer.answered_at, CalloutAnswer.peer_id)).all()

    def name(pid: str) -> str:
        try:
            return config.person(pid).name
        except KeyError:
            return pid

    return Status(message=vault(app).open(callout.message_enc), tag=callout.tag,
                  started_at=callout.started_at,
                  initiator=name(callout.initiator) if callout.initiator else None,
                  counts=count([(r.answer, r.unreachable) for r in rows]),
                  yes=[(name(r.peer_id), r.minutes) for r in rows if r.answer == YES],
                  no=[name(r.peer_id) for r in rows if r.answer == NO],
                  waiting=[(name(r.peer_id), r.unreachable, r.calls)
                           for r in rows if r.answer is None])


def hand_to_clock(db, staged: list, now: datetime) -> None:
    """For a process that is not a web worker (the `hotline callout` command): its staged
    texts are due at once, and the clock sends them at the number's rate, in order."""
    ids = [t.outbox_id for t in staged if getattr(t, "outbox_id", None) is not None]
    if ids:
        db.execute(update(Outbox).where(Outbox.id.in_(ids)).values(next_try_at=now)
                   .execution_options(synchronize_session=False))
