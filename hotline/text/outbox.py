"""Outbound texts: staged in the outbox by the decision, sent by the sender.

A decision (a webhook, a clock job, a CLI command) never waits on Twilio: inside its
transaction it stages each text in the Outbox (recipient and body encrypted) due at
once, and NOTIFYs; the sender (text/sender.py) claims, sends and records it. Nothing
is sent for a decision that rolled back, no lock is held while Twilio answers, and a
process killed at any point loses nothing. Outbound calls (Bridge: a peer's CALL, a
clinician's page) are not staged: they are placed right after the decision
(`send_all`), off the webhook's answer. Numbers and bodies are never logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

import requests
from sqlalchemy import bindparam, delete, insert, update
from twilio.base.exceptions import TwilioException

from hotline.text import notify, pictures
from hotline.records.retention import forget_at_provider
from hotline.twilio_client import client
from hotline.store import CalloutAnswer, Notice, Outbox

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # the recipient replied STOP; Twilio will refuse until they send START
BACKGROUND = -1  # outbox priority of shift reminders and summaries: after every crisis text
MAX_ATTEMPTS = 12
# A staged text is due this long before its decision's own clock says now: a sender on
# another machine whose clock is a little behind still claims it when woken.
CLOCK_SLACK = timedelta(seconds=2)
OUTBOX = Outbox.__table__
_STAGE = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)
# The order texts leave in when the number's rate holds some back: a callout to the whole
# team (hotline/callout/) goes after urgent crisis traffic and before everything else.
ROUTINE, CALLOUT, URGENT = 0, 1, 2


@dataclass(frozen=True)
class Text:
    to: str  # E.164; held in memory only
    body: str
    urgent: bool = False
    conversation_id: int | None = None
    peer_id: str | None = None  # set for a peer notice (status callbacks track it)
    attempt: int | None = None
    to_texter: bool = False
    outbox_id: int | None = None  # its staged Outbox row, deleted once Twilio has it
    callout_id: int | None = None  # a callout's text to a peer (its SID finds their answer)
    # A texter's picture relayed (text/pictures.py): Twilio's media URLs, and the SID of
    # the texter's message they belong to, which stays at Twilio until this has landed.
    media: tuple[str, ...] = ()
    media_of: str | None = None

    @property
    def priority(self) -> int:
        return URGENT if self.urgent else CALLOUT if self.callout_id is not None else ROUTINE


@dataclass(frozen=True)
class Bridge:
    """An outbound call to a peer (CALL), whose TwiML then rings their texter."""

    to: str  # the peer's phone
    url: str  # absolute URL of the TwiML Twilio fetches when the peer answers
    status_callback: str | None = None  # absolute /voice/status: frees the peer when it ends
    urgent: bool = True  # placed before any text in the same batch
    priority = URGENT
    # Called as on_failure(app, now) when Twilio will not place the call: a clinician's
    # page that never rang counts as not acknowledged at once.
    on_failure: Callable | None = None


def status_callback(app) -> str | None:
    base = app.config.get("HOTLINE_PUBLIC_URL")
    return base.rstrip("/") + "/sms/status" if base else None


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def send_one(app, program: str, text: Text) -> str:
    """Send now. Returns the message SID; raises Refused (permanent) or
    TemporaryFailure (worth retrying)."""
    kwargs = {"to": text.to, "from_": program, "body": text.body}
    if text.media:
        kwargs["media_url"] = list(text.media)
    callback = status_callback(app)
    if callback:
        kwargs["status_callback"] = callback
    try:
        return client(app).messages.create(**kwargs).sid
    except TwilioException as exc:
        status = getattr(exc, "status", 0) or 0
        if status >= 500 or status == 429:
            raise TemporaryFailure(status) from None
        raise Refused(getattr(exc, "code", None)) from None
    except (requests.Timeout, requests.ConnectionError):
        raise TemporaryFailure("timeout") from None


class TemporaryFailure(Exception):
    pass


def stage(app, db, texts: list, now: datetime) -> list:
    """Inside the deciding transaction: write each text to the Outbox, due at once, wake
    the sender when it commits, and return the texts tagged with their rows. Calls
    (Bridge) are not staged: a CALL that never rang is retried by the peer."""
    vault = app.extensions["hotline.vault"]
    staged, at, rows = [], [], []
    seal = None  # a batch key, destroyed once none of its rows is left (crypto.py)
    for t in texts:
        if isinstance(t, Text) and t.outbox_id is None:
            seal = seal or vault.batch_sealer()
            rows.append(dict(to_enc=seal(t.to), body_enc=seal(t.body),
                             priority=t.priority, attempts=0,
                             next_try_at=now - CLOCK_SLACK, created_at=now,
                             conversation_id=t.conversation_id, peer_id=t.peer_id,
                             attempt=t.attempt, to_texter=t.to_texter, callout_id=t.callout_id,
                             **sealed_media(t, seal)))
            at.append(len(staged))
        staged.append(t)
    if rows:
        # A core INSERT, not the ORM's unit of work: nothing here reads the rows back as
        # objects, and the flush cost more than the statement (docs/benchmarks.md).
        ids = db.execute(_STAGE, rows).scalars().all()
        for i, row_id in zip(at, ids):
            staged[i] = replace(staged[i], outbox_id=row_id)
        woken(app, db)
    return staged


def woken(app, db) -> None:
    """Texts were staged: a sender is woken when the transaction commits (and the test
    harness's drain knows there is something to send, deadlines.drain)."""
    notify.wake(db)
    app.extensions["hotline.staged"] = True


def send_all(app, program: str, texts: list,
             now: datetime) -> list[tuple[Text, int | None]]:
    """After the decision committed: place its calls (Bridge), and hand its texts to the
    sender (staged already, or staged now). Returns [] : what Twilio refuses for good
    is reported by the sender (conversations.report_refused)."""
    calls = [t for t in texts if isinstance(t, Bridge)]
    for call in calls:
        try:
            extra = {"status_callback": call.status_callback} if call.status_callback else {}
            placed = client(app).calls.create(to=call.to, from_=program, url=call.url,
                                              **extra)
        except (TwilioException, requests.RequestException):
            log.warning("Twilio did not place a CALL bridge; the peer is told to retry")
            if call.on_failure is not None:
                call.on_failure(app, now)
            continue
        record_sent(app, placed.sid, call, now)
    enqueue(app, [t for t in texts if isinstance(t, Text) and t.outbox_id is None], now)
    return []


def record_sent(app, sid: str, text: Text | Bridge, now: datetime) -> None:
    record_sent_all(app, [(sid, text)], now)


def record_sent_all(app, sent: list[tuple[str, Text | Bridge]], now: datetime) -> None:
    """Remember sent texts' SIDs: to delete Twilio's copies later, and for peer
    notices, to learn from their status callbacks whether they reached them. Their
    staged rows go: Twilio has them."""

    if not sent:
        return
    with app.extensions["hotline.sessions"]() as db, db.begin():
        record_in(app, db, sent, now)


def record_in(app, db, sent: list[tuple[str, Text | Bridge]], now: datetime) -> None:
    """record_sent_all inside the caller's transaction (the sender's batch). The batch's
    rows go in one DELETE and its notices in one INSERT: per text, through the ORM,
    they were most of a sender's own work (docs/benchmarks.md)."""
    gone = [t.outbox_id for _, t in sent if isinstance(t, Text) and t.outbox_id is not None]
    if gone:
        db.execute(_SENT, {"ids": gone})
    notices = []
    for sid, text in sent:
        forget_at_provider(app, db, sid, "call" if isinstance(text, Bridge) else "message",
                           now)
        if isinstance(text, Text) and text.peer_id is not None \
                and text.conversation_id is not None:
            notices.append({"message_sid": sid, "conversation_id": text.conversation_id,
                            "peer_id": text.peer_id, "attempt": text.attempt or 0,
                            "status": "queued"})
        if isinstance(text, Text) and text.media_of is not None:
            pictures.taken(db, sid, text.media_of)
        if isinstance(text, Text) and text.callout_id is not None and text.peer_id:
            db.execute(update(CalloutAnswer).where(
                CalloutAnswer.callout_id == text.callout_id,
                CalloutAnswer.peer_id == text.peer_id).values(notice_sid=sid))
    if notices:
        db.execute(_NOTICES, notices)


_SENT = delete(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
_NOTICES = insert(Notice.__table__)


def enqueue(app, texts: list[Text], now: datetime) -> None:
    """Texts decided outside a staging transaction (reports of refused texts): staged
    in a transaction of their own, for the sender."""
    if texts:
        with app.extensions["hotline.sessions"]() as db, db.begin():
            stage(app, db, texts, now)


def queue_background(app, db, texts: list[Text], now: datetime) -> None:
    """Inside the caller's transaction: texts that are about the rota, not a contact. The
    sender takes the outbox in priority order, so they never take a send slot a crisis
    or routine text is waiting for."""
    vault = app.extensions["hotline.vault"]
    if not texts:
        return
    seal = vault.batch_sealer()  # as for every queued text
    for t in texts:
        db.add(Outbox(to_enc=seal(t.to), body_enc=seal(t.body),
                      priority=BACKGROUND,
                      attempts=0, next_try_at=now, created_at=now, to_texter=False))
    woken(app, db)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 5 * 2 ** (attempts - 1)))


def sealed_media(t: Text, seal) -> dict:
    """A relayed picture's URLs sealed under the batch's key, like the body."""
    if not t.media:
        return {"media_enc": None, "media_of": None}  # every row of a batch has every key
    return {"media_enc": seal("\n".join(t.media)), "media_of": t.media_of}


def as_text(open_, row: Outbox) -> Text:
    """The queued row as a Text; `open_` is Vault.open, or a batch's Vault.opener()."""
    media = tuple(open_(row.media_enc).split("\n")) if row.media_enc else ()
    return Text(to=open_(row.to_enc), body=open_(row.body_enc),
                urgent=row.priority >= URGENT, conversation_id=row.conversation_id,
                peer_id=row.peer_id, attempt=row.attempt, to_texter=row.to_texter,
                outbox_id=row.id, callout_id=row.callout_id, media=media,
                media_of=row.media_of)
