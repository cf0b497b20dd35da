"""What a paged clinician's phone hears: /paging/answer (press 1 to acknowledge) and
/paging/status (the page call's fate: anything but a 1 counts as not acknowledged).

The page call comes from the program number. Only a key press acknowledges, so the
clinician's own voicemail can never take a page.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.paging import pages
from hotline.records.retention import forget_at_provider
from hotline.store import Call, Conversation, Page
from hotline.text.outbox import Text, send_all, stage
from hotline.voice import conference
from hotline.voice.verbs import say
from hotline.webhooks import now, rotation, transaction, twilio_webhook

bp = Blueprint("paging", __name__, url_prefix="/paging")
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}
PRESS_WAIT = 8  # seconds to press 1: they may have just woken up


def _emergency() -> VoiceResponse:
    # The database is down: nothing can be recorded, so say where the line stands.
    resp = VoiceResponse()
    resp.say("Peer support line. An urgent contact needs you, but the router cannot reach "
             "its database. Please call the line now.")
    resp.hangup()
    return resp


@bp.post("/answer")
@twilio_webhook(_emergency)
def answer():
    loaded = rotation()
    config = loaded.config
    page_id, who = request.args.get("page", type=int), request.args.get("who", "")
    resp = VoiceResponse()
    out: list = []
    with transaction() as db:
        page = db.get(Page, page_id, with_for_update=True)
        if page is not None and page.call_sid is not None:
            return _call_page(db, config, page, who, resp)
        conv = db.get(Conversation, page.conversation_id) if page else None
        if page is None or conv is None:
            say(resp, config, "Peer support line. This page is over: the conversation or call "
                              "has ended. Thank you.")
            resp.hangup()
            return resp
        if page.acknowledged_by:
            return _acknowledged_already(config, page, resp)
        if "Digits" in request.form and request.form["Digits"] != "1":
            resp.hangup()  # no key, or another key: not acknowledged; the status says so
            return resp
        if request.form.get("Digits") != "1":
            gather = resp.gather(num_digits=1, timeout=PRESS_WAIT, method="POST",
                                 action_on_empty_result=True, action=request.full_path)
            why = pages.WHY.get(page.reason, "it is urgent")
            say(gather, config, f"Peer support line. Conversation {conv.code} needs the "
                                f"{config.clinical.title} now: {why}. Press 1 to acknowledge.")
            resp.hangup()
            return resp
        told = pages.acknowledge(current_app, db, loaded, page, who, now(), out)
        if told is not None:
            out.append(Text(config.person(who).phone, told, urgent=True,
                            conversation_id=conv.id))
        out = stage(current_app, db, out, now())
    say(resp, config, told or "Somebody else acknowledged this page first. Thank you.")
    resp.hangup()
    send_all(current_app, config.program.number, out, now())
    return resp


def _acknowledged_already(config, page: Page, resp: VoiceResponse) -> VoiceResponse:
    name = config.person(page.acknowledged_by).name
    say(resp, config, f"Peer support line. {name} has already acknowledged this page. "
                      "Thank you.")
    resp.hangup()
    return resp


def _call_page(db, config, page: Page, who: str, resp: VoiceResponse) -> VoiceResponse:
    """A page about a call in progress (a peer's *9): a 1 joins the call, as a full
    participant. The caller is not told."""
    call = db.get(Call, page.call_sid)
    if call is None or not call.bridged or call.conference_ended:
        say(resp, config, "Peer support line. This page is over: the call has ended. Thank you.")
        resp.hangup()
        return resp
    if page.acknowledged_by and page.acknowledged_by != who:
        return _acknowledged_already(config, page, resp)
    if "Digits" in request.form and request.form["Digits"] != "1":
        resp.hangup()  # not acknowledged; the status callback says so
        return resp
    if request.form.get("Digits") != "1":
        gather = resp.gather(num_digits=1, timeout=PRESS_WAIT, method="POST",
                             action_on_empty_result=True, action=request.full_path)
        say(gather, config, f"Peer support line. A peer on a call needs the "
                            f"{config.clinical.title} now. Press 1 to join the call.")
        resp.hangup()
        return resp
    if not pages.acknowledge_call(db, page, who, now()) and page.acknowledged_by != who:
        say(resp, config, "Somebody else acknowledged this page first. Thank you.")
        resp.hangup()
        return resp
    say(resp, config, "Thank you. Connecting you to the call.")
    dial = resp.dial()
    dial.conference(conference.name(call.call_sid), start_conference_on_enter=True,
                    end_conference_on_exit=False, beep=False)
    return resp


@bp.post("/status")
@twilio_webhook(VoiceResponse)
def status():
    """The page call ended. If it ended without an acknowledgement, the page is due now."""
    form = request.form
    if form.get("CallStatus") not in FINAL:
        return VoiceResponse()
    with transaction() as db:
        forget_at_provider(current_app, db, form.get("CallSid"), "call", now())
        pages.mark_failed(db, request.args.get("page", type=int),
                          request.args.get("try", type=int), now())
    return VoiceResponse()
