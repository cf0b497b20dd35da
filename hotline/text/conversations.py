"""Text conversations: open, notify a step, take, relay, escalate, close.

Shared by the webhooks (hotline/text/webhooks.py) and the clock (hotline/clock.py).
Functions here only change rows and append outgoing texts to a list; the
caller sends that list with `deliver` once its transaction has committed, so
nothing is sent for a decision that rolled back and no lock is held while
Twilio answers.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import (bindparam, case, delete, exists, func, insert, literal_column,
                        select)
from sqlalchemy.orm import aliased, make_transient_to_detached, object_session

from hotline.callout.service import unreachable
from hotline.paging import pages
from hotline.availability import state as availability
from hotline.rotation.model import CLINICAL_DIRECTOR, Config
from hotline.routing import Contact, GiveUp, next_ring, step_number
from hotline.text import texter_menu, undelivered
from hotline.text.outbox import OPTED_OUT, Text, send_all
from hotline.crypto import CONVERSATION
from hotline.records import shredding
from hotline.records.stats import length_bucket
from hotline.store import Conversation, Notice, Page, StatEvent, skip_clashes

log = logging.getLogger(__name__)

# The whole first message goes in the notice: the peer deciding to take it must see what
# the officer wrote, and it is not stored to show later. Cut only near Twilio's 1,600.
NOTICE_PREVIEW = 1400


# Twilio refuses a body over 1,600 characters (error 21617): longer texts go in parts.
LIMIT = 1600


def pieces(prefix: str, body: str, suffix: str = "", limit: int = LIMIT) -> list[str]:
    """prefix + body + suffix as texts of at most `limit` characters: one when it fits,
    else the body cut at spaces into parts marked (1/3), (2/3), ... each with the prefix;
    the suffix (the "reply YES" of a notice) goes on the last."""
    whole = prefix + body + suffix
    if len(whole) <= limit:
        return [whole]
    room = limit - len(prefix) - len(suffix) - len("(99/99) ")
    chunks, rest = [], body.strip()
    while rest:
        if len(rest) <= room:
            chunks.append(rest)
            break
        cut = rest.rfind(" ", room // 2, room + 1)
        cut = cut if cut > 0 else room  # one long word: cut it
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    n = len(chunks)
    return [f"{prefix}({i}/{n}) {chunk}" + (suffix if i == n else "")
            for i, chunk in enumerate(chunks, start=1)]


def vault(app):
    return app.extensions["hotline.vault"]


def short(body: str, limit: int = NOTICE_PREVIEW) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def is_urgent(config: Config, body: str) -> bool:
    """Whole words or phrases only, so "gunnery" or "legend it" do not trip it."""
    phrases = config.sms.urgent_phrases
    return bool(phrases) and _urgent_words(phrases).search(body) is not None


@lru_cache(maxsize=8)
def _urgent_words(phrases: tuple[str, ...]) -> re.Pattern:
    """One pattern for the rotation's phrases, compiled once per list, not per text."""
    return re.compile("|".join(r"(?<!\w)" + re.escape(p) + r"(?!\w)" for p in phrases),
                      re.IGNORECASE)


# Built once, as the statements below: every text runs them, and building and caching a
# statement per text cost more than running it (docs/benchmarks.md).
_BY_TAGS = select(Conversation).where(
    Conversation.texter_hash.in_(bindparam("tags", expanding=True)))


def find_open(db, app, number: str) -> Conversation | None:
    # Around a lookup-key change (records/shredding.py) a tag may be under either key.
    return db.scalar(_BY_TAGS, {"tags": vault(app).lookups(number)})


def texter_of(app, conv: Conversation) -> str:
    return vault(app).open(conv.texter_enc)


def notified(conv: Conversation, current_only: bool = False) -> list[str]:
    """Person ids told about this conversation (the current step's only, if asked)."""
    ids = [pid for a, pid in conv.tried if not current_only or a == conv.attempt]
    ids += list(conv.alerted)
    return list(dict.fromkeys(ids))


