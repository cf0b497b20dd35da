"""The voice line: greet, ring the on-call peers with a whisper, escalate, fall back.

The call moves forward through Twilio's own callbacks (the <Dial action> of
one step asks for the next), so voice needs no timers. Acceptance is
recorded when a peer presses 1 in the whisper, and every branch reads that
record, never DialCallStatus (which differs between sources after a whisper
hangs up a leg).

That is the direct bridge. With `voice: bridge: conference` the routing answers
hand over to voice/conference.py (a queue, legs of their own, a conference); the
whisper and the screen below serve both, the screen's `mode=conference` answer
taking the winner into the conference.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, current_app, request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from twilio.twiml.voice_response import VoiceResponse

from hotline.rotation.model import CLINICAL_DIRECTOR, Config, choice_reason
from hotline.routing import GiveUp, step_number
from hotline.paging import pages as paging
from hotline.voice import answer, choices, conference, edges, failsafe
from hotline.voice.failsafe import fallback_twiml
from hotline.voice.ringing import decide
from hotline.voice.verbs import CALLER_GONE, WHISPER_WAIT, dial_out, say, say_then_hang_up
from hotline.records.retention import forget_at_provider
from hotline.records.stats import length_bucket
from hotline.store import Call, Conversation, StatEvent
from hotline.records.workload import count_handled
from hotline.webhooks import e164, last_good, link, now, rotation, transaction, twilio_webhook

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
STALE = answer.STALE


def _emergency_menu() -> VoiceResponse:
    return failsafe.incoming(greet=False)  # the caller has heard the greeting already


def _emergency_hangup() -> VoiceResponse:
    resp = VoiceResponse()
    resp.hangup()
    return resp


def _emergency_screen() -> VoiceResponse:
    # Without the database nobody can be recorded as accepting; Twilio still bridges
    # only the first leg that finishes its whisper, so a 1 can safely connect.
    resp = VoiceResponse()
    if request.form.get("Digits") != "1":
        resp.hangup()
    return resp


def _emergency_whisper() -> VoiceResponse:
    resp = VoiceResponse()
    loaded = last_good()
    text = loaded.config.voice.whisper if loaded else "Press 1 to take this call."
    gather = resp.gather(num_digits=1, timeout=WHISPER_WAIT, action_on_empty_result=True,
                         action=link("voice.screen", **request.args), method="POST")
    gather.say(text)
    resp.hangup()
    return resp


def _empty() -> VoiceResponse:
    return VoiceResponse()


@bp.post("/incoming")
@twilio_webhook(failsafe.incoming)
def incoming():
    # In memory, before any database work: another number's call or a malformed SID
    # hears where help is, and rings nobody (voice/edges.py).
    refused = edges.not_a_call_here()
    if refused is not None:
        return refused
    loaded = rotation()
    sid = request.form["CallSid"]
    t = now()
    try:
        return _answer(loaded, sid, t)
    except IntegrityError:
        # Twilio's retry of this webhook reached another worker at the same moment and
        # created the row first: carry on with it rather than take the emergency route.
        return _answer(loaded, sid, t)


def _answer(loaded, sid: str, t: datetime) -> VoiceResponse:
    config = loaded.config
    resp = VoiceResponse()
    if not config.voice.menu:
        # The common case in one round trip (voice/answer.py); else the full path below.
        caller = e164(request.form.get("From"), config.program.region)
        answered = answer.first_ring(current_app.extensions["hotline.answer_engine"], loaded,
                                     sid, caller, t)
        if answered is not None:
            ring, call = answered
            say(resp, config, config.voice.greeting)
            if config.voice.bridge == "conference":
                return conference.start(resp, config, call, ring.ring, first=True)
            return _dial(resp, config, call, ring.ring, first=True)
    with transaction() as db:
        call = db.get(Call, sid, with_for_update=True)
        retried = call is not None and bool(call.ringing) and not call.accepted_by
        if call is None:
            call = Call(call_sid=sid, started_at=t, updated_at=t, attempt=0, tried=[],
                        ringing=[], fallback=False, bridged=False)
            db.add(call)
            db.flush()
        say(resp, config, config.voice.greeting)
        if config.voice.menu:
            gather = resp.gather(num_digits=1, timeout=4, action_on_empty_result=True,
                                 action=link("voice.menu"), method="POST")
            say(gather, config, config.voice.menu_prompt)
            return resp
        if retried:  # Twilio never got our first answer, so nobody rang: ring them now
            return _redial(resp, loaded, call, first=True)
        return _route(resp, db, loaded, call, first=True)


@bp.post("/menu")
@twilio_webhook(_emergency_menu)
@edges.checked_sid(edges.pointer)
def menu():
    loaded = rotation()
    resp = VoiceResponse()
    with transaction() as db:
        call = db.get(Call, request.form["CallSid"], with_for_update=True)
        if call is None:
            return _gone(loaded.config)
        if call.tried == [] and choices.choose(resp, db, loaded.config, call, request.form,
                                               request.args, now()):
            return resp  # resources, the office, or the list of names to choose from
        return _route(resp, db, loaded, call, first=True)


@bp.post("/next")
@twilio_webhook(failsafe.next_step)
@edges.checked_sid(edges.pointer)
def dial_done():
    """<Dial action>: the step is over. Accepted means the conversation happened."""
    loaded = rotation()
    attempt = request.args.get("attempt", type=int)
    # Only the caller's own CallStatus says they hung up: DialCallStatus after a whisper
    # hangs up a leg differs between sources, and "canceled" there must not end the call.
    caller_left = request.form.get("CallStatus") in FINAL_STATUSES
    with transaction() as db:
        call = db.get(Call, request.form["CallSid"], with_for_update=True)
        if call is None and not caller_left and failsafe.state_from_url() is not None:
            # Answered from memory while the database was away: no row, the URL
            # carries who was rung. Go on the same way.
            return failsafe.next_step()
        if call is None or call.accepted_by or caller_left:
            # Nobody is listening to this answer; routing on would count a fallback
            # the caller never heard.
            return _gone(loaded.config)
        if attempt is not None and attempt > call.attempt:
            # Steps were rung from memory meanwhile (the database was away): catch up.
            _catch_up(call, attempt)
        if attempt != call.attempt:
            return _redial(VoiceResponse(), loaded, call)
        call.attempt = attempt + 1
        return _route(VoiceResponse(), db, loaded, call, first=False)


def _catch_up(call: Call, attempt: int) -> None:
    state = failsafe.state_from_url()
    carried = [[a, p] for a, p in state[1]] if state else []
    call.tried = call.tried + [t for t in carried if t not in call.tried]
    call.attempt = attempt


@bp.post("/emergency-done")
@twilio_webhook(_emergency_hangup)
@edges.checked_sid(edges.pointer)
def emergency_done():
    """The end of the old emergency route's <Dial> (calls answered by an earlier
    version while its database was away)."""
    resp = VoiceResponse()
    loaded = last_good()
    talked = int(request.form.get("DialCallDuration") or 0) > 20
    if loaded is None or (request.form.get("DialCallStatus") == "completed" and talked):
        resp.hangup()
        return resp
    return fallback_twiml(resp, loaded.config)


@bp.post("/whisper")
@twilio_webhook(_emergency_whisper)
@edges.checked_sid(edges.hangup)
def whisper():
    """Runs on the peer's phone after they pick up, before the caller is bridged."""
    loaded = rotation()
    resp = VoiceResponse()
    with transaction() as db:
        call = db.get(Call, request.args.get("call", ""))
        if call is None and request.args.get("mode") == "conference":
            return say_then_hang_up(loaded.config, CALLER_GONE)
        if call is not None and call.accepted_by:
            say(resp, loaded.config, "Another peer has already taken this call. Thank you.")
            resp.hangup()
            return resp
    gather = resp.gather(num_digits=1, timeout=WHISPER_WAIT, action_on_empty_result=True,
                         action=link("voice.screen", **request.args), method="POST")
    say(gather, loaded.config, choices.whisper_intro(loaded.config, call,
                                                     request.args.get("person", ""))
        + loaded.config.voice.whisper)
    resp.hangup()
    return resp


