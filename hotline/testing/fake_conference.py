"""The fake carrier's conference bridge: a queue, legs placed by REST, and conferences,
played in virtual time while the caller waits.

`FakeTwilio.call` hands over here at an <Enqueue>. From then on several phones act at
once: the caller polls the queue's waitUrl; every call the router places through the
REST API (FakeRest.calls) rings a scripted `Phone` and, answered, walks its TwiML (the
whisper, the screen, a <Dial><Conference>); calls(sid).update(...) ends or moves a call;
participants(...).update(coaching=False) unmutes a coach. Each phone but the caller's
is a generator that yields how many seconds it waits; the scheduler resumes them in
time order, with the router's clock set to each event's instant, so a 1 pressed while
the caller is half way through a pause is heard at the next poll, as on Twilio.

Conferences behave as Twilio documents them: created by their first participant, whose
statusCallback gets every event (conference-start|end, participant-join|leave with the
participant's CallSid and Coaching); `endConferenceOnExit` ends it for everyone when
that participant leaves (each other participant's <Dial action> fires); `hangupOnStar`
takes a participant out on `*` and runs its <Dial action>; a coach is heard only by the
call it coaches. What happened is written on the caller's CallRecord: who rang, what
each phone heard, who was in the conference and when, who coached.
"""
from __future__ import annotations

import heapq
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin

FOREVER = 4 * 3600.0  # Twilio's longest call
REST_DELAY = 1.0  # seconds before a calls(sid).update(...) reaches the phone


class UnsupportedTwiML(AssertionError):
    pass


class Ended(Exception):
    """This phone's call is over (it hung up, or the router ended it)."""

    def __init__(self, status: str = "completed"):
        super().__init__(status)
        self.status = status


