"""Pages to clinicians: raise, send, acknowledge, fail, re-page on the clock.

Functions here change rows and append what to send to `out` (texts, and the page
calls as outbox Bridges); the caller stages and sends after commit, as the text line
does, so a page decided in a transaction that rolled back is never sent. Every page
sent, acknowledged or left unacknowledged is in the audit trail: who was paged and
why, never which conversation, a number or a message.
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from sqlalchemy import delete, select, update

from hotline.paging.plan import NobodyAcknowledged, next_page
from hotline.records import audit
from hotline.rotation.model import CLINICAL_DIRECTOR, Config
from hotline.store import Call, Conversation, Page
from hotline.text.outbox import Bridge, Text, stage

log = logging.getLogger(__name__)

# Outbox/Notice `attempt` of a page text: its delivery report is read here, not by the
# escalation (whose attempts count from 0; the clinician round is -3).
PAGE_ATTEMPT = -1
URGENT_WORDS, PEER_URGENT, CALL_URGENT = "urgent_words", "peer_urgent", "call_urgent"
WHY = {URGENT_WORDS: "the texter's words were urgent", PEER_URGENT: "a peer raised urgency",
       CALL_URGENT: "a peer raised urgency on a call"}
BATCH = 100


def open_page(db, conv: Conversation) -> Page | None:
    """The page still waiting for an acknowledgement, if any."""
    return db.scalar(select(Page).where(Page.conversation_id == conv.id,
                                        Page.acknowledged_by.is_(None),
                                        Page.gave_up.is_(False)).limit(1))


def raise_page(app, db, loaded, conv: Conversation, reason: str, raised_by: str,
               context: str, texter: str | None, now: datetime, out: list) -> Page | None:
    """Page the clinician on call about `conv`, unless a clinician already has it, a page
    is running, or one was acknowledged (a second reason does not page twice)."""
    config = loaded.config
    if conv.owner and config.is_clinical(conv.owner):
        return None
    # Two webhooks raising a page for one conversation at once (urgent words and a peer's
    # URGENT) take turns on the conversation's row, so the second sees the first's page.
    # A query, not a refresh: it flushes this transaction's changes instead of losing them.
    db.execute(select(Conversation.id).where(Conversation.id == conv.id).with_for_update())
    running = db.scalar(select(Page).where(Page.conversation_id == conv.id,
                                           Page.gave_up.is_(False)).limit(1))
    if running is not None:
        return running
    # Never page somebody on the phone that is texting in (a clinician in crisis).
    chain = [p.id for p in loaded.schedule.clinical_chain(now) if p.phone != texter]
    page = Page(conversation_id=conv.id, reason=reason, raised_by=raised_by, chain=chain,
                position=0, tries=0, started_at=now, gave_up=False)
    db.add(page)
    db.flush()
    _advance(app, db, config, page, conv, context, now, out)
    return page


def _advance(app, db, config: Config, page: Page, conv: Conversation, context: str,
             now: datetime, out: list) -> None:
    decision = next_page(config.clinical, tuple(page.chain), page.position, page.tries, now)
    # Somebody taken out of the rotation file since the page began is passed over.
    while not isinstance(decision, NobodyAcknowledged) and not _known(config, decision.person):
        decision = next_page(config.clinical, tuple(page.chain), decision.position,
                             config.clinical.page_times, now)
    if isinstance(decision, NobodyAcknowledged):
        _nobody(db, config, page, conv, now, out)
        return
    page.position, page.tries, page.next_at = decision.position, decision.tries, decision.due
    person = config.person(decision.person)
    if person.id not in conv.alerted and person.id != conv.owner:
        conv.alerted = conv.alerted + [person.id]  # may now YES, ACK or be told "taken"
    c, title = conv.code, config.clinical.title
    state = f"{config.person(conv.owner).name} has it" if conv.owner else f"reply YES to take #{c}"
    body = f"URGENT peer line #{c}: {context} - {state}."
    if person.id == CLINICAL_DIRECTOR:
        body += f" REVEAL #{c} if a welfare check is needed."
    body += f" The line needs its {title} now: answer our call and press 1, or text ACK {c}."
    out.append(Text(person.phone, body, urgent=True, conversation_id=conv.id,
                    peer_id=person.id, attempt=PAGE_ATTEMPT))
    query = urlencode({"page": page.id, "try": page.tries, "who": person.id})
    out.append(Bridge(person.phone, _url(app, "/paging/answer?" + query),
                      status_callback=_url(app, "/paging/status?" + query),
                      on_failure=partial(page_failed, page_id=page.id, tries=page.tries)))
    audit.record(db, now, audit.PAGE_SENT, person.id,
                 f"{WHY.get(page.reason, page.reason)}; page {page.tries} of "
                 f"{config.clinical.page_times} to them")


def _known(config: Config, ident: str) -> bool:
    try:
        config.person(ident)
    except KeyError:
        return False
    return True


def _url(app, path: str) -> str:
    base = app.config.get("HOTLINE_PUBLIC_URL")
    if not base:
        from flask import has_request_context, request
        base = request.url_root if has_request_context() else "http://localhost"
    return base.rstrip("/") + path


def _nobody(db, config: Config, page: Page, conv: Conversation, now: datetime,
            out: list) -> None:
    """The fallback: the director and every clinician (the coordinators, in the team
    coordinator model) hear that nobody acknowledged; the peer with the conversation is
    told to use 911/988. The texter already has 911/988 from the urgent reply."""
    page.gave_up, page.next_at = True, None
    c, title = conv.code, config.clinical.title
    audit.record(db, now, audit.PAGE_UNANSWERED, "line",
                 f"{WHY.get(page.reason, page.reason)}; nobody acknowledged")
    # The chain is the director and every clinician, less a texter among them.
    for person in (config.person(pid) for pid in page.chain if _known(config, pid)):
        out.append(Text(person.phone, f"Peer line: NOBODY acknowledged the urgent page for "
                        f"#{c}. Text ACK {c} to take it on, or call the line.", urgent=True,
                        conversation_id=conv.id))
    for pid in dict.fromkeys(p for p in (conv.owner, page.raised_by) if p in config.peers):
        out.append(Text(config.person(pid).phone, f"#{c}: the {title} could not be reached. "
                        "If the officer is in danger now, call 911; 988 takes calls and "
                        "texts any time.", urgent=True, conversation_id=conv.id))


def acknowledge(app, db, loaded, page: Page, person_id: str, now: datetime,
                out: list) -> str | None:
    """`person_id` takes the page: first one wins. They join the conversation (its
    messages reach them from now on). Returns what to tell them, or None when somebody
    else acknowledged first."""
    won = db.execute(update(Page).where(Page.id == page.id, Page.acknowledged_by.is_(None))
                     .values(acknowledged_by=person_id, acknowledged_at=now, next_at=None)
                     .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        return None
    db.refresh(page)
    config = loaded.config
    conv = db.get(Conversation, page.conversation_id)
    minutes = int((now - page.started_at).total_seconds() // 60)
    audit.record(db, now, audit.PAGE_ACKNOWLEDGED, person_id,
                 f"{WHY.get(page.reason, page.reason)}; after {minutes} min")
    if conv is None:
        return "Thank you. That conversation has already closed."
    name, c = config.person(person_id).name, conv.code
    if conv.owner and conv.owner != person_id:
        conv.consultant = person_id
        out.append(Text(config.person(conv.owner).phone, f"#{c}: {name} ({config.clinical.title}) "
                        "acknowledged and now sees this conversation.", urgent=True,
                        conversation_id=conv.id))
        return (f"Thank you. You are in conversation {c}: its messages come to you by text "
                f"from now on. Text \"#{c} your words\" to write to the texter, or "
                f"\"PEER {c} your words\" to write to the peer only.")
    if conv.owner == person_id:
        return f"Thank you. You have #{c}."
    return f"Thank you. Nobody has taken conversation {c} yet: text YES {c} to take it."


def acknowledge_by_text(app, db, loaded, conv: Conversation, person_id: str,
                        now: datetime, out: list) -> str | None:
    """A paged person acts on the conversation by text (ACK, YES): that acknowledges."""
    page = open_page(db, conv) or db.scalar(select(Page).where(
        Page.conversation_id == conv.id, Page.acknowledged_by.is_(None)).limit(1))
    if page is None or person_id not in page.chain:
        return None
    return acknowledge(app, db, loaded, page, person_id, now, out)


def page_failed(app, now: datetime, page_id: int, tries: int) -> None:
    """A page that cannot have reached its person: decide again at once."""
    with app.extensions["hotline.sessions"]() as db, db.begin():
        mark_failed(db, page_id, tries, now)


def mark_failed(db, page_id: int, tries: int, now: datetime) -> None:
    # Only the page as it stands: a late report about an earlier page changes nothing.
    db.execute(update(Page).where(Page.id == page_id, Page.tries == tries,
                                  Page.acknowledged_by.is_(None), Page.next_at.is_not(None))
               .values(next_at=now).execution_options(synchronize_session=False))


def text_failed(db, conversation_id: int, person_id: str, now: datetime) -> None:
    """A page text reported undelivered or failed."""
    for page in db.scalars(select(Page).where(Page.conversation_id == conversation_id,
                                              Page.acknowledged_by.is_(None),
                                              Page.next_at.is_not(None))):
        if page.chain[page.position] == person_id:
            mark_failed(db, page.id, page.tries, now)


def repage_due(app, now: datetime) -> list:
    """Clock: every page whose time is up is paged again, moved on, or given up. The
    claim is a conditional UPDATE on next_at, so two clocks cannot both act."""
    sessions = app.extensions["hotline.sessions"]
    with sessions() as db:
        due = db.execute(select(Page.id, Page.next_at).where(Page.next_at <= now)
                         .order_by(Page.next_at).limit(BATCH)).all()
    loaded = app.extensions["hotline.rotation"].current()
    sent = []
    for page_id, seen in due:
        try:
            sent += _repage_one(app, sessions, loaded, page_id, seen, now)
        except Exception:  # noqa: BLE001 - one page's failure must not stop the others
            # Its transaction rolled back, claim included: still due at the next poll.
            log.exception("re-paging one page failed; it is tried again at the next poll")
    return sent


def _repage_one(app, sessions, loaded, page_id: int, seen: datetime, now: datetime) -> list:
    """One transaction per page: its claim, its decision and its staged texts."""
    out: list = []
    with sessions() as db, db.begin():
        claimed = db.execute(update(Page).where(Page.id == page_id, Page.next_at == seen,
                                                Page.acknowledged_by.is_(None))
                             .values(next_at=None)
                             .execution_options(synchronize_session=False)).rowcount == 1
        if not claimed:
            return []
        page = db.get(Page, page_id, populate_existing=True)
        if page.call_sid is not None:
            if db.get(Call, page.call_sid) is None:
                db.delete(page)  # the call ended: nobody left to join
                return []
            _advance_call(app, db, loaded.config, page, now, out)
            return stage(app, db, out, now)
        conv = db.get(Conversation, page.conversation_id)
        if conv is None:
            db.delete(page)
            return []
        why = "raised by a peer" if page.reason == PEER_URGENT else "urgent words"
        context = f"still waiting for the {loaded.config.clinical.title} ({why})"
        _advance(app, db, loaded.config, page, conv, context, now, out)
        return stage(app, db, out, now)


# -- a call in progress (a peer's *9 in a conference-bridged call) ----------------------------

def raise_for_call(app, db, loaded, call_sid: str, raised_by: str, now: datetime,
                   out: list) -> bool:
    """Page the clinician on call about a call in progress; pressing 1 joins it. False
    when a page about this call is already running or was acknowledged."""
    db.execute(select(Call.call_sid).where(Call.call_sid == call_sid).with_for_update())
    if db.scalar(select(Page.id).where(Page.call_sid == call_sid,
                                       Page.gave_up.is_(False)).limit(1)) is not None:
        return False
    chain = [p.id for p in loaded.schedule.clinical_chain(now)]
    page = Page(conversation_id=None, call_sid=call_sid, reason=CALL_URGENT, raised_by=raised_by,
                chain=chain, position=0, tries=0, started_at=now, gave_up=False)
    db.add(page)
    db.flush()
    _advance_call(app, db, loaded.config, page, now, out)
    return True


def _advance_call(app, db, config: Config, page: Page, now: datetime, out: list) -> None:
    decision = next_page(config.clinical, tuple(page.chain), page.position, page.tries, now)
    while not isinstance(decision, NobodyAcknowledged) and not _known(config, decision.person):
        decision = next_page(config.clinical, tuple(page.chain), decision.position,
                             config.clinical.page_times, now)
    title = config.clinical.title
    if isinstance(decision, NobodyAcknowledged):
        page.gave_up, page.next_at = True, None
        audit.record(db, now, audit.PAGE_UNANSWERED, "line", f"{WHY[CALL_URGENT]}; nobody acknowledged")
        for person in (config.person(pid) for pid in page.chain if _known(config, pid)):
            out.append(Text(person.phone, "Peer line: NOBODY acknowledged the urgent page about "
                            "a call in progress. Call the line if you can help.", urgent=True))
        if page.raised_by in config.peers:
            out.append(Text(config.person(page.raised_by).phone, f"Peer line: the {title} could "
                            "not be reached. If the caller is in danger now, call 911; 988 takes "
                            "calls and texts any time.", urgent=True))
        return
    page.position, page.tries, page.next_at = decision.position, decision.tries, decision.due
    person = config.person(decision.person)
    out.append(Text(person.phone, f"URGENT peer line: a peer on a call needs the {title} now. "
                    "Answer our call and press 1 to join the call.", urgent=True))
    query = urlencode({"page": page.id, "try": page.tries, "who": person.id})
    out.append(Bridge(person.phone, _url(app, "/paging/answer?" + query),
                      status_callback=_url(app, "/paging/status?" + query),
                      on_failure=partial(page_failed, page_id=page.id, tries=page.tries)))
    audit.record(db, now, audit.PAGE_SENT, person.id,
                 f"{WHY[CALL_URGENT]}; page {page.tries} of {config.clinical.page_times} to them")


def acknowledge_call(db, page: Page, person_id: str, now: datetime) -> bool:
    """First one wins, as for a conversation's page."""
    won = db.execute(update(Page).where(Page.id == page.id, Page.acknowledged_by.is_(None))
                     .values(acknowledged_by=person_id, acknowledged_at=now, next_at=None)
                     .execution_options(synchronize_session=False)).rowcount == 1
    if won:
        minutes = int((now - page.started_at).total_seconds() // 60)
        audit.record(db, now, audit.PAGE_ACKNOWLEDGED, person_id,
                     f"{WHY[CALL_URGENT]}; after {minutes} min")
    return won


def call_ended(db, call_sid: str) -> None:
    """The call is over: its pages go with it (a late 1 hears that it has ended)."""
    db.execute(delete(Page).where(Page.call_sid == call_sid)
               .execution_options(synchronize_session=False))
