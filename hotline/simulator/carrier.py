"""The simulator's carrier: Twilio's part, played interactively in real time.

`hotline.testing.fake_twilio` plays whole scripted calls at once. Here the same
carrier logic (signed webhooks, the TwiML verbs, parallel <Dial> legs with
<Number url> whispers, the Dial action and status callbacks) is a state
machine that waits for people: a Gather waits for a key on a phone or its
timeout, a <Dial> waits for phones to be answered, declined or to ring out,
and a bridge lasts until somebody presses Hang up. Timeouts are checked by
`tick()`, which the simulator's poll (and every page refresh) calls.

The router is reached exactly as Twilio reaches it: each webhook is an HTTP
POST with an `X-Twilio-Signature` computed with the account's auth token over
the router's URL (handed to the app in-process, as WSGI). The router's REST
sends (Messages.json, Calls.json) reach the carrier through
`rest_message`/`rest_call`; those only queue work and never wait on a webhook,
so a webhook that sends texts can never deadlock with the carrier.

Time is the router's own clock (`HOTLINE_CLOCK`), so fast-forwarding it moves
ring timeouts and the router's escalation timers together.
"""
from __future__ import annotations

import logging
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

import phonenumbers
from twilio.request_validator import RequestValidator

from ..model import CLINICAL_DIRECTOR
from ..testing.fake_twilio import ACCOUNT_SID, _speech_seconds

log = logging.getLogger(__name__)

DEFAULT_OFFICER = "+12625550142"  # 555-01xx: reserved for fiction
OUTBOUND_RING = 60  # seconds Twilio rings a REST-placed call (its default Timeout)
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}


def new_sid(prefix: str) -> str:
    # Random, like Twilio's: the router remembers MessageSids across restarts.
    return prefix + uuid.uuid4().hex


