"""A peer's availability texts: OFF, ON, BUSY, STATUS, WHO, REMIND.

Called by text/peer_commands.py before its own commands; returns None when the
text is not one of these, so everything else reads as before. Replies name
people and rotations, never a number or anything a texter wrote. Stepping out
never takes a conversation away from its peer (PASS does that); it only keeps
new contacts from reaching them, and if it leaves a step with nobody, the peer is
told and the coordinators are texted at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.availability import state
from hotline.rotation import availability as words
from hotline.rotation.gaps import coverage_gaps, empty_steps
from hotline.rotation.model import CLINICAL_DIRECTOR, Config, Person
from hotline.rotation.shifts import shifts
from hotline.routing import step_number
from hotline.store import Conversation
from hotline.text import conversations as tx
from hotline.text.outbox import Text

# An OFF without an end is checked for holes this far ahead (it could last longer).
OPEN_ENDED_LOOKAHEAD = timedelta(days=7)
NOT_A_PEER = ("OFF, ON, BUSY and REMIND are for peers on the rotation, and this number is "
              "not one, so nothing changed. To talk with a peer, text us in your own words.")


def handle(db, loaded, person: Person, body: str, now: datetime, out: list[Text],
           replies: list[str]) -> bool | None:
    """Answer an availability text; None when the text is not one."""
    config = loaded.config
    cmd = words.parse(body, now, config.program.timezone)
    if cmd is None:
        return None
    if isinstance(cmd, words.Refused):
        replies.append(cmd.reason)
        return True
    if isinstance(cmd, words.Word) and cmd.word == "who":
        replies.append(who(loaded, state.away(db, now), now))
        return True
    if person.id == CLINICAL_DIRECTOR:
        if isinstance(cmd, words.Word) and cmd.word == "status":
            replies.append("You are the last step: every contact no peer takes reaches you. "
                           + _open_line(db, person))
        else:
            replies.append("The clinical director cannot step out by text: you are the "
                           "line's last person. A coordinator can change the rotation file.")
        return True
    if isinstance(cmd, words.Away):
        step_out(db, loaded, person, cmd, now, out, replies)
    elif cmd.word == "on":
        back_on(db, loaded, person, now, out, replies, said_on=True)
    elif cmd.word == "status":
        replies.append(status(db, loaded, person, now))
    else:
        on = cmd.word == "remind on"
        state.set_reminders(db, person.id, on, now)
        replies.append("Shift reminders are on." if on else
                       "Shift reminders are off. REMIND ON starts them again.")
    return True


def step_out(db, loaded, person: Person, cmd: words.Away, now: datetime, out: list[Text],
             replies: list[str]) -> None:
    config, tz = loaded.config, loaded.config.program.timezone
    before = state.away(db, now)
    before.pop(person.id, None)  # a new OFF replaces their old one
    after = {**before, person.id: cmd.until}
    state.step_out(db, person.id, cmd.kind, cmd.until and cmd.until.astimezone(tz), now)
    said = words.describe(cmd.kind, cmd.until, tz, now)
    text = f"You are {said}. New contacts skip you."
    mine = _mine(db, person)
    if mine:
        codes = ", ".join(f"#{c.code}" for c in mine)
        verb = "stays" if len(mine) == 1 else "stay"
        text += f" Your open {codes} {verb} yours (PASS hands one on)."
    if cmd.until is None or cmd.kind == "off":
        text += " Text ON when you are back."
    hole = _new_hole(loaded, now, cmd.until, before, after)
    if hole is not None:
        when = "now" if hole.start <= now else f"from {words.when(hole.start, tz, now)}"
        text += f" Step {hole.step} has nobody {when}; the coordinators have been told."
        alert = (f"Peer line: {person.name} is {said}, so step {hole.step} has nobody {when} "
                 f"({_step_names(config, hole.step)}). Contacts go on to the next step.")
        for c in coordinators(config):
            out.append(Text(c.phone, alert))
    replies.append(text)
    _move_on_waiting(db, person, now)


def _new_hole(loaded, now, until, before, after):
    """The first stretch this step-out empties a step that was not empty before."""
    end = until or now + OPEN_ENDED_LOOKAHEAD
    for gap in coverage_gaps(loaded.schedule, now, end, after):
        if gap.designed:
            continue
        was = empty_steps(loaded.schedule, gap.start, before).get(gap.step)
        if was is None or was.designed:
            return gap
    return None


def _move_on_waiting(db, person: Person, now: datetime) -> None:
    """A text waiting on this peer's YES, with everyone told at its step now away, moves to
    the next step at the clock's next poll rather than wait out the step's time."""
    gone = state.away_ids(db, now) | {person.id}
    for conv in db.scalars(select(Conversation).where(Conversation.owner.is_(None),
                                                      Conversation.escalate_at.is_not(None))):
        told = set(tx.notified(conv, current_only=True)) - set(conv.alerted)
        if person.id in told and told <= gone:
            conv.escalate_at = now


def back_on(db, loaded, person: Person, now: datetime, out: list[Text], replies: list[str],
            said_on: bool) -> None:
    """ON, or the clock at the end of an OFF: back, and told what is waiting. Coordinators
    who heard a step was empty hear it has someone again."""
    others = state.away(db, now)
    others.pop(person.id, None)
    was = state.step_in(db, person.id, now) if said_on else True
    if said_on:
        replies.append("You are ON: new contacts can reach you again." if was else
                       "You were not off: contacts reach you whenever you are on call.")
    else:
        out.append(Text(person.phone, "Peer line: your time off is over; you are ON again. "
                        "Text OFF if you still need to step out."))
    if was:
        _offer_waiting(db, loaded, person, now, out)
        _all_clear(loaded, person, now, others, out)


def _all_clear(loaded, person: Person, now: datetime, others: dict, out: list[Text]) -> None:
    empty_while_away = empty_steps(loaded.schedule, now, {**others, person.id: None})
    empty_now = empty_steps(loaded.schedule, now, others)
    filled = [n for n, g in sorted(empty_while_away.items())
              if not g.designed and n not in empty_now]
    if filled:
        steps = " and ".join(f"step {n}" for n in filled)
        for c in coordinators(loaded.config):
            out.append(Text(c.phone, f"Peer line: {person.name} is back ON; {steps} has "
                            "someone again."))


def _offer_waiting(db, loaded, person: Person, now: datetime, out: list[Text]) -> None:
    """A text still waiting for a peer reaches one who is on call now and was skipped
    while away: told like a late step, so their YES takes it."""
    steps = [plan.number for plan in loaded.schedule.plan(now)
             if any(r.person.id == person.id for r in plan.reach)]
    if not steps:
        return
    for conv in db.scalars(select(Conversation).where(Conversation.owner.is_(None))
                           .order_by(Conversation.id)):
        reached = conv.gave_up or step_number(loaded.config, conv.attempt) >= min(steps)
        if person.id in tx.notified(conv) or not reached:
            continue  # told already, or its escalation has not come to her step yet
        conv.alerted = conv.alerted + [person.id]
        minutes = max(1, int((now - conv.started_at).total_seconds() // 60))
        notice = (f"Peer line #{conv.code}: an officer has waited {minutes} min for a peer. "
                  f"Reply YES to take #{conv.code}")
        out.append(Text(person.phone, ("URGENT " if conv.urgent else "") + notice,
                        urgent=conv.urgent, conversation_id=conv.id))


def status(db, loaded, person: Person, now: datetime) -> str:
    tz = loaded.config.program.timezone
    row = state.current(db, person.id, now)
    parts = ["You are " + (words.describe(row.kind, row.until, tz, now) if row else "ON") + "."]
    ahead = shifts(loaded.schedule, now, now + timedelta(weeks=8), person.id)
    current = [s for s in ahead if s.start <= now]
    if current:
        parts.append("On call now: " + ", ".join(
            f"{s.rotation} until {words.when(s.end, tz, now)}" for s in current) + ".")
    else:
        parts.append("Not on call now.")
    later = [s for s in ahead if s.start > now]
    if later:
        parts.append(f"Next: {later[0].rotation} from {words.when(later[0].start, tz, now)}.")
    parts.append(_open_line(db, person))
    parts.append("Reminders " + ("on." if state.reminders_on(db, person.id) else "off."))
    return " ".join(parts)


def who(loaded, away: dict, now: datetime) -> str:
    """Who each step reaches now: names only, and who of them has stepped out."""
    config, tz = loaded.config, loaded.config.program.timezone
    lines = []
    for number, step in enumerate(config.escalation.steps, start=1):
        names = []
        for reach in loaded.schedule.step_reach(step, now):
            pid = reach.person.id
            note = ""
            if pid in away:
                note = " (" + ("OFF until ON" if away[pid] is None
                               else f"away until {words.when(away[pid], tz, now)}") + ")"
            names.append(reach.person.name + note)
        lines.append(f"{number} {_step_names(config, number)}: " + (", ".join(names) or "nobody"))
    return "On call now: " + "; ".join(lines) + "."


def _mine(db, person: Person) -> list[Conversation]:
    return list(db.scalars(select(Conversation).where(Conversation.owner == person.id)
                           .order_by(Conversation.code)))


def _open_line(db, person: Person) -> str:
    mine = _mine(db, person)
    if not mine:
        return "You have no open conversations."
    return "Yours open: " + ", ".join(f"#{c.code}" for c in mine) + "."


def _step_names(config: Config, number: int) -> str:
    notify = config.escalation.steps[number - 1].notify
    return " + ".join("clinical director" if n == CLINICAL_DIRECTOR else n for n in notify)


def coordinators(config: Config) -> tuple[Person, ...]:
    return config.coordinators or (config.clinical_director,)


def is_command(loaded, body: str, now: datetime) -> bool:
    return words.parse(body, now, loaded.config.program.timezone) is not None


def not_a_peer(loaded, body: str, now: datetime) -> str | None:
    """The reply to OFF, ON, BUSY or REMIND from a number not in the rotation (a
    coordinator, a peer's other phone), which then opens no conversation; None for
    anything else, which is a texter's message like any other."""
    cmd = words.parse(body, now, loaded.config.program.timezone)
    if isinstance(cmd, (words.Away, words.Refused)) or (
            isinstance(cmd, words.Word) and cmd.word in ("on", "remind on", "remind off")):
        return NOT_A_PEER
    return None