class Moved(Exception):
    """calls(sid).update(url=...): the call leaves what it was doing for new TwiML."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


@dataclass
class Interrupt:
    kind: str  # "end" | "move" | "conference-ended"
    url: str | None = None


@dataclass
class Member:
    sid: str
    number: str
    coach_of: str | None
    end_on_exit: bool
    actor: object  # the phone's generator, or "caller"


@dataclass
class Conference:
    name: str
    sid: str
    callback: str | None
    events: tuple[str, ...]
    members: dict[str, Member] = field(default_factory=dict)
    started: bool = False
    over: bool = False


class Sim:
    def __init__(self, carrier, rec):
        self.carrier = carrier
        self.rec = rec  # the caller's CallRecord
        self.start = carrier.clock.now
        self._heap: list = []
        self._seq = itertools.count()
        self._tokens: dict[int, int] = {}  # actor id -> the token of its live wake-up
        self._actors: dict[int, object] = {}
        self._sent: dict[int, object] = {}
        self.conferences: dict[str, Conference] = {}
        self.legs: dict[str, int] = {}  # CallSid -> actor id
        self.caller_interrupt: Interrupt | None = None
        self._calls_seen, self._updates_seen, self._parts_seen = carrier._rest_marks
        bg = carrier.background
        if bg is not None:
            self.spawn(self._background(*bg))

    # -- time --------------------------------------------------------------------------
    def _rest(self):
        return self.carrier.rest

    def elapsed(self) -> float:
        return (self.carrier.clock.now - self.rec_start).total_seconds()

    @property
    def rec_start(self):
        return self.carrier._call_start

    def spawn(self, gen) -> int:
        ident = next(self._seq)
        self._actors[ident] = gen
        self._wake(ident, 0.0, None)
        return ident

    def _wake(self, ident: int, delay: float | None, value) -> None:
        token = next(self._seq)
        self._tokens[ident] = token
        if delay is None:
            return  # waits until interrupted
        t = self.carrier.clock.now.timestamp() + delay
        heapq.heappush(self._heap, (t, token, ident, value, False))

    def interrupt(self, actor, what: Interrupt, after: float = 0.0) -> None:
        """Deliver `what` to a phone `after` seconds from now; until then it goes on as
        it was (a REST request takes Twilio a moment, so a key pressed meanwhile counts)."""
        if actor == "caller":
            self.caller_interrupt = what
            return
        if actor in self._actors:
            t = self.carrier.clock.now.timestamp() + after
            heapq.heappush(self._heap, (t, next(self._seq), actor, what, True))

    def alive(self) -> bool:
        return any(not self._is_background(i) for i in self._actors)

    def _is_background(self, ident) -> bool:
        return getattr(self._actors.get(ident), "__name__", "") == "_background"

    def run_until(self, seconds: float, stop=None) -> None:
        """Let every phone act until `seconds` from now (or until `stop()` is true)."""
        clock = self.carrier.clock
        target = clock.now.timestamp() + seconds
        while self._heap and self._heap[0][0] <= target:
            t, token, ident, value, forced = heapq.heappop(self._heap)
            if ident not in self._actors or (not forced and self._tokens.get(ident) != token):
                continue  # superseded by an interrupt, or the phone is done
            clock.set_at_least(_at(clock, t))
            self._step(ident, value)
            if stop is not None and stop():
                return
        clock.set_at_least(_at(clock, target))

    def finish(self) -> None:
        """The caller is gone: let the other phones end (the router ends their legs)."""
        clock = self.carrier.clock
        end = clock.now.timestamp() + FOREVER
        while self.alive() and clock.now.timestamp() < end:
            pending = [e[0] for e in self._heap if (e[4] or self._tokens.get(e[2]) == e[1])
                       and e[2] in self._actors and not self._is_background(e[2])]
            if not pending:
                return  # what is left waits for nothing that can still happen
            self.run_until(max(0.0, min(pending) - clock.now.timestamp()))

    def _step(self, ident: int, value) -> None:
        gen = self._actors[ident]
        try:
            delay = gen.send(value) if ident in self._sent else next(gen)
            self._sent[ident] = True
        except StopIteration:
            self._actors.pop(ident, None)
            return
        self._wake(ident, delay, None)

    def _background(self, interval: float, fn):
        while True:
            fn(self.carrier.clock.now)
            self.absorb()
            yield interval

    # -- what the router asked of Twilio's REST API --------------------------------------
    def absorb(self) -> None:
        rest = self._rest()
        if rest is None:
            return
        while self._calls_seen < len(rest.calls):
            placed = rest.calls[self._calls_seen]
            self._calls_seen += 1
            self.carrier.rang(self.rec, placed.to, placed.from_, self.elapsed())
            ident = self.spawn(self._leg(placed, self.carrier.phone(placed.to)))
            self.legs[placed.sid] = ident
        while self._updates_seen < len(rest.call_updates):
            sid, form = rest.call_updates[self._updates_seen]
            self._updates_seen += 1
            actor = "caller" if sid == self.rec.sid else self.legs.get(sid)
            if actor is None:
                continue
            if form.get("Status") in ("completed", "canceled"):
                self.interrupt(actor, Interrupt("end"), after=REST_DELAY)
            elif form.get("Url"):
                self.interrupt(actor, Interrupt("move", form["Url"]), after=REST_DELAY)
        while self._parts_seen < len(rest.participant_updates):
            conf_sid, call_sid, form = rest.participant_updates[self._parts_seen]
            self._parts_seen += 1
            for conf in self.conferences.values():
                member = conf.members.get(call_sid)
                if conf.sid == conf_sid and member and form.get("Coaching") == "false":
                    member.coach_of = None
                    self.note(member.number, "heard by everyone")

    def note(self, number: str, what: str) -> None:
        self.rec.conference.append((round(self.elapsed(), 1), number, what))

    # -- a call the router placed --------------------------------------------------------
    def _leg(self, placed, phone):
        carrier = self.carrier
        params = {"CallSid": placed.sid, "AccountSid": carrier.account, "From": placed.from_,
                  "To": placed.to, "Direction": "outbound-api", "CallStatus": "in-progress"}
        heard = self.rec.whispers.setdefault(placed.to, [])
        answered_at = None
        status = "completed"
        try:
            if phone.busy or phone.fails:
                yield 0.0
                raise Ended("busy" if phone.busy else "failed")
            if phone.answer_after is None or phone.answer_after >= placed.timeout:
                wake = yield float(placed.timeout)
                raise Ended("canceled" if wake else "no-answer")
            wake = yield float(phone.answer_after)
            if wake:
                raise Ended("canceled")
            answered_at = carrier.clock.now
            state = {"gathers": 0, "digit": None, "talked": 0.0, "keys": list(phone.keys)}
            url = placed.url
            while url:
                try:
                    yield from self._walk(url, params, phone, heard, state)
                    url = None
                except Moved as moved:
                    url = moved.url
        except Ended as ended:
            status = ended.status if answered_at is None else "completed"
        self.rec.leg_status[placed.to] = status
        if placed.status_callback:
            duration = (carrier.clock.now - answered_at).total_seconds() if answered_at else 0
            carrier.post(placed.status_callback, {**params, "CallStatus": status,
                                                  "CallDuration": str(int(duration))})
            self.absorb()

    def _wait(self, seconds: float | None):
        """Wait, as a phone on a call: an interrupt ends or moves the call."""
        wake = yield seconds
        if wake is None:
            return None
        if wake.kind == "end":
            raise Ended("completed")
        if wake.kind == "move":
            raise Moved(wake.url)
        return wake

    def _walk(self, url, params, phone, heard, state):
        carrier = self.carrier
        url, doc = carrier._twiml(url, params)
        self.absorb()
        while doc is not None:
            jumped = None
            for verb in doc:
                if verb.tag in ("Say", "Play"):
                    heard.append((verb.text or "").strip())
                    yield from self._wait(_speech(verb.text))
                elif verb.tag == "Pause":
                    yield from self._wait(float(verb.get("length", 1)))
                elif verb.tag == "Gather":
                    for child in verb:
                        heard.append((child.text or "").strip())
                    state["gathers"] += 1
                    key = phone.press if state["gathers"] == 1 else state["digit"]
                    state["digit"] = None
                    if key is not None:
                        yield from self._wait(phone.press_after if state["gathers"] == 1 else 1.0)
                        jumped = (verb.get("action") or url, {**params, "Digits": key})
                    else:
                        yield from self._wait(float(verb.get("timeout", 5)))
                        if verb.get("actionOnEmptyResult") == "true":
                            jumped = (verb.get("action") or url, {**params, "Digits": ""})
                elif verb.tag in ("Hangup", "Reject"):
                    raise Ended("completed")
                elif verb.tag == "Redirect":
                    jumped = (verb.text.strip(), params)
                elif verb.tag == "Dial" and verb.find("Conference") is not None:
                    jumped = yield from self._member(url, verb, params, phone, state)
                else:
                    raise UnsupportedTwiML(f"the fake carrier does not know <{verb.tag}> "
                                           "on a placed call")
                if jumped:
                    break
            if not jumped:
                return
            url, doc = carrier._twiml(urljoin(url, jumped[0]), jumped[1])
            self.absorb()

    def _member(self, url, dial, params, phone, state):
        """A placed call in a conference until it hangs up, presses `*`, or it ends."""
        sid = params["CallSid"]
        conf = self.join(url, dial.find("Conference"), sid, params["To"], actor=self._current(sid))
        star = dial.get("hangupOnStar") == "true"
        while True:
            left = phone.talk - state["talked"]
            next_key = state["keys"][0][0] - state["talked"] if state["keys"] and star else None
            wait = left if next_key is None else max(0.0, min(left, next_key))
            began = self.carrier.clock.now
            try:
                wake = yield from self._wait(max(0.0, wait))
            except (Ended, Moved):
                state["talked"] += (self.carrier.clock.now - began).total_seconds()
                self.leave(conf, sid)
                raise
            state["talked"] += (self.carrier.clock.now - began).total_seconds()
            if wake is not None and wake.kind == "conference-ended":
                return self._dial_action(url, dial, params)
            if state["talked"] >= phone.talk - 1e-6:
                self.leave(conf, sid)
                action = dial.get("action")
                if action:  # Twilio asks, the phone is gone: the answer is ignored
                    self.carrier._twiml(urljoin(url, action), {**params, "CallStatus": "completed"})
                    self.absorb()
                raise Ended("completed")
            if next_key is not None and state["talked"] >= state["keys"][0][0] - 1e-6:
                state["digit"] = state["keys"].pop(0)[1]
                self.leave(conf, sid)
                self.note(params["To"], "pressed *")
                return self._dial_action(url, dial, params)

    def _dial_action(self, url, dial, params):
        action = dial.get("action")
        return (action, {**params, "CallStatus": "in-progress"}) if action else None

    def _current(self, sid):
        return self.legs.get(sid)

    # -- conferences ---------------------------------------------------------------------
    def join(self, url, node: ET.Element, sid: str, number: str, actor) -> Conference:
        name = node.text.strip()
        conf = self.conferences.get(name)
        if conf is None or conf.over:
            callback = node.get("statusCallback")
            conf = Conference(name, self.carrier.sid("CF"),
                              urljoin(url, callback) if callback else None,
                              tuple((node.get("statusCallbackEvent") or "").split()))
            self.conferences[name] = conf
        coach = node.get("coach")
        conf.members[sid] = Member(sid, number, coach, node.get("endConferenceOnExit") == "true",
                                   actor)
        if coach:
            coached = next((m.number for m in conf.members.values() if m.sid == coach), coach)
            self.note(number, f"joined as coach of {coached}")
        else:
            self.note(number, "joined")
        if self.rec.sid in conf.members and self.rec.connected_to is None:
            peer = next((m for m in conf.members.values()
                         if m.sid != self.rec.sid and not m.coach_of), None)
            self.rec.connected_to = peer.number if peer else None
        if not conf.started and node.get("startConferenceOnEnter", "true") == "true":
            conf.started = True
            self._event(conf, "start", "conference-start")
        self._event(conf, "join", "participant-join", sid, coaching=bool(coach))
        return conf

    def leave(self, conf: Conference, sid: str) -> None:
        member = conf.members.pop(sid, None)
        if member is None or conf.over:
            return
        self.note(member.number, "left")
        self._event(conf, "leave", "participant-leave", sid, coaching=bool(member.coach_of))
        if member.end_on_exit or not conf.members:
            self.end(conf)

    def end(self, conf: Conference) -> None:
        conf.over = True
        self._event(conf, "end", "conference-end")
        for other in list(conf.members.values()):
            conf.members.pop(other.sid)
            self.note(other.number, "left (the conference ended)")
            self.interrupt(other.actor, Interrupt("conference-ended"))

    def _event(self, conf: Conference, short: str, event: str, sid: str | None = None,
               coaching: bool = False) -> None:
        if not conf.callback or short not in conf.events:
            return
        form = {"AccountSid": self.carrier.account, "ConferenceSid": conf.sid,
                "FriendlyName": conf.name, "StatusCallbackEvent": event,
                "Timestamp": self.carrier.clock.now.strftime("%a, %d %b %Y %H:%M:%S +0000")}
        if sid:
            form.update(CallSid=sid, Coaching="true" if coaching else "false")
        self.carrier.post(conf.callback, form)
        self.absorb()


def _speech(text: str | None) -> float:
    return max(1.0, len((text or "").split()) / 2.5)


def _at(clock, timestamp: float):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(timestamp, timezone.utc)
