"""The text line's webhooks: /sms/incoming and /sms/status.

Who sent a text decides what it means: a peer or the clinical director is
giving a command or answering a conversation they own; anyone else is a
texter. Replies to the sender go back as TwiML <Message>; texts to anyone
else are staged in the outbox with the decision and handed to the REST API
after the answer has gone (hotline/deadlines.py), so a webhook never waits on
Twilio.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import phonenumbers
from flask import Blueprint, current_app, request
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from hotline.callout import service as callouts
from hotline.paging import pages
from hotline.routing import CLINICIAN_ROUND
from hotline.text import consult
from hotline.availability.commands import not_a_peer
from hotline import fault_alert
from hotline.deadlines import after_answer
from hotline.text import conversations as tx
from hotline.text import pictures, texter_choices, texter_menu, undelivered
from hotline.text.keywords import START_WORDS, STOP_WORDS
from hotline.crypto import Shredded, Vault, instance_secret
from hotline.keystore import open_store
from hotline.records import shredding
from hotline.text.peer_commands import peer_message
from hotline.text.outbox import Text, stage
from hotline.records.retention import forget_at_provider
from hotline.store import Conversation, InboundMessage, Notice
from hotline.webhooks import (e164, is_number, last_good, link, now, rotation, transaction,
                              twilio_webhook)

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")

# Twilio's default opt-out and opt-in words (a single word, any case). Twilio blocks or
# unblocks the number itself; we only tell the peer. "YES" is an opt-in word too, but a
# texter saying yes to their peer must still be relayed, so it is not listed here.
FINAL = {"undelivered", "failed"}
STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
               "delivered": 4, "undelivered": 4, "failed": 4, "read": 5}
RACE_ATTEMPTS = 3
PICTURE = "[sent a picture; pictures are not passed on]"
PICTURE_RELAYED = "[sent a picture, attached]"  # where the rotation file says relay
# A consultant is sent the words only: the picture stays between the texter and their peer.
PICTURE_PEER_ONLY = "[sent a picture; only their peer has it]"
# A peer's picture is never passed on, whatever the file says: the texter's phone would
# show it from the program number, and a peer has words for anything they need to send.
PEER_NO_PICTURES = "Pictures are not passed on to texters; your words are, if any."
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
# Built once: building and caching a statement per text cost more than running it.
_RECEIVED = insert(InboundMessage.__table__)
NOT_THIS_LINE = ("This number is not a peer support line. Please call or text 988. "
                 "In an emergency call 911.")
CLOSED_FOR_GOOD = "That conversation has closed; its texter can no longer be reached. Nothing was sent."
ALERT_EVERY = fault_alert.ALERT_EVERY  # between system-fault alerts to the director, per process
EMERGENCY = ("We cannot reach a peer right now. Please call or text 988 now. "
             "In an emergency call 911.")
# With a rotation in memory the voice line still reaches the clinical director even
# without the database, so a texter is pointed at a person on this very number.
EMERGENCY_CALL_US = ("We cannot connect texts right now. Please CALL this number to reach "
                     "a person, or call or text 988. In an emergency call 911.")


@bp.record_once
def _setup(state) -> None:
    """Build the key at start-up, so a bad HOTLINE_SECRET_KEY fails loudly here."""
    app = state.app
    secret = app.config.get("HOTLINE_SECRET_KEY") or instance_secret(Path(app.instance_path))
    store = open_store(app.config.get("HOTLINE_KEYSTORE_URL"), Path(app.instance_path))
    app.extensions["hotline.vault"] = Vault(secret, store, lambda: app.config["HOTLINE_CLOCK"]())
    shredding.install(app)


def _emergency() -> MessagingResponse:
    """The database or the code is broken: point the texter at a person (this line's
    voice route, or 988) and wake the clinical director (best effort, from the rotation
    held in memory)."""
    resp = MessagingResponse()
    loaded = last_good()
    resp.message(EMERGENCY if loaded is None else EMERGENCY_CALL_US)
    if loaded is not None:
        fault_alert.alert_director(current_app._get_current_object(), loaded.config,
                                   fault_alert.SYSTEM_FAULT, now())
    return resp


@bp.post("/incoming")
@twilio_webhook(_emergency)
def incoming():
    form = request.form
    sid = form.get("MessageSid", "")
    program = rotation().config.program
    sender = e164(form.get("From"), program.region)
    body = form.get("Body", "")
    resp = MessagingResponse()
    if not MESSAGE_SID.fullmatch(sid) or not a_phone(sender):
        # No SID we could dedupe on, or a short code or an alphanumeric sender (a bank's
        # alert, a carrier's notice): no conversation, nobody paged, no reply to it.
        log.info("ignored a text without a message SID or from a non-phone sender")
        return resp
    if not is_number(form.get("To"), program.number, program.region):
        # Signed by Twilio, but for another number of the account: not this line's text.
        # The sender is still a person who may need help, so they are told where to go.
        log.warning("a text for another number reached /sms/incoming; check the number's "
                    "Messaging webhook")
        resp.message(NOT_THIS_LINE)
        return resp
    # Retried only when two texts from one new number race to open its conversation:
    # that clash answers in milliseconds. A busy or stalled database is not retried
    # (five waits would add up past Twilio's limit): the emergency answer goes out.
    for attempt in range(RACE_ATTEMPTS):
        out: list[Text] = []
        replies: list[str] = []
        try:
            with transaction() as db:
                # Written first: on SQLite this takes the write lock before any read, and a
                # duplicate MessageSid stops here (on PostgreSQL, once the first commits).
                db.execute(_RECEIVED, {"message_sid": sid, "received_at": now()})
                forget_at_provider(current_app, db, sid, "message", now())
                _dispatch(db, sender, body, out, replies)
                if any(isinstance(t, Text) and t.media_of == sid for t in out):
                    pictures.hold(db, sid, now())  # deleted at Twilio once relayed
                out[:] = stage(current_app, db, out, now())
        except IntegrityError:
            with current_app.extensions["hotline.sessions"]() as db:
                if db.get(InboundMessage, sid) is not None:
                    log.info("duplicate webhook for a text; already handled")
                    return resp
            if attempt == RACE_ATTEMPTS - 1:
                raise  # the emergency route answers: never a silent empty reply
            continue  # the same new number texting twice at once: the retry finds it open
        except Shredded:
            # A conversation restored from a copy of the database after it closed: its
            # key is gone, so there is nobody to relay to and no number to show.
            out, replies = [], [CLOSED_FOR_GOOD]
        break
    for text in replies:
        # `action` is <Message>'s status callback: it tells us the reply's SID, so Twilio's
        # copy (the texter's number, and for REVEAL the number in the text) is deleted too.
        resp.message(text, action=link("sms.status"), method="POST")
    _place_calls(out)  # its texts were staged with the decision: the sender has them
    return resp


def a_phone(number: str | None) -> bool:
    """A person's phone, not a short code: a possible number in its country."""
    if not number:
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def _dispatch(db, sender: str, body: str, out: list[Text], replies: list[str]) -> None:
    loaded = rotation()
    person = loaded.config.person_by_phone(sender)
    if person is not None and int(request.form.get("NumMedia") or 0):
        replies.append(PEER_NO_PICTURES)
    if person is not None and peer_message(db, loaded, person, body, now(), out, replies):
        return
    if person is None and (refused := not_a_peer(loaded, body, now())) \
            and tx.find_open(db, current_app, sender) is None:
        replies.append(refused)  # OFF from a number not in the rotation: nothing changes
        return
    texter_message(db, loaded, sender, body, out, replies)


