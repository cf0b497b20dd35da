"""Calls bridged through a conference (rotation file: `voice: bridge: conference`).

The caller waits in Twilio's queue while the router rings the step's peers on legs of
their own (REST calls.create, after the answer has gone). Twilio polls /voice/wait,
and that loop, not a timer, moves the call on, as <Dial action> does in the direct
bridge: a peer took it (Leave: the caller joins the conference the peer is already
in), the step is over (the next step's legs go out), or nobody (the fallback). The
whisper, the screen and the first-wins claim are calls.py's, the same in both modes.

A conference can be joined later, which a <Dial><Number> bridge cannot: a clinician as
a coach heard only by the peer, then as a full participant, or paged and joining on a 1
(voice/peer_keys.py, paging/). Its name is `hotline-<caller CallSid>`: a SID, nothing
about the caller. From memory (database away) every handler falls back to the direct
route (voice/failsafe.py): /voice/wait says Leave, /voice/queued rings from memory.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import requests
from flask import Blueprint, current_app, request
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from hotline import twilio_client
from hotline.deadlines import after_answer
from hotline.records.retention import forget_at_provider
from hotline.routing import GiveUp
from hotline.store import Call
from hotline.voice import edges, failsafe
from hotline.voice.answer import NewCall
from hotline.voice.failsafe import fallback_twiml
from hotline.voice.ringing import decide
from hotline.voice.verbs import WHISPER_WAIT, say
from hotline.webhooks import link, now, rotation, transaction, twilio_webhook

log = logging.getLogger(__name__)
bp = Blueprint("conference", __name__, url_prefix="/voice")

QUEUE = "hotline"
POLL = 2  # seconds between the wait loop's looks at the row: a 1 is heard within ~2 s
REASSURE = 15  # seconds of queue silence before "Please stay on the line." again
GRACE = 5  # seconds past a step's ring and whisper before the loop gives up on its legs
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}
PREFIX = "hotline-"


def name(call_sid: str) -> str:
    return PREFIX + call_sid


def public(path: str) -> str:
    """An absolute URL for Twilio's REST API (TwiML may use relative ones)."""
    base = current_app.config.get("HOTLINE_PUBLIC_URL") or request.url_root
    return base.rstrip("/") + path


# -- the caller -----------------------------------------------------------------------

def start(resp: VoiceResponse, config, call: Call | NewCall, ring: timedelta, first: bool,
          place: bool = True) -> VoiceResponse:
    """The caller's first routing answer: into the queue; the step's legs go out after."""
    if not first:
        say(resp, config, config.voice.hold)
    resp.enqueue(QUEUE, wait_url=link("conference.wait"), wait_url_method="POST",
                 action=link("conference.queued"), method="POST")
    if place:
        place_legs(config, call, ring)
    return resp


def place_legs(config, call: Call | NewCall, ring: timedelta) -> None:
    """One REST call per peer of the step, after the answer; the legs' SIDs and when the
    step is over are written to the row once placed."""
    app = current_app._get_current_object()
    sid, attempt = call.call_sid, call.attempt
    jobs = []
    for ident in call.ringing:
        args = {"call": sid, "attempt": attempt, "person": ident}
        jobs.append((ident, config.person(ident).phone,
                     public(link("voice.whisper", mode="conference", **args)),
                     public(link("conference.leg", **args))))
    seconds = max(5, int(ring.total_seconds()))
    # A peer who picks up at the last ring still hears the whisper and may press 1.
    over = now() + timedelta(seconds=seconds + WHISPER_WAIT + GRACE) + _whisper_time(config)
    after_answer(lambda: _place_now(app, sid, attempt, jobs, seconds, over,
                                    config.program.number))


def _whisper_time(config) -> timedelta:
    return timedelta(seconds=len(config.voice.whisper.split()) / 2.5 + 3)


def _place_now(app, sid, attempt, jobs, seconds, over, program) -> None:
    legs = []
    for ident, phone, url, callback in jobs:
        try:
            placed = twilio_client.client(app).calls.create(
                to=phone, from_=program, url=url, method="POST", timeout=seconds,
                status_callback=callback, status_callback_method="POST",
                status_callback_event=["completed"])
            legs.append([attempt, ident, placed.sid, False])
        except (TwilioException, requests.RequestException):
            log.warning("Twilio did not place a peer's leg; it counts as ended")
            legs.append([attempt, ident, None, True])
    with app.extensions["hotline.sessions"]() as db, db.begin():
        call = db.get(Call, sid, with_for_update=True)
        stray = []
        if call is None or call.accepted_by or call.fallback:
            stray = [leg[2] for leg in legs if leg[2]]  # nobody will take these: end them
        else:
            # A leg's status callback can come before this write (a busy line): keep its end.
            known = {leg[2] for leg in call.legs or [] if leg[2]}
            call.legs = (call.legs or []) + [leg for leg in legs if leg[2] not in known]
            if call.attempt == attempt:
                call.step_at = over
    end_legs(app, stray)