@bp.post("/screen")
@twilio_webhook(_emergency_screen)
@edges.checked_sid(edges.hangup)
def screen():
    """The peer's key press: 1 takes the call (first one wins), anything else passes."""
    loaded = rotation()
    resp = VoiceResponse()
    if request.form.get("Digits") != "1":
        resp.hangup()
        return resp
    person = request.args.get("person", "")
    attempt = request.args.get("attempt", type=int)
    with transaction() as db:
        won = db.execute(
            update(Call)
            .where(Call.call_sid == request.args.get("call", ""), Call.accepted_by.is_(None))
            .values(accepted_by=person, accepted_leg=request.form.get("CallSid"),
                    accepted_at=now(), bridged=True, updated_at=now(),
                    accepted_step=step_number(loaded.config, attempt or 0))
        ).rowcount == 1
        if won:
            count_handled(db, person, now(), loaded.config.program.timezone)
            if request.args.get("mode") == "conference":  # the other legs: ended
                conference.end_open_legs_after_answer(
                    db.get(Call, request.args.get("call", "")), keep=request.form.get("CallSid"))
        # Rung from memory (no row to claim): connect; Twilio bridges only the first
        # leg to finish its whisper.
        unrecorded = not won and db.get(Call, request.args.get("call", "")) is None
    if request.args.get("mode") == "conference":
        return _conference_screen(resp, loaded.config, won, unrecorded)
    if attempt == -2 or unrecorded:  # emergency route: no live row to claim, connect anyway
        return resp
    if not won:
        say(resp, loaded.config, "Another peer has already taken this call. Thank you.")
        resp.hangup()
    return resp


