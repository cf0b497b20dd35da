"""A peer's keys during a conference-bridged call, and the coach's phone.

The peer's <Dial hangupOnStar> takes them out of the conference on `*` (the caller stays
in it, hearing nothing for those seconds) to /voice/peer-keys: a one-key menu, then back
into the conference. 9 pages the clinician on call about this call (paging/pages.py:
re-pages, the next clinician, nobody acknowledged, as for a text); 8 rings them to coach,
heard only by the peer; 7 lets the caller hear the coach too. The caller is never told.
"The clinician on call" is whom a page reaches first; in the team coordinator model the
coordinator, and the words say so (config.clinical.title).
"""
from __future__ import annotations

import logging

import requests
from flask import Blueprint, current_app, request
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from hotline import twilio_client
from hotline.deadlines import after_answer
from hotline.paging import pages
from hotline.records import audit
from hotline.store import Call
from hotline.text.outbox import send_all, stage
from hotline.voice import conference, edges
from hotline.voice.verbs import CALLER_GONE, say, say_then_hang_up
from hotline.webhooks import link, now, rotation, transaction, twilio_webhook

log = logging.getLogger(__name__)
bp = Blueprint("peer_keys", __name__, url_prefix="/voice")

KEY_WAIT = 5
COACH_WAIT = 8  # seconds for the clinician to press 1: they may have just woken up


def _back_to_the_call() -> VoiceResponse:
    # From memory: nothing can be done about the key, but the peer must not lose the caller.
    return conference.peer_joins(VoiceResponse(), request.args.get("call", ""))


@bp.post("/peer-keys")
@twilio_webhook(_back_to_the_call)
@edges.checked_sid(edges.hangup)
def keys():
    """The accepted peer's Dial action: they pressed `*`, hung up, or the caller left."""
    config = rotation().config
    sid, leg = request.args.get("call", ""), request.form.get("CallSid")
    with transaction() as db:
        call = db.get(Call, sid, with_for_update=True)
        if request.form.get("CallStatus") in conference.FINAL:
            if call is not None and call.accepted_leg == leg:
                conference.peer_left(db, call)
            return VoiceResponse()  # they hung up: Twilio ignores this answer
        if call is None or call.conference_ended or call.accepted_leg != leg:
            return say_then_hang_up(config, CALLER_GONE)
    title = config.clinical.title
    resp = VoiceResponse()
    gather = resp.gather(num_digits=1, timeout=KEY_WAIT, method="POST",
                         action=link("peer_keys.key", call=sid))
    say(gather, config, f"Press 9 to page the {title} now. Press 8 to bring the {title} in as "
                        "a coach only you will hear. Press 7 to let the caller hear the coach "
                        "too. Any other key returns you to the call.")
    return conference.peer_joins(resp, sid)  # no key: back to the call


@bp.post("/peer-key")
@twilio_webhook(_back_to_the_call)
@edges.checked_sid(edges.hangup)
def key():
    loaded = rotation()
    config = loaded.config
    title = config.clinical.title
    app = current_app._get_current_object()
    sid, digit, t = request.args.get("call", ""), request.form.get("Digits", ""), now()
    out: list = []
    said = ""
    with transaction() as db:
        call = db.get(Call, sid, with_for_update=True)
        if call is None or call.conference_ended:
            return say_then_hang_up(config, CALLER_GONE)
        if digit == "9":
            paged = pages.raise_for_call(app, db, loaded, sid, call.accepted_by or "peer", t, out)
            said = f"Paging the {title} now." if paged else f"The {title} has been paged already."
            out = stage(app, db, out, t)
        elif digit == "8":
            if call.coach_leg:
                said = "A coach is already on the call."
            else:
                clinician = loaded.schedule.clinical_chain(t)[0]
                audit.record(db, t, audit.CONSULT, clinician.id, "asked to coach a peer on a call")
                _ring_coach(app, config, clinician.phone, sid)
                said = f"Calling the {title} to coach you. Only you will hear them."
        elif digit == "7":
            if call.coach_leg and call.conference_sid:
                _unmute_coach(app, call.conference_sid, call.coach_leg)
                said = "The caller can now hear the coach too."
            else:
                said = "No coach is on the call."
    resp = VoiceResponse()
    say(resp, config, said)
    if out:
        program = config.program.number
        after_answer(lambda: send_all(app, program, out, t))
    return conference.peer_joins(resp, sid)


def _ring_coach(app, config, phone: str, sid: str) -> None:
    url = conference.public(link("peer_keys.coach", call=sid))
    status = conference.public(link("voice.status"))  # its record is forgotten as any leg's
    program = config.program.number

    def ring() -> None:
        try:
            twilio_client.client(app).calls.create(
                to=phone, from_=program, url=url, method="POST", timeout=30,
                status_callback=status, status_callback_method="POST",
                status_callback_event=["completed"])
        except (TwilioException, requests.RequestException):
            log.warning("Twilio did not place the call to a coach")
    after_answer(ring)


def _unmute_coach(app, conference_sid: str, coach_leg: str) -> None:
    def update() -> None:
        try:
            twilio_client.client(app).conferences(conference_sid).participants(coach_leg) \
                .update(coaching=False)
        except (TwilioException, requests.RequestException):
            log.warning("Twilio did not make a coach a full participant")
    after_answer(update)


@bp.post("/coach")
@twilio_webhook(edges.hangup)
@edges.checked_sid(edges.hangup)
def coach():
    """The clinician's phone, rung by a peer's *8: press 1 to coach, heard by the peer only."""
    config = rotation().config
    sid = request.args.get("call", "")
    resp = VoiceResponse()
    with transaction() as db:
        call = db.get(Call, sid, with_for_update=True)
        if call is None or not call.bridged or call.conference_ended:
            say(resp, config, "Peer line: that call has ended. Thank you.")
            resp.hangup()
            return resp
        if request.form.get("Digits") != "1":
            if "Digits" in request.form:
                resp.hangup()
                return resp
            gather = resp.gather(num_digits=1, timeout=COACH_WAIT, method="POST",
                                 action_on_empty_result=True, action=request.full_path)
            say(gather, config, "Peer line: a peer asks you to coach them on a call. Only the "
                                "peer will hear you. Press 1 to join.")
            resp.hangup()
            return resp
        call.coach_leg = request.form.get("CallSid")
        peer_leg = call.accepted_leg
    dial = resp.dial()
    dial.conference(conference.name(sid), coach=peer_leg, start_conference_on_enter=False,
                    end_conference_on_exit=False, beep=False)
    return resp
