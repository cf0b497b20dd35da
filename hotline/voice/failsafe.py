"""The voice line without its database: ring the on-call peers from memory.

When the database cannot answer within the webhook budget (down, hung, locked), a
call still goes through the normal escalation steps, with the whisper and the
key press, computed from the rotation held in memory. What the next handler needs
travels in the <Dial action> URL Twilio calls back (Twilio signs the whole URL, so
nobody can alter it): when the call started and who has been rung at which
attempt. So `/voice/next` can go on without a call row, whether the database is
still away or came back without one. The clinical director is texted once that the
router is answering from memory.

Without the database two things are not known, and are accepted: who is busy on
another call (such a peer is rung and can press 2), and which peer pressed 1
(Twilio itself bridges only the first leg that finishes its whisper). Such a call
leaves no statistics line.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, request
from twilio.twiml.voice_response import VoiceResponse

from hotline import fault_alert
from hotline.rotation.model import Config
from hotline.routing import Contact, GiveUp, next_ring
from hotline.voice import edges, voicemail
from hotline.voice.verbs import dial_out, say
from hotline.webhooks import e164, last_good, link, now

FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
NO_LINE = ("We cannot connect your call right now. If you are in crisis, call or text 988. "
           "In an emergency, call 911.")
# Also sent when a bug, not the database, sent a call down this route: said plainly.
VOICE_FAULT = ("Peer line system fault (database unreachable or a router error): calls ring "
               "on-call peers from memory. Check the router.")
# A bridged conversation shorter than this may have been a whisper that hung up:
# the caller, still on the line, is better rung on than left.
TALKED = 20


def fallback_twiml(resp: VoiceResponse, config: Config) -> VoiceResponse:
    fb = config.escalation.fallback
    say(resp, config, fb.message)
    if config.voice.voicemail:  # the forward follows in the recording's action
        voicemail.offer(resp, config)
        return resp
    if fb.forward:
        dial_out(resp, config, fb.forward, timeout=60)
    resp.hangup()
    return resp


# -- the state carried in the action URL -------------------------------------------------

def url_state(started: datetime, tried) -> dict:
    """Query parameters for a <Dial action>: the call's start and who was rung."""
    return {"st": int(started.timestamp()), "tr": ",".join(f"{a}.{p}" for a, p in tried)}


def state_from_url() -> tuple[datetime, tuple[tuple[int, str], ...]] | None:
    """(started, tried) from the action URL, or None if it carries none."""
    started = request.args.get("st", type=int)
    if started is None:
        return None
    tried = []
    for item in filter(None, request.args.get("tr", "").split(",")):
        attempt, _, person = item.partition(".")
        try:
            tried.append((int(attempt), person))
        except ValueError:
            return None
    return datetime.fromtimestamp(started, timezone.utc), tuple(tried)


# -- the handlers ----------------------------------------------------------------------------

def incoming(greet: bool = True) -> VoiceResponse:
    """/voice/incoming (and /voice/menu) without the database: the greeting, then
    the first step's on-call peers. The menu is skipped: the normal order reaches
    everyone on call anyway."""
    refused = edges.not_a_call_here()  # not this line's call: nobody rung from memory either
    if refused is not None:
        return refused
    resp = VoiceResponse()
    loaded = last_good()
    if loaded is None:
        resp.say(NO_LINE)
        resp.hangup()
        return resp
    config = loaded.config
    fault_alert.alert_director(current_app._get_current_object(), config, VOICE_FAULT, now())
    if greet:
        say(resp, config, config.voice.greeting)
    return _ring(resp, loaded, now(), (), next_attempt=0, first=greet)


def next_step() -> VoiceResponse:
    """/voice/next without a call row: the conversation is over, or ring the next step."""
    resp = VoiceResponse()
    loaded = last_good()
    state = state_from_url()
    if loaded is None or state is None or request.form.get("CallStatus") in FINAL_STATUSES:
        resp.hangup()
        return resp
    if request.form.get("DialCallStatus") == "completed" and _talked():
        resp.hangup()  # a peer took it and they have finished talking
        return resp
    started, tried = state
    attempt = request.args.get("attempt", type=int)
    next_attempt = (attempt + 1) if attempt is not None else 0
    return _ring(resp, loaded, started, tried, next_attempt, first=False)


def _talked() -> bool:
    try:
        return int(request.form.get("DialCallDuration") or 0) > TALKED
    except ValueError:
        return False


def _ring(resp: VoiceResponse, loaded, started: datetime, tried, next_attempt: int,
          first: bool) -> VoiceResponse:
    config = loaded.config
    contact = Contact(started_at=started,
                      caller=e164(request.form.get("From"), config.program.region),
                      next_attempt=next_attempt, tried=tuple(tried),
                      deadline=started + config.escalation.max_wait)
    # Who is on another call lives in the database: nobody is known to be busy.
    decision = next_ring(config, loaded.schedule, contact, frozenset(), now())
    if isinstance(decision, GiveUp):
        return fallback_twiml(resp, config)
    if not first:
        say(resp, config, config.voice.hold)
    tried = tuple(tried) + tuple((decision.attempt, p.id) for p in decision.people)
    call_sid = request.form.get("CallSid", "")
    dial = resp.dial(caller_id=config.program.number, answer_on_bridge=True,
                     timeout=max(5, int(decision.ring.total_seconds())), method="POST",
                     action=link("voice.dial_done", attempt=decision.attempt,
                                 **url_state(started, tried)))
    for person in decision.people:
        dial.number(person.phone, method="POST",
                    url=link("voice.whisper", call=call_sid, attempt=decision.attempt,
                             person=person.id),
                    status_callback=link("voice.status"), status_callback_method="POST",
                    status_callback_event="answered completed")
    return resp