# Names "conversation code N" among PostgreSQL's advisory locks (any constant will do).
CODE_LOCK = 0x686F746C
CODE_TRIES = 20
# The smallest code no open conversation holds and no other transaction is claiming
# right now: a code another webhook is inserting (not yet committed, so invisible) is
# skipped rather than waited for, so simultaneous first texts never queue behind one
# another. The per-code lock lasts until this transaction ends. Codes are tried in
# order and the scan stops at the first free one.
# The smallest free code is at most one more than the number of open conversations
# and of codes being claimed at this moment: the series stops there, since PostgreSQL
# builds a function's rows before it scans them.
# The CASE makes the lock the last thing tried for each code: in a plain AND the planner
# may evaluate the cheap lock call first, and each transaction would then hold the
# claim on every taken code it passed, crowding out every webhook alongside it.
# When every one of those is taken or being claimed (advisory locks are per database:
# anything else on the server using the same keys counts), a code past them, picked at
# random so two such webhooks seldom meet: never NULL, which would refuse the texter.
PG_FREE_CODE = ("COALESCE((SELECT s FROM generate_series(1, "
                "(SELECT count(*)::int FROM conversations) + 64)"
                " AS s WHERE CASE WHEN EXISTS "
                "(SELECT 1 FROM conversations c WHERE c.code = s) THEN false "
                f"ELSE pg_try_advisory_xact_lock({CODE_LOCK}, s) END LIMIT 1), "
                "(SELECT COALESCE(MAX(code), 0) FROM conversations) + 65 "
                "+ floor(random() * 1000)::int)")


def free_code():
    """SQL for the smallest free code, so peers type short ones; no list of codes is
    read into Python. SQLite has one writer at a time: the first gap will do."""
    c, d = aliased(Conversation), aliased(Conversation)
    gap = select(func.min(c.code + 1)).where(~exists().where(d.code == c.code + 1))
    return select(case((~exists().where(Conversation.code == 1), 1),
                       else_=gap.scalar_subquery())).scalar_subquery()


def insert_with_code(db, fields: dict) -> Conversation:
    """Insert an open conversation with the smallest free code, in one statement and
    without a global lock. A clash on the number itself (the same new number texting
    twice at once) raises IntegrityError, and the webhook's retry finds it open."""
    if db.get_bind().dialect.name != "postgresql":
        return _as_loaded(db, db.execute(_INSERT_FIRST_GAP, fields).one())
    for _ in range(CODE_TRIES):
        # A code committed by another webhook just after this statement's snapshot
        # looks free and unlocked: the insert then writes nothing, and the next
        # statement (a new snapshot) sees it taken.
        row = db.execute(_INSERT_PG, fields).first()
        if row is not None:
            return _as_loaded(db, row)
    raise RuntimeError("no free conversation code after several tries")


def _as_loaded(db, row) -> Conversation:
    """The row just inserted as the session's object, as though a query had loaded it:
    a core INSERT ... RETURNING and this cost a new text about 0.2 ms less of the web
    worker's CPU than the ORM's INSERT ... RETURNING of the entity (a quarter of the
    insert's cost; docs/benchmarks.md). Later changes to it are flushed as usual."""
    conv = Conversation(**row._mapping)
    make_transient_to_detached(conv)  # its attributes are the row's, with no changes
    db.add(conv)
    return conv


_CONVERSATIONS = Conversation.__table__
_INSERT_FIRST_GAP = insert(_CONVERSATIONS).values(code=free_code()).returning(*_CONVERSATIONS.c)
_INSERT_PG = skip_clashes(insert(_CONVERSATIONS).values(code=literal_column(PG_FREE_CODE))
                          .returning(*_CONVERSATIONS.c), "(code)")


def open_conversation(app, db, loaded, number: str, body: str, now: datetime,
                      out: list[Text], choice: texter_menu.Choice | None = None,
                      first_attempt: int = 0) -> Conversation:
    config = loaded.config
    preference = asked_for = None
    if choice is not None:  # the first text was a menu choice, WORRIED or ASK <name>
        preference, asked_for = texter_menu.chosen(config, choice)
        body = choice.rest or texter_menu.NOTHING_WRITTEN
    urgent = is_urgent(config, body)
    # CLINICIAN asks for the clinical on-call round first; a menu choice, its preference round.
    first = first_attempt or texter_menu.first_attempt_of(config, preference, asked_for)
    # Decided before the row is written, so the row goes in whole: no UPDATE follows.
    decision = _decide(loaded, now, [], preference, asked_for, number, first,
                       availability.unavailable(db, config, now), now)
    # Its own key, destroyed at close: no copy of this row can be read after that.
    _, seal = vault(app).new_sealer(CONVERSATION)
    conv = insert_with_code(db, dict(
        texter_hash=vault(app).lookup(number), texter_enc=seal(number),
        alerted=[], urgent=urgent, closed=False, started_at=now, last_activity_at=now,
        preference=preference, asked_for=asked_for,
        **{"attempt": 0, "tried": [], "gave_up": False, **_state_after(decision, [], now)}))
    c = conv.code
    _tell_step(config, conv, decision, number, out,
               notice=f"Peer line #{c}: {short(body)} - reply YES to take #{c}", now=now)
    if urgent:
        alert_director(app, db, loaded, conv, number, body, now, out)
    return conv