def pretty(number: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(number),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


def _text(node: ET.Element) -> str:
    return " ".join((node.text or "").split())


@dataclass
class Msg:
    sid: str
    from_: str
    to: str
    body: str
    at: datetime


@dataclass
class Note:
    number: str
    text: str
    at: datetime


@dataclass
class Gather:
    node: ET.Element
    deadline: datetime
    digits: str = ""


@dataclass
class Pause:
    deadline: datetime


@dataclass
class Recording:
    node: ET.Element
    started: datetime
    deadline: datetime


@dataclass
class Party:
    """A phone running TwiML: the caller of an inbound call, the peer of a REST-placed
    call, or a <Number url> whisper on a dialled leg."""

    number: str
    params: dict
    url: str = ""
    verbs: list = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    wait: object | None = None  # Gather | Pause | Recording | Dial


@dataclass
class Leg:
    sid: str
    number: str
    node: ET.Element
    status: str = "ringing"  # ringing, whisper, bridged, then a final status
    party: Party | None = None  # the whisper running on this phone
    answered_at: datetime | None = None
    reported: bool = False


@dataclass
class Dial:
    node: ET.Element
    url: str  # the document it came from, for relative URLs
    caller_id: str
    started: datetime
    deadline: datetime
    legs: list[Leg]
    winner: Leg | None = None
    external: str | None = None  # a number outside the simulator (988): taken as answered
    outside: Leg | None = None  # its leg: Twilio reports it to its statusCallback when over
    bridged_at: datetime | None = None


@dataclass
class Call:
    sid: str
    direction: str  # inbound | outbound-api
    from_: str
    party: Party
    started: datetime
    status: str = "in-progress"  # ringing (REST call not yet answered), in-progress, ended
    url: str = ""  # outbound-api: the TwiML fetched on answer
    status_callback: str | None = None
    ring_deadline: datetime | None = None
    dial: Dial | None = None
    ended_at: datetime | None = None
    answered_at: datetime | None = None
    connected_to: list[str] = field(default_factory=list)  # every number ever bridged

    @property
    def live(self) -> bool:
        return self.status != "ended"


class Simulator:
    """Locks: `lock` guards calls and is held while a call's webhooks run (in-process, so
    nothing else waits on this thread meanwhile); `_log_lock` (texts, notes) and
    `_queue_lock` (REST arrivals) are only ever held for a list operation, so the REST
    API, served on another thread while a webhook waits for it, never blocks."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()  # calls, phones, messages
        self._queue_lock = threading.Lock()  # REST arrivals only; never held around a webhook
        # Texts and notes: the REST API appends here while a webhook may hold self.lock.
        self._log_lock = threading.Lock()
        self._queue: list = []
        self.messages: list[Msg] = []
        self.notes: list[Note] = []
        self.calls: list[Call] = []
        self.officer = DEFAULT_OFFICER
        self.base_url: str | None = app.config.get("HOTLINE_PUBLIC_URL") or None
        self.deleted: set[str] = set()  # SIDs the router asked the "provider" to delete
        self._client = app.test_client()

    # -- configuration ------------------------------------------------------------
    def now(self) -> datetime:
        return self.app.config["HOTLINE_CLOCK"]()

    def loaded(self):
        return self.app.extensions["hotline.rotation"].current()

    def program(self) -> str:
        return self.loaded().config.program.number

    def people(self) -> list:
        config = self.loaded().config
        return [*config.peers.values(), config.clinical_director]

    def numbers(self) -> set[str]:
        return {self.officer, *(p.phone for p in self.people())}

    def label(self, number: str) -> str:
        config = self.loaded().config
        if number == config.program.number:
            return f"the peer support line ({pretty(number)})"
        person = config.person_by_phone(number)
        if person is not None:
            return person.name
        if number == self.officer:
            return f"the officer ({pretty(number)})"
        return pretty(number)

    def set_officer(self, raw: str) -> str:
        config = self.loaded().config
        try:
            parsed = phonenumbers.parse(raw, config.program.region)
        except phonenumbers.NumberParseException:
            raise ValueError("That is not a phone number.") from None
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError("That is not a phone number.")
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if number == config.program.number:
            raise ValueError("That is the program number itself.")
        person = config.person_by_phone(number)
        if person is not None:
            raise ValueError(f"That is {person.name}'s phone; use their phone below.")
        with self.lock:
            old, self.officer = self.officer, number
            if old != number:  # the old phone leaves the simulator: its calls end
                for call in [c for c in self.calls if c.live]:
                    if call.party.number == old:
                        self._end(call, "busy" if call.status == "ringing" else "completed",
                                  hung_up=True)
                    elif call.dial is not None:
                        for leg in call.dial.legs:
                            if leg.number == old and leg.status not in FINAL:
                                self.hangup(call.sid, leg.sid)
        return number

    # -- the HTTP boundary ----------------------------------------------------------
    def base(self) -> str:
        return (self.base_url or "http://127.0.0.1:5000").rstrip("/")

    def post(self, url: str, params: dict):
        """POST a webhook exactly as Twilio would: signed over the full URL and the form."""
        url = urljoin(self.base() + "/", url)
        tokens = self.app.config.get("TWILIO_AUTH_TOKENS") or [""]
        signature = RequestValidator(tokens[0]).compute_signature(url, params)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self._client.post(path, data=params, headers={"X-Twilio-Signature": signature},
                                 base_url=f"{parts.scheme}://{parts.netloc}")

    def _twiml(self, url: str, params: dict) -> tuple[str, list]:
        url = urljoin(self.base() + "/", url)
        try:
            resp = self.post(url, params)
            ok = resp.status_code == 200 and resp.mimetype.endswith("xml")
            root = ET.fromstring(resp.get_data()) if ok else None
        except Exception:  # noqa: BLE001 - what Twilio does with a broken answer
            log.exception("the simulator could not fetch TwiML from %s", urlsplit(url).path)
            root = None
        if root is None or root.tag != "Response":
            log.warning("%s did not answer TwiML: the caller hears an application error",
                        urlsplit(url).path)
            say = ET.Element("Say")
            say.text = APPLICATION_ERROR
            return url, [say, ET.Element("Hangup")]
        return url, list(root)

    def _fetch(self, party: Party, url: str, params: dict) -> None:
        party.url, party.verbs = self._twiml(urljoin(party.url or self.base() + "/", url), params)

    # -- texts ------------------------------------------------------------------------
    def text(self, sender: str, body: str) -> None:
        """`sender`'s phone texts the program number."""
        program = self.program()
        sid = new_sid("SM")
        with self._log_lock:
            self.messages.append(Msg(sid, sender, program, body, self.now()))
        params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                  "AccountSid": ACCOUNT_SID, "MessagingServiceSid": "", "From": sender,
                  "To": program, "Body": body, "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        resp = self.post("/sms/incoming", params)  # never under self.lock: it may send texts
        if resp.status_code != 200:
            self._note(sender, f"Not delivered (the line answered {resp.status_code})")
            return
        try:
            root = ET.fromstring(resp.get_data())
        except ET.ParseError:
            return
        for m in root.iter("Message"):
            body_node = m.find("Body")
            reply = Msg(new_sid("SM"), m.get("from") or program, m.get("to") or sender,
                        (body_node.text if body_node is not None else m.text) or "", self.now())
            with self._log_lock:
                self.messages.append(reply)
            # <Message action> is the reply's status callback (statusCallback, deprecated).
            self._report(reply, m.get("action") or m.get("statusCallback"))

    def rest_message(self, to: str, from_: str, body: str, status_callback: str | None) -> Msg:
        """Messages.json: the router sends a text."""
        msg = Msg(new_sid("SM"), from_, to, body, self.now())
        with self._log_lock:
            self.messages.append(msg)
        self._report(msg, status_callback)
        return msg

    def _report(self, msg: Msg, status_callback: str | None) -> None:
        """Queue a sent text's delivery reports, posted at the next tick, as Twilio does."""
        if not status_callback:
            return
        status = "delivered" if msg.to in self.numbers() else "undelivered"
        with self._queue_lock:
            for s in ("sent", status):
                self._queue.append(("status", status_callback,
                                    {"MessageSid": msg.sid, "SmsSid": msg.sid,
                                     "MessageStatus": s, "SmsStatus": s,
                                     "AccountSid": ACCOUNT_SID, "From": msg.from_, "To": msg.to,
                                     **({"ErrorCode": "30006"} if s == "undelivered" else {})}))

    def rest_call(self, to: str, from_: str, url: str, status_callback: str | None) -> str:
        """Calls.json: the router places a call (a peer's CALL). It rings at the next tick."""
        sid = new_sid("CA")
        with self._queue_lock:
            self._queue.append(("call", sid, to, from_, url, status_callback))
        return sid

    def _note(self, number: str, text: str) -> None:
        with self._log_lock:
            self.notes.append(Note(number, text, self.now()))

    # -- calls: starting ---------------------------------------------------------------
    def call(self, caller: str) -> Call:
        """`caller`'s phone calls the program number."""
        with self.lock:
            now = self.now()
            sid = new_sid("CA")
            params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller,
                      "To": self.program(), "Direction": "inbound", "CallStatus": "ringing",
                      "ApiVersion": "2010-04-01"}
            call = Call(sid, "inbound", caller, Party(caller, params), now, answered_at=now)
            self.calls.append(call)
            self._fetch(call.party, "/voice/incoming", dict(params))
            call.party.params["CallStatus"] = "in-progress"
            self._step(call, call.party)
            return call

    def _place(self, sid: str, to: str, from_: str, url: str, status_callback) -> None:
        now = self.now()
        params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": from_, "To": to,
                  "Direction": "outbound-api", "CallStatus": "in-progress",
                  "ApiVersion": "2010-04-01"}
        call = Call(sid, "outbound-api", from_, Party(to, params), now, status="ringing",
                    url=url, status_callback=status_callback,
                    ring_deadline=now + timedelta(seconds=OUTBOUND_RING))
        self.calls.append(call)
        if to not in self.numbers():
            self._end(call, "failed")

    # -- calls: what people do ---------------------------------------------------------
    def find(self, call_sid: str, leg_sid: str | None = None) -> tuple[Call, Leg | None]:
        call = next((c for c in self.calls if c.sid == call_sid and c.live), None)
        if call is None:
            raise LookupError("That call has ended.")
        if not leg_sid:
            return call, None
        leg = next((g for g in (call.dial.legs if call.dial else []) if g.sid == leg_sid), None)
        if leg is None or leg.status in FINAL:
            raise LookupError("That call has ended.")
        return call, leg

    def answer(self, call_sid: str, leg_sid: str | None = None) -> None:
        with self.lock:
            call, leg = self.find(call_sid, leg_sid)
            if leg is None:
                if call.status != "ringing":
                    return
                call.status = "in-progress"
                call.answered_at = self.now()
                self._fetch(call.party, call.url, dict(call.party.params))
                self._step(call, call.party)
                return
            if leg.status != "ringing":
                return
            leg.answered_at = self.now()
            url = leg.node.get("url")
            if not url:
                self._bridge(call, leg)
                return
            leg.status = "whisper"
            dial = call.dial
            leg.party = Party(leg.number, self._leg_params(call, leg, "in-progress"),
                              url=dial.url)
            self._fetch(leg.party, url, dict(leg.party.params))
            self._step(call, leg.party, leg)

    def decline(self, call_sid: str, leg_sid: str | None = None) -> None:
        """Declining a ringing phone: the carrier reports the line busy."""
        with self.lock:
            call, leg = self.find(call_sid, leg_sid)
            if leg is None:
                if call.status == "ringing":
                    self._end(call, "busy")
                return
            if leg.status == "ringing":
                self._leg_over(call, leg, "busy")

    def press(self, call_sid: str, key: str, leg_sid: str | None = None) -> None:
        """A key on the phone's keypad (DTMF); heard only while a <Gather> listens."""
        if key not in "0123456789*#" or len(key) != 1:
            raise ValueError("not a key")
        with self.lock:
            call, leg = self.find(call_sid, leg_sid)
            party = leg.party if leg else call.party
            if party is not None and isinstance(party.wait, Recording):
                if key in party.wait.node.get("finishOnKey", "1234567890*#"):
                    self._recorded(call, party, key)
                return
            if party is None or not isinstance(party.wait, Gather):
                return
            gather = party.wait
            finish = gather.node.get("finishOnKey", "#")
            if finish and key == finish:
                self._gathered(call, party, leg, gather.digits)
                return
            gather.digits += key
            wanted = int(gather.node.get("numDigits") or 0)
            if wanted and len(gather.digits) >= wanted:
                self._gathered(call, party, leg, gather.digits)
            else:
                gather.deadline = self.now() + timedelta(seconds=int(gather.node.get("timeout", 5)))

    def hangup(self, call_sid: str, leg_sid: str | None = None) -> None:
        with self.lock:
            call, leg = self.find(call_sid, leg_sid)
            if leg is None:
                if call.status == "ringing":
                    self._end(call, "busy")
                else:
                    self._end(call, "completed", hung_up=True)
                return
            if leg.status == "ringing":
                self._leg_over(call, leg, "busy")
            elif leg.status == "whisper":
                self._leg_over(call, leg, "completed")
            elif leg.status == "bridged":
                self._leg_over(call, leg, "completed", finish=False)
                self._finish_dial(call)

    # -- calls: the TwiML walker -------------------------------------------------------
    def _step(self, call: Call, party: Party, leg: Leg | None = None) -> None:
        """Run `party`'s verbs until it has to wait for someone, or its document ends."""
        while call.live and party.wait is None:
            if leg is not None and leg.status in FINAL:
                return
            if not party.verbs:
                if leg is not None:  # a whisper that ends without hanging up bridges the leg
                    self._bridge(call, leg)
                else:  # the end of a call's document hangs the call up
                    self._end(call, "completed")
                return
            verb = party.verbs.pop(0)
            now = self.now()
            if verb.tag in ("Say", "Play"):
                party.heard.append(_text(verb) if verb.tag == "Say" else "(a recording plays)")
            elif verb.tag == "Pause":
                party.wait = Pause(now + timedelta(seconds=int(verb.get("length", 1))))
            elif verb.tag == "Gather":
                spoken = [_text(c) for c in verb if c.tag in ("Say", "Play")]
                party.heard.extend(spoken)
                speech = sum(_speech_seconds(t) for t in spoken)
                party.wait = Gather(verb, now + timedelta(
                    seconds=speech + int(verb.get("timeout", 5))))
            elif verb.tag == "Redirect":
                self._fetch(party, _text(verb), dict(party.params))
            elif verb.tag == "Record" and leg is None:
                if verb.get("playBeep", "true") == "true":
                    party.heard.append("(beep)")
                party.wait = Recording(verb, now, now + timedelta(
                    seconds=int(verb.get("maxLength", 3600))))
            elif verb.tag in ("Hangup", "Reject"):
                if leg is not None:
                    self._leg_over(call, leg, "completed")
                else:
                    self._end(call, "completed")
                return
            elif verb.tag == "Dial" and leg is None:
                self._start_dial(call, party, verb)
            else:
                where = "in a whisper" if leg is not None else "here"
                party.heard.append(f"(the simulator does not play <{verb.tag}> {where})")

    def _gathered(self, call: Call, party: Party, leg: Leg | None, digits: str | None) -> None:
        """A Gather is over: keys were pressed, or it timed out (`digits` None or '')."""
        gather = party.wait
        party.wait = None
        node = gather.node
        action = node.get("action") or party.url
        if digits:
            self._fetch(party, action, {**party.params, "Digits": digits})
        elif node.get("actionOnEmptyResult") == "true":
            self._fetch(party, action, {**party.params, "Digits": ""})
        # else: Twilio carries on with the verb after the Gather
        self._step(call, party, leg)

    def _recorded(self, call: Call, party: Party, digits: str, hung_up: bool = False) -> None:
        """A <Record> is over (key, maxLength or hang-up). The simulator has no audio: the
        recording is only its SID and length, which is all the router keeps anyway."""
        rec = party.wait
        party.wait = None
        node = rec.node
        duration = str(int((self.now() - rec.started).total_seconds()))
        sid = new_sid("RE")
        account = self.app.config.get("TWILIO_ACCOUNT_SID") or ACCOUNT_SID
        url = f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{sid}"
        party.heard.append(f"(recorded {duration} s)")
        cb = node.get("recordingStatusCallback")
        if cb:
            self.post(urljoin(party.url, cb), {
                "AccountSid": ACCOUNT_SID, "CallSid": call.sid, "RecordingSid": sid,
                "RecordingUrl": url, "RecordingStatus": "completed",
                "RecordingDuration": duration, "RecordingChannels": "1",
                "RecordingSource": "RecordVerb"})
        params = {**party.params, "RecordingSid": sid, "RecordingUrl": url,
                  "RecordingDuration": duration, "Digits": digits or ""}
        action = node.get("action") or party.url
        if hung_up:  # Twilio still requests the action; nobody hears the answer
            self._twiml(urljoin(party.url, action), {**params, "CallStatus": "completed",
                                                     "Digits": "hangup"})
            return
        self._fetch(party, action, params)
        self._step(call, party)

    def _leg_params(self, call: Call, leg: Leg, status: str) -> dict:
        return {"CallSid": leg.sid, "ParentCallSid": call.sid, "AccountSid": ACCOUNT_SID,
                "From": call.dial.caller_id, "To": leg.number, "Direction": "outbound-dial",
                "CallStatus": status, "ApiVersion": "2010-04-01"}

    def _start_dial(self, call: Call, party: Party, verb: ET.Element) -> None:
        now = self.now()
        timeout = int(verb.get("timeout", 30))
        numbers = [n for n in verb if n.tag == "Number"]
        if not numbers and _text(verb):
            bare = ET.Element("Number")
            bare.text = _text(verb)
            numbers = [bare]
        dial = Dial(verb, party.url, verb.get("callerId") or call.from_, now,
                    now + timedelta(seconds=timeout), [])
        call.dial = dial
        party.wait = dial
        here = self.numbers()
        for node in numbers[:10]:
            number = _text(node)
            if number in here:
                dial.legs.append(Leg(new_sid("CA"), number, node))
            elif dial.external is None:
                dial.external = number
                dial.outside = Leg(new_sid("CA"), number, node, status="bridged",
                                   answered_at=now)
        if dial.legs:
            dial.external = dial.outside = None  # a real phone in the simulator takes precedence
        elif dial.external:
            dial.bridged_at = now
            call.connected_to.append(dial.external)
        else:
            self._finish_dial(call)

    def _bridge(self, call: Call, leg: Leg) -> None:
        dial = call.dial
        if dial is None or dial.winner is not None:
            self._leg_over(call, leg, "canceled")
            return
        dial.winner, dial.bridged_at = leg, self.now()
        leg.status = "bridged"
        call.connected_to.append(leg.number)
        for other in dial.legs:
            if other is not leg and other.status not in FINAL:
                # Twilio bridges the first leg and hangs up the rest.
                self._leg_over(call, other, "completed" if other.answered_at else "canceled",
                               finish=False, why="The call was taken by another phone.")

    def _leg_over(self, call: Call, leg: Leg, status: str, finish: bool = True,
                  why: str | None = None) -> None:
        leg.status = status
        now = self.now()
        if why:
            self._note(leg.number, why)
        elif status == "no-answer":
            self._note(leg.number, f"Missed call from {self.label(call.dial.caller_id)}")
        elif status == "busy":
            self._note(leg.number, "You declined a call.")
        elif leg.answered_at:
            self._note(leg.number, f"Call ended ({_minutes(now - leg.answered_at)}).")
        self._report_leg(call, leg)
        dial = call.dial
        if finish and dial is not None and dial.winner is None \
                and all(g.status in FINAL for g in dial.legs):
            self._finish_dial(call)

    def _report_leg(self, call: Call, leg: Leg) -> None:
        if leg.reported:
            return
        leg.reported = True
        cb = leg.node.get("statusCallback")
        if cb:
            self.post(urljoin(call.dial.url, cb), self._leg_params(call, leg, leg.status))

    def _dial_result(self, call: Call) -> dict:
        dial = call.dial
        now = self.now()
        if dial.winner is not None or dial.external:
            result = {"DialCallStatus": "completed",
                      "DialCallDuration": str(int((now - dial.bridged_at).total_seconds()))}
            result["DialCallSid"] = (dial.winner or dial.outside).sid
            return result
        statuses = {g.status for g in dial.legs}
        declined = any(g.answered_at for g in dial.legs)
        status = ("completed" if declined else "busy" if statuses == {"busy"}
                  else "failed" if statuses == {"failed"} else "no-answer")
        return {"DialCallStatus": status}

    def _finish_dial(self, call: Call) -> None:
        """The <Dial> is over while the caller is still there: ask its action what next."""
        dial, party = call.dial, call.party
        result = self._dial_result(call)
        call.dial = None
        party.wait = None
        action = dial.node.get("action")
        if action:
            self._fetch(party, urljoin(dial.url, action), {**party.params, **result})
        self._step(call, party)

    def _end(self, call: Call, status: str, hung_up: bool = False) -> None:
        """The call is over (its caller hung up, TwiML hung up, or it was never answered)."""
        if not call.live:
            return
        now = self.now()
        party = call.party
        dial = call.dial
        if isinstance(party.wait, Recording):
            self._recorded(call, party, "", hung_up=True)
        if dial is not None:
            for leg in dial.legs:
                if leg.status not in FINAL:
                    self._leg_over(call, leg, "completed" if leg.answered_at else "canceled",
                                   finish=False, why=None if leg.answered_at else
                                   f"Missed call from {self.label(dial.caller_id)}")
            if dial.outside is not None:  # no phone here to note it on; Twilio reports it
                dial.outside.status = "completed"
                self._report_leg(call, dial.outside)
            result = self._dial_result(call)
            if dial.winner is None and not dial.external:
                result = {"DialCallStatus": "canceled"}
            call.dial = None
            party.wait = None
            action = dial.node.get("action")
            if action:  # Twilio still asks the action; nobody hears its answer
                self._twiml(urljoin(dial.url, action),
                            {**party.params, "CallStatus": "completed", **result})
        call.status = "ended"
        call.ended_at = now
        if call.answered_at is not None:
            duration = int((now - call.answered_at).total_seconds())
            self._note(party.number, f"Call ended ({_minutes(now - call.answered_at)}).")
        else:
            duration = 0
            self._note(party.number, f"Missed call from {self.label(call.from_)}"
                       if status == "no-answer" else "You declined a call."
                       if status == "busy" else "The call could not be placed.")
        final = {**party.params, "CallStatus": status, "CallDuration": str(duration)}
        if call.direction == "inbound":  # the number's "Call status changes" webhook
            self.post("/voice/status", final)
        elif call.status_callback:
            self.post(call.status_callback, final)

    # -- time ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Act on REST arrivals and on every timeout that has passed."""
        with self._queue_lock:
            queued, self._queue = self._queue, []
        for item in queued:
            if item[0] == "status":
                try:
                    self.post(item[1], item[2])
                except Exception:  # noqa: BLE001 - a delivery report is best effort
                    log.exception("the simulator could not post a delivery report")
            else:
                with self.lock:
                    self._place(*item[1:])
        with self.lock:
            now = self.now()
            for call in list(self.calls):
                if not call.live:
                    continue
                if call.status == "ringing":
                    if now >= call.ring_deadline:
                        self._end(call, "no-answer")
                    continue
                self._expire(call, call.party, None, now)
                dial = call.dial
                if dial is None:
                    continue
                for leg in list(dial.legs):
                    if leg.party is not None and leg.status == "whisper":
                        self._expire(call, leg.party, leg, now)
                if call.dial is dial and dial.winner is None and now >= dial.deadline:
                    ringing = [g for g in dial.legs if g.status == "ringing"]
                    for leg in ringing:
                        self._leg_over(call, leg, "no-answer", finish=False)
                    if ringing and all(g.status in FINAL for g in dial.legs) and call.live:
                        self._finish_dial(call)
            # Forget calls long over; their notes stay on the phones.
            self.calls = [c for c in self.calls if c.live or now - c.ended_at < timedelta(minutes=10)]

    def _expire(self, call: Call, party: Party, leg: Leg | None, now: datetime) -> None:
        wait = party.wait
        if isinstance(wait, Gather) and now >= wait.deadline:
            self._gathered(call, party, leg, wait.digits)
        elif isinstance(wait, Recording) and now >= wait.deadline:
            self._recorded(call, party, "")
        elif isinstance(wait, Pause) and now >= wait.deadline:
            party.wait = None
            self._step(call, party, leg)

    # -- what each phone shows ----------------------------------------------------------
    def phone_view(self, number: str) -> dict:
        """The thread with the program number and any live call, for one phone."""
        with self._log_lock:
            items = [{"kind": "out" if m.from_ == number else "in", "text": m.body, "at": m.at}
                     for m in self.messages if number in (m.from_, m.to)]
            items += [{"kind": "note", "text": n.text, "at": n.at}
                      for n in self.notes if n.number == number]
        items.sort(key=lambda i: i["at"])
        tz = self.loaded().config.program.timezone
        with self.lock:
            calls = self._call_views(number)
        return {"thread": [{**i, "at": i["at"].isoformat(),
                            "time": i["at"].astimezone(tz).strftime("%H:%M:%S")}
                           for i in items],
                "calls": calls}

    def _call_views(self, number: str) -> list[dict]:
        views = []
        now = self.now()
        for call in self.calls:
            if not call.live:
                continue
            dial = call.dial
            if call.party.number == number:
                party = call.party
                view = {"call": call.sid, "leg": None, "keypad": isinstance(party.wait, Gather),
                        "heard": party.heard[-6:], "buttons": ["hangup"]}
                if call.status == "ringing":
                    view.update(state="ringing", buttons=["answer", "decline"], heard=[],
                                title=f"Incoming call from {self.label(call.from_)}")
                elif dial is not None and dial.winner is not None:
                    view.update(state="connected",
                                title=f"Connected to {self.label(dial.winner.number)}",
                                since=_minutes(now - dial.bridged_at))
                elif dial is not None and dial.external:
                    view.update(state="connected", title=f"Connected to {dial.external} "
                                "(outside the simulator)", since=_minutes(now - dial.bridged_at))
                elif dial is not None:
                    view.update(state="dialing", title="Ringing... (you hear ringback)")
                elif isinstance(party.wait, Gather):
                    view.update(state="listening", title="Listening: press a key")
                elif isinstance(party.wait, Recording):
                    view.update(state="recording", keypad=True,
                                title="Recording a message: press # to finish",
                                since=_minutes(now - party.wait.started))
                else:
                    view.update(state="talking", title="On the line")
                if call.direction == "inbound":
                    view["subtitle"] = f"Call to {self.label(self.program())}"
                views.append(view)
            for leg in dial.legs if dial else []:
                if leg.number != number or leg.status in FINAL:
                    continue
                view = {"call": call.sid, "leg": leg.sid, "heard": [], "keypad": False,
                        "subtitle": f"From {self.label(dial.caller_id)}"}
                if leg.status == "ringing":
                    view.update(state="ringing", title="Incoming call",
                                buttons=["answer", "decline"])
                elif leg.status == "whisper":
                    view.update(state="whisper", title="Call answered: you hear",
                                heard=leg.party.heard[-6:], buttons=["hangup"],
                                keypad=isinstance(leg.party.wait, Gather))
                else:
                    caller = self.label(call.party.number) \
                        if call.direction == "outbound-api" else "the caller (number hidden)"
                    view.update(state="connected", title=f"Connected to {caller}",
                                since=_minutes(now - dial.bridged_at), buttons=["hangup"])
                views.append(view)
        return views

    def state(self) -> dict:
        loaded = self.loaded()
        config = loaded.config
        now = self.now()
        on_call: dict[str, list[str]] = {}
        for plan in loaded.schedule.plan(now):
            for reach in plan.reach:
                on_call.setdefault(reach.person.id, []).append(f"step {plan.number}")
        phones = [{"id": "officer", "role": "officer", "name": "An officer",
                   "number": self.officer, "display": pretty(self.officer), "on_call": ""}]
        for person in self.people():
            role = "clinical_director" if person.id == CLINICAL_DIRECTOR else "peer"
            phones.append({"id": person.id, "role": role, "name": person.name,
                           "number": person.phone, "display": pretty(person.phone),
                           "on_call": ", ".join(on_call.get(person.id, []))})
        for phone in phones:
            phone.update(self.phone_view(phone["number"]))
        local = now.astimezone(config.program.timezone)
        return {"program": {"name": config.program.name, "number": config.program.number,
                            "display": pretty(config.program.number)},
                "now": local.strftime("%a %Y-%m-%d %H:%M:%S %Z"),
                "ahead": _minutes(getattr(self.app.config["HOTLINE_CLOCK"], "offset",
                                          timedelta(0))),
                "phones": phones}


def _minutes(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
