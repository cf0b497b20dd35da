"""The phone page: a peer who has not answered a callout's text is called from the
program number, hears the callout and presses 1 (can come) or 2 (cannot).

Only a key press counts, so a voicemail greeting answers nothing; a call that is busy,
fails or rings out marks the peer unreachable in the tally (status callback).
"""
from __future__ import annotations

from flask import Blueprint, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.callout import service as callouts
from hotline.records.retention import forget_at_provider
from hotline.store import CalloutAnswer
from hotline.voice.verbs import say
from hotline.webhooks import last_good, link, now, rotation, transaction, twilio_webhook

bp = Blueprint("callout", __name__, url_prefix="/voice/callout")
UNREACHED = {"busy", "failed", "no-answer", "canceled"}
PROMPT = "Press 1 if you can come. Press 2 if you cannot."


def _emergency() -> VoiceResponse:
    """Database or code broken: no answer can be recorded, so ask for a text instead."""
    resp = VoiceResponse()
    loaded = last_good()
    text = ("Peer support line callout. Your answer cannot be recorded by phone right now. "
            "Please text YES or NO to this number.")
    if loaded is not None:
        say(resp, loaded.config, text)
    else:
        resp.say(text)
    resp.hangup()
    return resp


def _ids() -> tuple[int, str]:
    return int(request.args.get("callout", "0") or 0), request.args.get("peer", "")


@bp.post("/page")
@twilio_webhook(_emergency)
def page():
    config = rotation().config
    callout_id, peer = _ids()
    resp = VoiceResponse()
    with transaction() as db:
        callout = callouts.open_callout(db)
        row = db.get(CalloutAnswer, (callout_id, peer)) if callout else None
        if row is None or callout.id != callout_id:
            say(resp, config, "Peer support line. This callout is closed. Thank you.")
            resp.hangup()
            return resp
        message = callouts.vault(current_app).open(callout.message_enc)
    gather = resp.gather(num_digits=1, timeout=8, method="POST",
                         action=link("callout.answer", callout=callout_id, peer=peer))
    say(gather, config, f"Peer support line callout. {message}. {PROMPT}")
    say(gather, config, PROMPT)
    resp.hangup()  # no key (a voicemail greeting): nothing is recorded
    return resp


@bp.post("/answer")
@twilio_webhook(_emergency)
def answer():
    config = rotation().config
    callout_id, peer = _ids()
    digit = request.form.get("Digits", "")
    resp = VoiceResponse()
    if digit not in ("1", "2"):
        gather = resp.gather(num_digits=1, timeout=8, method="POST",
                             action=link("callout.answer", callout=callout_id, peer=peer))
        say(gather, config, PROMPT)
        resp.hangup()
        return resp
    with transaction() as db:
        callout = callouts.open_callout(db)
        if callout is None or callout.id != callout_id:
            said = "This callout is closed. Thank you."
        else:
            callouts.answer(db, config, peer, digit == "1", None, now())
            said = ("Thank you. You said you can come. The coordinator will be in touch."
                    if digit == "1" else "Thank you. You said you cannot come.")
    say(resp, config, said)
    resp.hangup()
    return resp


@bp.post("/status")
@twilio_webhook(VoiceResponse)
def status():
    callout_id, peer = _ids()
    state = request.form.get("CallStatus", "")
    with transaction() as db:
        if state in UNREACHED:
            callouts.unreachable(db, callout_id, peer, None, now(),
                                 every=rotation().config.callout.tally_every)
        if state in UNREACHED | {"completed"}:
            forget_at_provider(current_app, db, request.form.get("CallSid"), "call", now())
    return VoiceResponse()