def advance(app, loaded, conv: Conversation, texter: str, now: datetime, out: list[Text],
            next_attempt: int, notice: str | None = None, busy: frozenset = frozenset()) -> None:
    """Notify the next escalation step, or send the texter the fallback."""
    # A peer who stepped out (OFF, BUSY) is skipped exactly like one passed over here, and
    # so is one who said YES to a callout, if the file says so.
    busy = busy | availability.unavailable(object_session(conv), loaded.config, now)
    decision = _decide(loaded, conv.started_at, conv.tried, conv.preference, conv.asked_for,
                       texter, next_attempt, busy, now)
    tell_fallback = isinstance(decision, GiveUp) and not conv.gave_up
    for name, value in _state_after(decision, conv.tried, now).items():
        setattr(conv, name, value)
    _tell_step(loaded.config, conv, decision, texter, out, notice, now,
               tell_fallback=tell_fallback)


def _decide(loaded, started_at: datetime, tried: list, preference: str | None,
            asked_for: str | None, texter: str, next_attempt: int, busy: frozenset,
            now: datetime):
    config = loaded.config
    contact = Contact(started_at=started_at, caller=texter, next_attempt=next_attempt,
                      tried=tuple((a, p) for a, p in tried), deadline=None,
                      preference=texter_menu.option_for(config, preference),
                      asked_for=asked_for)
    return next_ring(config, loaded.schedule, contact, busy, now)


def _state_after(decision, tried: list, now: datetime) -> dict:
    """The escalation fields `decision` changes: no timer and the fallback sent, or the
    step notified and its timer set."""
    if isinstance(decision, GiveUp):
        return {"escalate_at": None, "gave_up": True}
    return {"attempt": decision.attempt, "escalate_at": now + decision.wait,
            "tried": tried + [[decision.attempt, p.id] for p in decision.people]}