def texter_message(db, loaded, number: str, body: str, out: list[Text],
                   replies: list[str]) -> None:
    """A texter's text; with a picture, they are told whether it was passed on (only where
    the program relays pictures, and only with a text to a peer), and the peer sees a note."""
    if not int(request.form.get("NumMedia") or 0):
        _texter_message(db, loaded, number, body, out, replies)
        return
    config = loaded.config
    media = pictures.media_urls(request.form) if config.sms.pictures == "relay" else ()
    told = len(replies)
    mark = len(out)
    if media:
        media_of = request.form["MessageSid"]
        _texter_message(db, loaded, number, f"{body} {PICTURE_RELAYED}".strip(), out, replies,
                        word=body, media=(media, media_of))
        if any(isinstance(t, Text) and t.media_of == media_of for t in out[mark:]):
            replies.insert(told, config.sms.pictures_relayed)
            return
        replies.insert(told, config.sms.no_pictures)  # a STOP, NEW PEER, INFO ... with it
        return
    replies.append(config.sms.no_pictures)
    _texter_message(db, loaded, number, f"{body} {PICTURE}".strip(), out, replies, word=body)


def _texter_message(db, loaded, number: str, body: str, out: list[Text],
                    replies: list[str], word: str | None = None,
                    media: tuple | None = None) -> None:
    """`body` is what peers see (with a picture's note); `word` what the texter typed."""
    app, config, t = current_app, loaded.config, now()
    conv = tx.find_open(db, app, number)
    word = " ".join((body if word is None else word).split()).upper()
    choice = texter_menu.parse(config, body, digits=conv is None or not (
        conv.owner or conv.preference or conv.asked_for))
    if texter_choices.answer_request(db, config, choice, t, replies):
        return  # INFO, the office: answered without a conversation or a page
    if word in STOP_WORDS:  # no reply: Twilio has answered and blocked us already
        if conv is not None:
            ids = [conv.owner] if conv.owner else tx.notified(conv, current_only=True)
            tx.tell(config, ids, f"#{conv.code}: the texter opted out (STOP). Texts cannot "
                    "reach them until they text START.", conv, out)
        return
    if word in clinician_words(config):
        ask_for_clinician(app, db, loaded, conv, number, body, t, out, replies)
        return
    if conv is None:
        if word in START_WORDS:
            return
        mark = len(out)
        conv = tx.open_conversation(app, db, loaded, number, body, t, out,
                                    choice if texter_menu.applies(config, choice) else None)
        attach(out, mark, media)
        replies.append(texter_choices.first_reply(config, choice))
        if conv.urgent:
            replies.append(config.sms.urgent)
        return
    conv.last_activity_at = t
    c = conv.code
    if word in START_WORDS:
        ids = [conv.owner] if conv.owner else tx.notified(conv, current_only=True)
        tx.tell(config, ids, f"#{c}: the texter opted back in (START).", conv, out)
        return
    if word in ("NEW PEER", "NEWPEER"):
        replies.append(config.sms.new_peer)
        busy = frozenset()
        if conv.owner:
            tx.tell(config, [conv.owner], f"#{c}: the texter asked for another peer. "
                    "Thank you for your time.", conv, out)
            busy = frozenset({conv.owner})
            conv.owner, conv.accepted_at, conv.accepted_step = None, None, None
        conv.gave_up = False
        tx.advance(app, loaded, conv, number, t, out, next_attempt=conv.attempt + 1,
                   busy=busy)
        return
    if choice is not None and texter_choices.choose_later(app, loaded, conv, number, choice,
                                                          t, out, replies):
        return
    if not conv.urgent and tx.is_urgent(config, body):
        conv.urgent = True
        replies.append(config.sms.urgent)
        tx.alert_director(app, db, loaded, conv, number, body, t, out)
    mark = len(out)
    if conv.owner:  # a long text in parts, each within Twilio's 1,600 characters; tracked,
        # so the texter hears if it never reaches their peer (text/undelivered.py)
        undelivered.relay(config, conv, tx.pieces(f"#{c}: ", body), out)
        attach(out, mark, media)
        if media:
            body = body.removesuffix(PICTURE_RELAYED) + PICTURE_PEER_ONLY
        consult.copy_to_consultant(config, conv, None, body, out)
    else:  # nobody has it yet: the people deciding see everything the texter says
        tx.tell(config, tx.notified(conv, current_only=True),
                tx.pieces(f"Peer line #{c} (waiting): ", body, f" - reply YES to take #{c}"),
                conv, out)
        attach(out, mark, media)


