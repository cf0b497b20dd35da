"""What the clock sends about the rota: shift reminders, the end of an OFF, and the
coordinators' weekly summary of holes ahead.

Exactly once across restarts and a second clock: each reminder's row in
`reminders_sent` (unique per peer, rotation, shift start and kind) is inserted
before its text is queued, in the same transaction; an insert that collides means
another clock, or this one before a restart, already sent it. Texts go to the
outbox at BACKGROUND priority, so crisis traffic always goes first.

Shifts are computed by the schedule in the program's zone, and "12 h before" is
counted on the wall clock as shifts are: a Monday 08:00 handoff is reminded at
Sunday 20:00 every week, the night the clocks change included (that night it is
eleven or thirteen real hours ahead).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hotline.availability import state
from hotline.availability.commands import back_on, coordinators
from hotline.rotation.availability import when
from hotline.rotation.gaps import coverage_gaps
from hotline.rotation.shifts import shifts
from hotline.schedule import localize
from hotline.store import Conversation, ReminderSent
from hotline.text import conversations as tx
from hotline.text.outbox import Text, queue_background, stage

# A clock that was down longer than this does not send "your shift starts" late.
GRACE = timedelta(hours=1)
SUMMARY_GRACE = timedelta(hours=6)
LONGEST_SHIFT = timedelta(days=35)  # how far on a shift's end is looked for
SUMMARY_LISTED = 3  # holes spelt out in the weekly text; the rest are counted
COORDINATORS = "coordinators"  # reminders_sent.peer_id of the weekly summary


def run(app, now: datetime) -> None:
    """One poll of the clock."""
    loaded = app.extensions["hotline.rotation"].current()
    expire(app, loaded, now)
    shift_reminders(app, loaded, now)
    gap_summary(app, loaded, now)


def _sessions(app):
    return app.extensions["hotline.sessions"]


def expire(app, loaded, now: datetime) -> None:
    """An OFF whose time is up: the peer is told they are back, and offered what waits."""
    out: list[Text] = []
    with _sessions(app)() as db, db.begin():
        for pid in state.claim_expired(db, now):
            person = loaded.config.peers.get(pid)
            if person is not None:  # a peer since removed from the file is not texted
                back_on(db, loaded, person, now, out, [], said_on=False)
        out = stage(app, db, out, now)
    tx.deliver(app, out, now)


def due(loaded, now: datetime) -> list[tuple[str, object]]:
    """(kind, shift) for every reminder due at `now`; pure given the rotation."""
    r = loaded.config.reminders
    ahead = r.before or timedelta(0)
    found = []
    for s in shifts(loaded.schedule, now - GRACE, now + ahead + timedelta(seconds=1)):
        if s.cut:
            continue  # began before the window: its reminders' time has passed
        if r.before and s.start - r.before <= now < s.start:
            found.append(("before", s))
        if r.at_start and s.start <= now < s.start + GRACE:
            found.append(("start", s))
    return found


def shift_reminders(app, loaded, now: datetime) -> None:
    candidates = due(loaded, now)
    if not candidates:
        return
    with _sessions(app)() as db, db.begin():
        sent = set(db.execute(select(ReminderSent.peer_id, ReminderSent.rotation,
                                     ReminderSent.shift_start, ReminderSent.kind).where(
            ReminderSent.shift_start.in_({s.start for _, s in candidates}))).all())
        sent = {(p, r, t.timestamp(), k) for p, r, t, k in sent}
        quiet = state.opted_out(db)
    for kind, s in candidates:
        if (s.peer, s.rotation, s.start.timestamp(), kind) in sent or s.peer in quiet:
            continue
        try:
            with _sessions(app)() as db, db.begin():
                db.add(ReminderSent(peer_id=s.peer, rotation=s.rotation, shift_start=s.start,
                                    kind=kind, sent_at=now))
                db.flush()  # the claim: a second clock's identical row fails here
                person = loaded.config.peers[s.peer]
                queue_background(app, db, [Text(person.phone, _reminder(db, loaded, kind, s,
                                                                        now))], now)
        except IntegrityError:
            continue  # another clock sent it a moment ago


def _reminder(db, loaded, kind: str, s, now: datetime) -> str:
    tz, config = loaded.config.program.timezone, loaded.config
    whole = [x for x in shifts(loaded.schedule, s.start, s.start + LONGEST_SHIFT, s.peer)
             if x.rotation == s.rotation and x.start == s.start]
    until = when(whole[0].end, tz, now) if whole else "further notice"
    if kind == "before":
        return (f"Peer line reminder: you are on call for {s.rotation} from "
                f"{when(s.start, tz, now)} until {until}. Can't make it? Tell a coordinator "
                "now, and text OFF when it starts. REMIND OFF stops these.")
    text = f"Peer line: you are on call for {s.rotation} until {until}"
    if config.reminders.handoff:
        total = db.scalar(select(func.count()).select_from(Conversation)) or 0
        waiting = db.scalar(select(func.count()).select_from(Conversation)
                            .where(Conversation.owner.is_(None))) or 0
        held = total - waiting
        text += (f"; {held} conversation{'s are' if held != 1 else ' is'} open and will stay "
                 f"with {'their peers' if held != 1 else 'its peer'}")
        if waiting:
            text += f", {waiting} waiting for a peer"
    text += "."
    away = state.current(db, s.peer, now)
    if away is not None:
        text += (" The line has you away until "
                 + ("you text ON" if away.until is None else when(away.until, tz, now))
                 + ": text ON to take contacts.")
    return text


def gap_summary(app, loaded, now: datetime) -> None:
    """The coordinators' weekly text: holes in the coming weeks, or that there are none."""
    r, tz = loaded.config.reminders, loaded.config.program.timezone
    if r.gap_summary is None:
        return
    weekday, at = r.gap_summary
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    due_at = localize(datetime.combine(day, at), tz)
    if due_at > now:
        due_at = localize(datetime.combine(day - timedelta(days=7), at), tz)
    if not due_at <= now < due_at + SUMMARY_GRACE:
        return
    try:
        with _sessions(app)() as db, db.begin():
            db.add(ReminderSent(peer_id=COORDINATORS, rotation="*", shift_start=due_at,
                                kind="gaps", sent_at=now))
            db.flush()
            end = localize(local.replace(tzinfo=None) + timedelta(weeks=r.weeks), tz)
            holes = [g for g in coverage_gaps(loaded.schedule, now, end, state.away(db, now))
                     if not g.designed]
            body = summary(holes, r.weeks, tz, now)
            queue_background(app, db, [Text(c.phone, body)
                                       for c in coordinators(loaded.config)], now)
    except IntegrityError:
        return  # this week's summary has gone already


def summary(holes, weeks: int, tz, now: datetime) -> str:
    if not holes:
        return f"Peer line, next {weeks} weeks: no holes; every step has someone new to ring."
    parts = [f"Peer line, next {weeks} weeks: {len(holes)} hole{'s' if len(holes) > 1 else ''}."]
    for g in holes[:SUMMARY_LISTED]:
        parts.append(f"Step {g.step} {when(g.start, tz, now)} to {when(g.end, tz, now)}: "
                     f"{g.detail}.")
    if len(holes) > SUMMARY_LISTED:
        parts.append(f"And {len(holes) - SUMMARY_LISTED} more:")
    parts.append("hotline schedule lists them all.")
    return " ".join(parts)