def _conference_screen(resp: VoiceResponse, config: Config, won: bool,
                       gone: bool) -> VoiceResponse:
    """A peer's 1 on a leg of their own: into the conference the caller is coming to."""
    if gone:
        return say_then_hang_up(config, CALLER_GONE)
    if not won:
        say(resp, config, "Another peer has already taken this call. Thank you.")
        resp.hangup()
        return resp
    say(resp, config, "Connecting you now.")
    return conference.peer_joins(resp, request.args.get("call", ""))


@bp.post("/status")
@twilio_webhook(_empty)
@edges.checked_sid(edges.empty)
def status():
    """Call status callbacks, for the caller's call and for every peer leg."""
    form = request.form
    if form.get("CallStatus") not in FINAL_STATUSES:
        return VoiceResponse()
    with transaction() as db:
        # Every leg and the call itself: once over, Twilio's record of it is deleted too.
        forget_at_provider(current_app, db, form.get("CallSid"), "call", now())
        if form.get("ParentCallSid"):
            db.execute(update(Call).where(Call.accepted_leg == form.get("CallSid"))
                       .values(bridged=False))
            return VoiceResponse()
        call = db.get(Call, form.get("CallSid", ""), with_for_update=True)
        if call is not None:
            # Conference mode: legs still ringing stop. Not the peer's: the conference's
            # end takes them to "The caller has hung up".
            conference.end_open_legs_after_answer(call, keep=call.accepted_leg)
            paging.call_ended(db, call.call_sid)
            if not call.text_bridge:  # a CALL bridge belongs to its text conversation's stats
                db.add(_stat_event(rotation().config, call, now()))
            db.delete(call)
    return VoiceResponse()