def attach(out: list[Text], start: int, media: tuple | None) -> None:
    """The texter's picture goes with the first part of each peer's text from out[start:]."""
    if not media:
        return
    urls, media_of = media
    seen: set[str] = set()
    for i in range(start, len(out)):
        text = out[i]
        if isinstance(text, Text) and not text.to_texter and text.to not in seen:
            seen.add(text.to)
            out[i] = replace(text, media=urls, media_of=media_of)


def clinician_words(config) -> set[str]:
    """CLINICIAN always works; in the team coordinator model COORDINATOR does too."""
    return {"CLINICIAN", config.clinical.title.upper(), config.clinical.title.split()[-1].upper()}


def ask_for_clinician(app, db, loaded, conv, number: str, body: str, t: datetime,
                      out: list[Text], replies: list[str]) -> None:
    """The texter asks for the clinician: a new conversation goes to the clinician on
    call first, the peers after the first step's wait; an open one with a peer brings
    the clinician in beside them; an open one nobody took tells the clinician now."""
    config = loaded.config
    title = config.clinical.title
    replies.append(f"We are reaching our {title} for you now. If you are in danger, call "
                   "911; you can call or text 988 any time.")
    if conv is None:
        tx.open_conversation(app, db, loaded, number, f"(asked for the {title})", t, out,
                             first_attempt=CLINICIAN_ROUND)
        return
    conv.last_activity_at = t
    if conv.owner and config.is_clinical(conv.owner):
        return
    clinician = consult.invite(db, loaded, conv, "texter", t, out)
    if conv.owner and clinician is not None:
        tx.tell(config, [conv.owner], f"#{conv.code}: the texter asked for the {title}; "
                f"{clinician.name} is asked to join and will see the messages.", conv, out)