def _tell_step(config: Config, conv: Conversation, decision, texter: str, out: list[Text],
               notice: str | None, now: datetime, tell_fallback: bool = True) -> None:
    """The texts `decision` sends: the step's notices, or the texter's fallback."""
    c = conv.code
    if isinstance(decision, GiveUp):
        if tell_fallback:
            out.append(Text(texter, config.sms.fallback, urgent=conv.urgent,
                            conversation_id=conv.id, to_texter=True))
        log.info("text #%s reached the fallback (%s)", c, decision.reason)
        return
    if notice is None:
        minutes = max(1, int((now - conv.started_at).total_seconds() // 60))
        notice = (f"Peer line #{c}: an officer has waited {minutes} min for a peer. "
                  f"Reply YES to take #{c}")
    if conv.urgent:
        notice = "URGENT " + notice
    option = texter_menu.option_for(config, conv.preference)
    for p in decision.people:  # each peer's notice says what the texter asked for
        out.append(Text(p.phone, texter_menu.tagged(notice, c, option, conv.asked_for, p.id),
                        urgent=conv.urgent, conversation_id=conv.id, peer_id=p.id,
                        attempt=decision.attempt))


def alert_director(app, db, loaded, conv: Conversation, texter: str, body: str,
                   now: datetime, out: list[Text]) -> None:
    """Urgent triage: the clinician on call is paged at once (a call and a text, repeated
    until somebody presses 1), beside the peers. The name is kept for the callers that
    grew up with it; with no clinicians listed it is the clinical director who is paged."""
    pages.raise_page(app, db, loaded, conv, pages.URGENT_WORDS, "texter", short(body), texter,
                     now, out)


def tell(config: Config, ids, text: str | list[str], conv: Conversation,
         out: list[Text]) -> None:
    """The same text (or the parts of a long one, in order) to each of these people."""
    for pid in dict.fromkeys(ids):
        for part in [text] if isinstance(text, str) else text:
            out.append(Text(config.person(pid).phone, part, urgent=conv.urgent,
                            conversation_id=conv.id))


def close(app, db, loaded, conv: Conversation, out: list[Text], texter_note: str | None,
          delete_row: bool = True) -> None:
    """Write the anonymous statistic and forget the number for good. The clock
    deletes the row itself (its claim) and passes delete_row=False."""
    if texter_note:
        out.append(Text(texter_of(app, conv), texter_note, conversation_id=conv.id,
                        to_texter=True))
    db.add(stat_event(loaded.config, conv))
    shredding.forget_after_commit(app, db, conv)
    db.execute(delete(Notice).where(Notice.conversation_id == conv.id))
    db.execute(delete(Page).where(Page.conversation_id == conv.id))  # its pages end with it
    if delete_row:
        db.delete(conv)


def stat_event(config: Config, conv: Conversation) -> StatEvent:
    local = conv.started_at.astimezone(config.program.timezone)
    if conv.owner:
        outcome = "clinical_director" if conv.owner == CLINICAL_DIRECTOR else "peer"
        seconds = int((conv.accepted_at - conv.started_at).total_seconds())
    else:
        outcome, seconds = ("fallback" if conv.gave_up else "abandoned"), None
    return StatEvent(hour=local.replace(minute=0, second=0, microsecond=0), channel="text",
                     preference=conv.preference, outcome=outcome,
                     reason=texter_menu.reason(config, conv.preference, conv.asked_for),
                     step=conv.accepted_step if conv.owner else None,
                     seconds_to_human=seconds, urgent=conv.urgent,
                     escalations=max(0, len({a for a, _ in conv.tried}) - 1),
                     # From acceptance to the last message: how long they talked.
                     length=length_bucket((conv.last_activity_at - conv.accepted_at)
                                          .total_seconds()) if conv.owner else None)


def accepted_step(config: Config, conv: Conversation, person_id: str) -> int:
    attempts = [a for a, pid in conv.tried if pid == person_id]
    return step_number(config, max(attempts) if attempts else conv.attempt)


def deliver(app, texts: list[Text], now: datetime) -> None:
    """Send after commit; what Twilio refuses for good is reported (report_refused)."""
    if not texts:
        return
    program = app.extensions["hotline.rotation"].current().config.program.number
    report_refused(app, send_all(app, program, texts, now), now)


def report_refused(app, refused: list[tuple[Text, int | None]], now: datetime) -> None:
    """A recipient who opted out (21610) is reported to the people who would otherwise
    wait for an answer that cannot come; a texter's words that will never reach their
    peer (too long, a bad number, the peer's STOP) are reported to both
    (text/undelivered.py). The notes are not reported again if refused: no loop."""
    report_opt_outs(app, [t for t, code in refused if code == OPTED_OUT], now)
    notes = undelivered.notes_for_refused(app, [t for t, _ in refused])
    if notes:
        send_all(app, app.extensions["hotline.rotation"].current().config.program.number,
                 notes, now)


def report_opt_outs(app, refused: list[Text], now: datetime) -> None:
    if not refused:
        return
    loaded = app.extensions["hotline.rotation"].current()
    notes: list[Text] = []
    for t in refused:
        if not t.to_texter or t.conversation_id is None:
            log.warning("a peer's phone has opted out of the program number (error %s)",
                        OPTED_OUT)
            if t.callout_id is not None and t.peer_id:  # a callout's text: phone them now
                with app.extensions["hotline.sessions"]() as db, db.begin():
                    unreachable(db, t.callout_id, t.peer_id, None, now, call_now=True,
                                every=loaded.config.callout.tally_every)
            continue
        with app.extensions["hotline.sessions"]() as db:
            conv = db.get(Conversation, t.conversation_id)
            if conv is not None:
                ids = [conv.owner] if conv.owner else notified(conv, current_only=True)
                tell(loaded.config, ids, f"#{conv.code}: the texter has opted out (STOP); "
                     "texts cannot reach them until they text START.", conv, notes)
    if notes:  # their own opt-outs are not reported again: no loop
        send_all(app, loaded.config.program.number, notes, now)
