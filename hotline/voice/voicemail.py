"""Voicemail, off unless a coordinator turns it on (`voice: {voicemail: true}`).

At the fallback the caller may leave a message. It goes to one person only:
the router calls the clinical director from the program number, and once they
press 1 it plays the message and has Twilio delete the recording. A director
who does not pick up is called again; after a few tries the recording is
deleted unheard (and the audit trail says so), because a message nobody can
act on must not sit at Twilio.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, current_app, request, url_for
from sqlalchemy import delete, select, update
from twilio.twiml.voice_response import VoiceResponse

from hotline.records import audit
from hotline.rotation.model import CLINICAL_DIRECTOR, Config
from hotline.records.retention import forget_at_provider
from hotline.store import Voicemail
from hotline.twilio_client import client
from hotline.voice.verbs import dial_out, say
from hotline.webhooks import link, now, rotation, transaction, twilio_webhook

log = logging.getLogger(__name__)
bp = Blueprint("voicemail", __name__, url_prefix="/voice/voicemail")

MAX_LENGTH = 120  # seconds of message
RETRY = timedelta(minutes=15)
TRIES = 3


def offer(resp: VoiceResponse, config: Config) -> None:
    """The Record verb that follows the fallback message when voicemail is on."""
    say(resp, config, "To leave a message for our clinical director, speak after the tone, "
                      "then press pound.")
    resp.record(max_length=MAX_LENGTH, timeout=5, finish_on_key="#", play_beep=True,
                action=link("voicemail.recorded"), method="POST",
                recording_status_callback=link("voicemail.recording"),
                recording_status_callback_method="POST",
                recording_status_callback_event="completed")


def _hangup() -> VoiceResponse:
    resp = VoiceResponse()
    resp.hangup()
    return resp


@bp.post("/recorded")
@twilio_webhook(_hangup)
def recorded():
    """The caller finished (or said nothing): carry on with the rest of the fallback."""
    config = rotation().config
    resp = VoiceResponse()
    if int(request.form.get("RecordingDuration") or 0) > 0:
        say(resp, config, "Thank you. Your message will reach our clinical director.")
    forward = config.escalation.fallback.forward
    if forward:
        dial_out(resp, config, forward, timeout=60)
    resp.hangup()
    return resp


@bp.post("/recording")
@twilio_webhook(VoiceResponse)
def recording():
    """Twilio's recording status callback: queue it for the director, or drop an empty one."""
    sid = request.form.get("RecordingSid", "")
    if not sid or request.form.get("RecordingStatus") != "completed":
        return VoiceResponse()
    with transaction() as db:
        if int(request.form.get("RecordingDuration") or 0) <= 0:
            forget_at_provider(current_app, db, sid, "recording", now())
        elif db.get(Voicemail, sid) is None:
            db.add(Voicemail(recording_sid=sid, created_at=now(), attempts=0, next_try_at=now()))
    return VoiceResponse()


@bp.post("/play")
@twilio_webhook(_hangup)
def play():
    """On the director's phone: a key press first, so their own voicemail never gets it."""
    config = rotation().config
    sid = request.args.get("rec", "")
    resp = VoiceResponse()
    with transaction() as db:
        waiting = db.get(Voicemail, sid, with_for_update=True)
        if waiting is None:
            say(resp, config, "This message has already been played and deleted. Goodbye.")
            resp.hangup()
            return resp
        if request.form.get("Digits") != "1":
            gather = resp.gather(num_digits=1, timeout=6, method="POST",
                                 action=link("voicemail.play", rec=sid))
            say(gather, config, "Peer support line. A caller left a message for you. "
                                "Press 1 to hear it.")
            resp.hangup()
            return resp
        db.delete(waiting)
        forget_at_provider(current_app, db, sid, "recording", now())
    account = current_app.config.get("TWILIO_ACCOUNT_SID", "")
    resp.play(f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{sid}.mp3")
    say(resp, config, "End of message. It is now deleted from our system.")
    resp.hangup()
    return resp


def deliver(app, now: datetime) -> None:
    """Clock job: call the director for each waiting message; give up after a few tries."""

    sessions = app.extensions["hotline.sessions"]
    with sessions() as db:
        due = db.execute(select(Voicemail.recording_sid, Voicemail.attempts,
                                Voicemail.next_try_at)
                         .where(Voicemail.next_try_at <= now)).all()
    if not due:
        return
    loaded = app.extensions["hotline.rotation"].current()
    base = (app.config.get("HOTLINE_PUBLIC_URL") or "").rstrip("/")
    for sid, attempts, seen in due:
        with sessions() as db, db.begin():
            if attempts >= TRIES:
                db.execute(delete(Voicemail).where(Voicemail.recording_sid == sid))
                forget_at_provider(app, db, sid, "recording", now)
                audit.record(db, now, "voicemail_unheard", CLINICAL_DIRECTOR,
                             f"deleted after {attempts} calls went unanswered")
                continue
            if db.execute(update(Voicemail)
                          .where(Voicemail.recording_sid == sid, Voicemail.next_try_at == seen)
                          .values(attempts=attempts + 1, next_try_at=now + RETRY)
                          .execution_options(synchronize_session=False)).rowcount != 1:
                continue  # another clock has it
        with app.test_request_context(base_url=base or "http://localhost"):
            url = base + url_for("voicemail.play", rec=sid)
        try:
            client(app).calls.create(to=loaded.config.clinical_director.phone,
                                     from_=loaded.config.program.number, url=url)
        except Exception:  # noqa: BLE001 - tried again at next_try_at
            log.warning("could not call the clinical director about a voicemail")