@bp.post("/status")
@twilio_webhook(MessagingResponse)
def status():
    """Delivery reports. A notice that never reached a peer makes them unreachable:
    when nobody at the current step can be reached, escalate now. A texter's words
    that never reached their peer: both are told."""
    form = request.form
    state = form.get("MessageStatus", "")
    if state not in STATUS_RANK:
        return MessagingResponse()
    out: list[Text] = []
    _settle(form, state, out)
    _place_calls(out)  # its texts were staged with the decision: the sender has them
    return MessagingResponse()


def _settle(form, state: str, out: list[Text]) -> None:
    with transaction() as db:
        if STATUS_RANK[state] >= STATUS_RANK["sent"]:  # settled enough to ask for deletion
            forget_at_provider(current_app, db, form.get("MessageSid"), "message", now())
        pictures.landed(db, form.get("MessageSid"), state, now())  # a relayed picture's
        if state in FINAL:  # a callout's text that never reached its peer: phone them
            callouts.unreachable(db, None, None, form.get("MessageSid", ""), now(),
                                 every=rotation().config.callout.tally_every)
        notice = db.get(Notice, form.get("MessageSid", ""), with_for_update=True)
        # Each (sid, status) once, and only forward: a late "sent" cannot undo "failed".
        if notice is None or STATUS_RANK[state] <= STATUS_RANK.get(notice.status, 0):
            return
        notice.status = state
        if state not in FINAL:
            return
        if notice.attempt == pages.PAGE_ATTEMPT:  # a clinician's page text never arrived
            pages.text_failed(db, notice.conversation_id, notice.peer_id, now())
            return
        if undelivered.is_relay(notice):  # the texter's words never reached their peer
            undelivered.tell_both(current_app, db, rotation().config, notice.conversation_id,
                                  notice.peer_id, out)
            out[:] = stage(current_app, db, out, now())
            return
        conv = db.get(Conversation, notice.conversation_id, with_for_update=True)
        if conv is None or conv.owner or conv.escalate_at is None \
                or notice.attempt != conv.attempt:
            return
        failed = set(db.scalars(select_failed(notice)))
        if set(tx.notified(conv, current_only=True)) - set(conv.alerted) <= failed:
            log.info("text #%s: nobody at the current step reachable; escalating", conv.code)
            conv.escalate_at = now()


def select_failed(notice: Notice):
    return select(Notice.peer_id).where(Notice.conversation_id == notice.conversation_id,
                                        Notice.attempt == notice.attempt,
                                        Notice.status.in_(FINAL))


def _place_calls(out: list) -> None:
    """A peer's CALL bridge is placed once the answer is out (deadlines.after_answer);
    texts never wait here: staged in the outbox, they are the sender's (text/sender.py)."""
    calls = [t for t in out if not isinstance(t, Text)]
    if calls:
        app, t = current_app._get_current_object(), now()
        after_answer(lambda: tx.deliver(app, calls, t))
