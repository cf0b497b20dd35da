"""A TEST-ONLY line that bridges calls through a conference, for the simulator's carrier.

It plays the router's side of the conference contract in a few fixed answers (the
caller waits in the queue `hotline` while peer legs are placed by REST; a peer who
presses 1 is put in the conference `hotline-<caller CallSid>`, the caller leaves the
queue into it; `*` gives the peer a menu: 8 rings a coach heard only by the peer,
7 makes the coach a full participant). It is registered on a test app beside the
real router and the program number points at it (`HOTLINE_SIMULATOR_VOICE_URL`,
as a number's voice URL is set in Twilio's console), so the carrier's queues and
conferences are checked here whether or not the router speaks conference yet.
Everything it is asked is written down in `Line.requests`, in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from hotline.twilio_client import client

PREFIX = "/test-line"


@dataclass
class Line:
    peers: list[str]  # numbers rung when a call comes in, all at once
    coach: str = ""  # the number rung when a peer presses 8
    ring: int = 20  # seconds each peer's leg rings (calls.create timeout)
    leave_after: int = 0  # polls of the waitUrl before <Leave/> with nobody accepted (0: never)
    wait_docs: list[str] = field(default_factory=list)  # waitUrl answers to give first, raw
    peer_starts: bool = True  # the peer's startConferenceOnEnter
    requests: list[tuple[str, dict]] = field(default_factory=list)
    caller: str = ""  # the caller's CallSid
    legs: list[str] = field(default_factory=list)
    accepted: str = ""  # the peer leg that pressed 1
    conference: str = ""  # ConferenceSid, from the status callback
    coach_leg: str = ""
    polls: int = 0

    def said(self, path: str) -> list[dict]:
        return [form for p, form in self.requests if p == path]

    def events(self) -> list[tuple[str, str]]:
        return [(f["StatusCallbackEvent"], f.get("CallSid", "")) for f in self.said("events")]


def settings() -> dict:
    return {"HOTLINE_SIMULATOR_VOICE_URL": f"{PREFIX}/incoming",
            "HOTLINE_SIMULATOR_STATUS_URL": f"{PREFIX}/status"}


def blueprint(line: Line) -> Blueprint:
    bp = Blueprint("test_conference_line", __name__, url_prefix=PREFIX)

    def twiml(resp: VoiceResponse) -> Response:
        return Response(str(resp), mimetype="text/xml")

    def conference(resp: VoiceResponse, events: bool = True, **attrs) -> VoiceResponse:
        dial = Dial(action=attrs.pop("action", None), hangup_on_star=attrs.pop("star", None))
        if events:  # the coach gives none: the conference's is its first participant's
            attrs.update(status_callback=f"{PREFIX}/events",
                         status_callback_event="start end join leave")
        dial.conference(f"hotline-{line.caller}", beep="false", **attrs)
        resp.append(dial)
        return resp

    def here(path: str) -> str:  # REST wants absolute URLs
        return f"{request.url_root.rstrip('/')}{PREFIX}/{path}"

    def back_to_the_call(resp: VoiceResponse) -> VoiceResponse:
        return conference(resp, action=f"{PREFIX}/peer-keys", star="true",
                          start_conference_on_enter=str(line.peer_starts).lower(),
                          end_conference_on_exit="false", wait_url="")

    @bp.before_request
    def _write_down():
        line.requests.append((request.path.removeprefix(PREFIX + "/"),
                              {**request.form.to_dict(), **request.args.to_dict()}))

    @bp.post("/incoming")
    def incoming():
        line.caller = request.form["CallSid"]
        program = request.form["To"]
        for number in line.peers:
            line.legs.append(client(current_app).calls.create(
                to=number, from_=program, url=here("whisper"), method="POST",
                timeout=line.ring, status_callback=here("leg"),
                status_callback_method="POST", status_callback_event=["completed"]).sid)
        resp = VoiceResponse()
        resp.say("Thank you for calling the peer line.")
        resp.enqueue("hotline", wait_url=f"{PREFIX}/wait", wait_url_method="POST",
                     action=f"{PREFIX}/queued", method="POST")
        return twiml(resp)

    @bp.post("/wait")
    def wait():
        line.polls += 1
        if line.wait_docs:
            return Response(line.wait_docs.pop(0), mimetype="text/xml")
        resp = VoiceResponse()
        if line.accepted or (line.leave_after and line.polls >= line.leave_after):
            resp.leave()
        else:
            resp.say("Please stay on the line.")
            resp.pause(length=2)
        return twiml(resp)

    @bp.post("/wait-key")
    def wait_key():
        resp = VoiceResponse()
        if request.form.get("Digits") == "0":
            resp.leave()
        return twiml(resp)

    @bp.post("/queued")
    def queued():
        resp = VoiceResponse()
        if request.form.get("QueueResult") != "leave":
            return twiml(resp)
        if not line.accepted:
            resp.say("Nobody could take your call. Goodbye.")
            resp.hangup()
            return twiml(resp)
        return twiml(conference(resp, action=f"{PREFIX}/done",
                                start_conference_on_enter="true",
                                end_conference_on_exit="true"))

    @bp.post("/whisper")
    def whisper():
        resp = VoiceResponse()
        gather = Gather(num_digits=1, timeout=5, action=f"{PREFIX}/screen")
        gather.say("Peer support line. Press 1 to take this call.")
        resp.append(gather)
        resp.hangup()
        return twiml(resp)

    @bp.post("/screen")
    def screen():
        resp = VoiceResponse()
        if request.form.get("Digits") != "1" or line.accepted:
            resp.say("Another peer has already taken this call. Thank you.")
            resp.hangup()
            return twiml(resp)
        line.accepted = request.form["CallSid"]
        for leg in line.legs:
            if leg != line.accepted:
                client(current_app).calls(leg).update(status="completed")
        resp.say("Connecting you now.")
        return twiml(back_to_the_call(resp))

    @bp.post("/peer-keys")
    def peer_keys():
        resp = VoiceResponse()
        if request.form.get("CallStatus") == "completed":
            return twiml(resp)
        gather = Gather(num_digits=1, timeout=5, action=f"{PREFIX}/peer-key")
        gather.say("Press 8 to bring in a coach. Press 7 to let the caller hear the coach.")
        resp.append(gather)
        return twiml(back_to_the_call(resp))

    @bp.post("/peer-key")
    def peer_key():
        resp = VoiceResponse()
        digit = request.form.get("Digits")
        if digit == "8":
            line.legs.append(client(current_app).calls.create(
                to=line.coach, from_=request.form["From"], url=here("coach"),
                method="POST", timeout=line.ring).sid)
            resp.say("Calling the coach.")
        elif digit == "7":
            client(current_app).conferences(line.conference).participants(
                line.coach_leg).update(coaching=False)
            resp.say("The caller hears the coach now.")
        return twiml(back_to_the_call(resp))

    @bp.post("/coach")
    def coach():
        resp = VoiceResponse()
        gather = Gather(num_digits=1, timeout=5, action=f"{PREFIX}/coach-join")
        gather.say("A peer asks you to coach them. Only the peer will hear you. Press 1.")
        resp.append(gather)
        return twiml(resp)

    @bp.post("/coach-join")
    def coach_join():
        return twiml(conference(VoiceResponse(), events=False, coach=line.accepted,
                                start_conference_on_enter="false",
                                end_conference_on_exit="false"))

    @bp.post("/events")
    def events():
        line.conference = request.form["ConferenceSid"]
        if request.form.get("Coaching") == "true":
            line.coach_leg = request.form["CallSid"]
        return Response(status=204)

    @bp.post("/done")
    def done():
        resp = VoiceResponse()
        if request.form.get("CallStatus") != "completed":
            resp.say("The call has ended. Goodbye.")
            resp.hangup()
        return twiml(resp)

    @bp.post("/moved")
    def moved():
        resp = VoiceResponse()
        resp.say("Your peer has hung up. Goodbye.")
        resp.hangup()
        return twiml(resp)

    @bp.post("/leg")
    @bp.post("/status")
    def report():
        return Response(status=204)

    return bp