def end_legs(app, sids) -> None:
    """Hang up legs still ringing or talking. `completed`, not `canceled`: Twilio's docs
    say canceled leaves a call that is already in progress alone, completed ends both."""
    for leg_sid in sids:
        try:
            twilio_client.client(app).calls(leg_sid).update(status="completed")
        except (TwilioException, requests.RequestException):
            log.warning("Twilio did not end a peer's leg; it rings out on its own timeout")


def end_open_legs_after_answer(call: Call, keep: str | None = None) -> None:
    app = current_app._get_current_object()
    stray = [leg[2] for leg in call.legs or [] if leg[2] and not leg[3] and leg[2] != keep]
    if stray:
        after_answer(lambda: end_legs(app, stray))


def _step_over(config, call: Call) -> bool:
    t = now()
    if t >= call.started_at + config.escalation.max_wait:
        return True  # whatever the legs say: the caller's wait is bounded
    ringing = set(call.ringing or [])
    ended = {leg[1] for leg in call.legs or [] if leg[0] == call.attempt and leg[3]}
    if ringing and ringing <= ended:
        return True
    return call.step_at is not None and t >= call.step_at


def _leave() -> VoiceResponse:
    resp = VoiceResponse()
    resp.leave()  # then /voice/queued, whose emergency answer rings from memory
    return resp


@bp.post("/wait")
@twilio_webhook(_leave)
@edges.checked_sid(_leave)
def wait():
    """The queue's waitUrl, polled while the caller waits: Leave, the next step, or a pause."""
    loaded = rotation()
    config = loaded.config
    resp = VoiceResponse()
    with transaction() as db:
        call = db.get(Call, request.form["CallSid"], with_for_update=True)
        if call is not None and call.accepted_by and not call.bridged:
            _taken_back(call)  # the peer hung up before the caller left the queue
        elif call is None or call.accepted_by or call.fallback:
            resp.leave()
            return resp
        elif not _step_over(config, call):
            if _reassure_now(int(request.form.get("QueueTime") or 0)):
                say(resp, config, config.voice.hold)
            resp.pause(length=POLL)
            return resp
        if not _next_step(resp, db, loaded, call):
            resp.leave()  # to the fallback
    return resp


def _reassure_now(waited: int) -> bool:
    """Once every REASSURE seconds in the queue: silence longer than that sounds like a
    dropped call to somebody already at the end of their rope (a direct bridge plays
    ringback instead)."""
    return waited >= REASSURE and waited // REASSURE != (waited - POLL) // REASSURE


def _taken_back(call: Call) -> None:
    """A peer pressed 1 and hung up before the caller reached them: nobody has the call,
    so routing goes on (that peer was tried)."""
    call.accepted_by = call.accepted_leg = call.accepted_at = call.accepted_step = None


def _next_step(resp: VoiceResponse, db, loaded, call: Call) -> bool:
    """Ring the next step (its legs after the answer), or False for the fallback."""
    config = loaded.config
    call.attempt += 1
    decision = decide(db, loaded, call)
    if isinstance(decision, GiveUp):
        log.info("call reached the fallback (%s)", decision.reason)
        end_open_legs_after_answer(call)
        return False
    call.step_at = None  # until its legs are placed
    say(resp, config, config.voice.hold)
    place_legs(config, call, decision.ring)
    return True


def _ring_from_memory() -> VoiceResponse:
    return failsafe.incoming(greet=False)


@bp.post("/queued")
@twilio_webhook(_ring_from_memory)
@edges.checked_sid(edges.hangup)
def queued():
    """The queue's action: the caller left it (a peer took the call, or the fallback),
    or hung up while waiting (the answer is ignored)."""
    if request.form.get("QueueResult") in ("hangup", "redirected"):
        # Hung up, or moved by a REST update elsewhere: Twilio ignores this answer, and
        # the row must not be marked as fallen back.
        return VoiceResponse()
    config = rotation().config
    resp = VoiceResponse()
    with transaction() as db:
        call = db.get(Call, request.form["CallSid"], with_for_update=True)
        if call is None:
            return _ring_from_memory()  # the row is gone: still never a dead end
        if call.accepted_by and call.bridged:
            return caller_joins(resp, call.call_sid)
        if call.accepted_by:  # the peer took it and hung up before the caller joined
            _taken_back(call)
            if _next_step(resp, db, rotation(), call):
                return start(resp, config, call, timedelta(0), first=True, place=False)
        call.fallback = True  # or the queue failed the caller (full, an error): fall back
    return fallback_twiml(resp, config)