@bp.post("/bridge")
@twilio_webhook(_emergency_hangup)
@edges.checked_sid(edges.hangup)
def bridge():
    """A peer's CALL: their phone rang first; a 1 then rings the texter. The key press
    keeps a voicemail from being connected to an officer."""
    loaded = rotation()
    config = loaded.config
    resp = VoiceResponse()
    with transaction() as db:
        conv = db.get(Conversation, request.args.get("conv", type=int))
        if conv is None or conv.owner != request.args.get("peer"):
            say(resp, config, "This conversation is closed. Goodbye.")
            resp.hangup()
            return resp
        if request.form.get("Digits") != "1":
            gather = resp.gather(num_digits=1, timeout=WHISPER_WAIT, method="POST",
                                 action=link("voice.bridge", **request.args))
            say(gather, config, f"Peer line. Press 1 to call the texter of number {conv.code} now.")
            resp.hangup()
            return resp
        texter = current_app.extensions["hotline.vault"].open(conv.texter_enc)
        sid, t = request.form.get("CallSid", ""), now()
        if sid and db.get(Call, sid) is None:  # the peer is on a call now: ring nobody else there
            db.add(Call(call_sid=sid, started_at=t, updated_at=t, attempt=0, tried=[],
                        ringing=[], accepted_by=conv.owner, accepted_leg=sid, accepted_at=t,
                        bridged=True, fallback=False, text_bridge=True))
    say(resp, config, "Connecting.")
    dial_out(resp, config, texter, timeout=30)
    return resp


def _stat_event(config: Config, call: Call, ended: datetime) -> StatEvent:
    local = call.started_at.astimezone(config.program.timezone)
    hour = local.replace(minute=0, second=0, microsecond=0)
    if call.accepted_by:
        outcome = "clinical_director" if call.accepted_by == CLINICAL_DIRECTOR else "peer"
        seconds = int((call.accepted_at - call.started_at).total_seconds())
    else:
        outcome, seconds = ("fallback" if call.fallback else "abandoned"), None
    option = next((o for o in config.voice.menu if o.key == call.preference), None)
    return StatEvent(hour=hour, channel="voice", preference=call.preference, outcome=outcome,
                     reason=choice_reason(option, call.asked_for),
                     step=call.accepted_step if call.accepted_by else None,
                     seconds_to_human=seconds, urgent=False,
                     escalations=max(0, len({a for a, _ in call.tried}) - 1),
                     length=length_bucket((ended - call.accepted_at).total_seconds())
                     if call.accepted_at else None)


def _gone(config: Config) -> VoiceResponse:
    resp = VoiceResponse()
    say(resp, config, config.voice.goodbye)
    resp.hangup()
    return resp


def _route(resp: VoiceResponse, db, loaded, call: Call, first: bool) -> VoiceResponse:
    config = loaded.config
    decision = decide(db, loaded, call)
    if isinstance(decision, GiveUp):
        log.info("call reached the fallback (%s)", decision.reason)
        return fallback_twiml(resp, config)
    if config.voice.bridge == "conference":
        return conference.start(resp, config, call, decision.ring, first)
    return _dial(resp, config, call, decision.ring, first)


def _redial(resp: VoiceResponse, loaded, call: Call, first: bool = False) -> VoiceResponse:
    """Twilio retried a callback whose answer it never got: ring the same people again."""
    config = loaded.config
    step = config.escalation.steps[max(call.attempt, 0) % len(config.escalation.steps)]
    remaining = call.started_at + config.escalation.max_wait - now()
    if remaining.total_seconds() < 8 or not call.ringing:
        call.fallback = True
        return fallback_twiml(resp, config)
    if config.voice.bridge == "conference":  # its legs went out with the first answer
        return conference.start(resp, config, call, min(step.ring, remaining), first,
                                place=not call.legs)
    return _dial(resp, config, call, min(step.ring, remaining), first=first)


def _dial(resp: VoiceResponse, config: Config, call: Call | answer.NewCall,
          ring: timedelta, first: bool) -> VoiceResponse:
    if not first:
        say(resp, config, config.voice.hold)
    # The action URL carries the call's state too, so the next step can be rung from
    # memory if the database is away when Twilio asks (voice/failsafe.py).
    dial = resp.dial(caller_id=config.program.number, answer_on_bridge=True,
                     timeout=max(5, int(ring.total_seconds())), method="POST",
                     action=link("voice.dial_done", attempt=call.attempt,
                                 **failsafe.url_state(call.started_at, call.tried)))
    for ident in call.ringing:
        dial.number(config.person(ident).phone, method="POST",
                    url=link("voice.whisper", call=call.call_sid, attempt=call.attempt,
                             person=ident),
                    status_callback=link("voice.status"), status_callback_method="POST",
                    status_callback_event="answered completed")
    return resp