def caller_joins(resp: VoiceResponse, call_sid: str) -> VoiceResponse:
    # The caller ends the conference on leaving: nobody stays behind in it.
    dial = resp.dial(action=link("conference.done"), method="POST")
    dial.conference(name(call_sid), start_conference_on_enter=True,
                    end_conference_on_exit=True, beep=False,
                    status_callback=link("conference.events"),
                    status_callback_method="POST",
                    status_callback_event="start end join leave")
    return resp


def peer_joins(resp: VoiceResponse, call_sid: str) -> VoiceResponse:
    """The accepted peer, into the conference; `*` takes them to the keys (peer_keys.py)."""
    dial = resp.dial(hangup_on_star=True, method="POST",
                     action=link("peer_keys.keys", call=call_sid))
    dial.conference(name(call_sid), start_conference_on_enter=True,
                    end_conference_on_exit=False, beep=False, wait_url="",
                    status_callback=link("conference.events"),
                    status_callback_method="POST",
                    status_callback_event="start end join leave")
    return resp


def goodbye(config) -> VoiceResponse:
    resp = VoiceResponse()
    say(resp, config, config.voice.goodbye)
    resp.hangup()
    return resp


@bp.post("/conference-done")
@twilio_webhook(edges.hangup)
@edges.checked_sid(edges.hangup)
def done():
    """The caller's conference is over (or the peer hung up and the call was moved here)."""
    with transaction() as db:
        # The caller is out of the room: a peer whose Dial action comes after this (a
        # `*` at the same moment) is told the caller has gone, never put back alone.
        call = db.get(Call, request.form["CallSid"], with_for_update=True)
        if call is not None:
            call.conference_ended = True
    if request.form.get("CallStatus") in FINAL:
        return VoiceResponse()  # they hung up: Twilio ignores this answer
    return goodbye(rotation().config)


# -- the peers' legs ---------------------------------------------------------------------

@bp.post("/leg")
@twilio_webhook(edges.empty)
@edges.checked_sid(edges.empty)
def leg():
    """A peer leg's status callback: the leg is over."""
    form = request.form
    if form.get("CallStatus") not in FINAL:
        return VoiceResponse()
    leg_sid = form["CallSid"]
    with transaction() as db:
        forget_at_provider(current_app, db, leg_sid, "call", now())
        call = db.get(Call, request.args.get("call", ""), with_for_update=True)
        if call is None:
            return VoiceResponse()
        legs = [list(leg) for leg in call.legs or []]
        for entry in legs:
            if entry[2] == leg_sid:
                entry[3] = True
                break
        else:  # before its placement was written (see _place_now)
            legs.append([request.args.get("attempt", type=int), request.args.get("person"),
                         leg_sid, True])
        call.legs = legs
        if call.accepted_leg == leg_sid:
            peer_left(db, call)
    return VoiceResponse()


def peer_left(db, call: Call) -> None:
    """The accepted peer hung up: free them, and take the caller out of a silent
    conference to the goodbye (once, whichever callback says it first)."""
    if not call.bridged:
        return
    call.bridged = False
    call.updated_at = now()
    if call.conference_ended or not call.caller_joined:
        return  # the caller has left already, or is still waiting (the loop routes on)
    goodbye_after_answer(call)


def goodbye_after_answer(call: Call) -> None:
    """Move the caller's call to the goodbye (REST), once this answer has gone."""
    app = current_app._get_current_object()
    sid, url = call.call_sid, public(link("conference.done"))
    after_answer(lambda: _move(app, sid, url))


def _move(app, sid: str, url: str) -> None:
    try:
        twilio_client.client(app).calls(sid).update(url=url, method="POST")
    except (TwilioException, requests.RequestException):
        log.warning("Twilio did not move a caller out of an ended conference")


@bp.post("/conference-events")
@twilio_webhook(edges.empty)
def events():
    """The conference's status callbacks: its SID (for *7) and who is in it."""
    form = request.form
    friendly = form.get("FriendlyName", "")
    if not friendly.startswith(PREFIX) or not edges.call_sid_ok(friendly[len(PREFIX):]):
        return VoiceResponse()
    event, who = form.get("StatusCallbackEvent"), form.get("CallSid")
    with transaction() as db:
        call = db.get(Call, friendly[len(PREFIX):], with_for_update=True)
        if call is None:
            return VoiceResponse()
        call.conference_sid = form.get("ConferenceSid") or call.conference_sid
        if event == "participant-join" and who == call.call_sid:
            call.caller_joined = True
            if not call.bridged:  # the peer left as the caller came: not a silent room
                goodbye_after_answer(call)
        elif event == "participant-join" and form.get("Coaching") == "true":
            call.coach_leg = who
        elif event == "participant-leave" and who and who == call.coach_leg:
            call.coach_leg = None
        elif event == "conference-end" or (event == "participant-leave"
                                           and who == call.call_sid):
            call.conference_ended = True
    return VoiceResponse()
