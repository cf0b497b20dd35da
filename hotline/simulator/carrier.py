"""The simulator's carrier: Twilio's part, played interactively in real time.

`hotline.testing.fake_twilio` plays whole scripted calls at once. Here the same
carrier logic (signed webhooks, the TwiML verbs, parallel <Dial> legs with
<Number url> whispers, the Dial action and status callbacks) is a state
machine that waits for people: a Gather waits for a key on a phone or its
timeout, a <Dial> waits for phones to be answered, declined or to ring out,
and a bridge lasts until somebody presses Hang up. Calls bridged through a
conference play the same way: <Enqueue> and its waitUrl loop (`queues.py`),
named conferences with coaches and `*` (`conferences.py`), and the REST updates
that end, move or un-coach a live call. Timeouts are checked by `tick()`, which
the simulator's poll (and every page refresh) calls.

The router is reached exactly as Twilio reaches it: each webhook is an HTTP
POST with an `X-Twilio-Signature` computed with the account's auth token over
the router's URL (handed to the app in-process, as WSGI). The router's REST
sends (Messages.json, Calls.json, Calls/{sid}.json, a conference participant's
update) reach the carrier through `rest_message`/`rest_call`/`rest_update_*`;
those only queue work (applied at the next tick) and never wait on a webhook,
so a webhook that sends texts can never deadlock with the carrier.

Time is the router's own clock (`HOTLINE_CLOCK`), so fast-forwarding it moves
ring timeouts and the router's escalation timers together.
"""
from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import phonenumbers
from twilio.request_validator import RequestValidator

from hotline.deadlines import drain

from hotline.simulator.calls import Calls
from hotline.simulator.conferences import Conferences
from hotline.simulator.records import (APPLICATION_ERROR, FINAL, Call, Msg, Note, Party, Room,
                                       pretty)
from hotline.simulator.screens import Screens
from hotline.simulator.queues import Queues
from hotline.simulator.texts import Texts
from hotline.simulator.ticks import Ticks
from hotline.simulator.walker import Walker

log = logging.getLogger(__name__)

DEFAULT_OFFICER = "+12625550142"  # 555-01xx: reserved for fiction


class Simulator(Texts, Calls, Walker, Queues, Conferences, Ticks, Screens):
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
        self.rooms: dict[str, Room] = {}  # live conferences by name
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
        # Clinicians too: a page rings their phone, and they text ACK, CONSULT replies.
        return [*config.peers.values(), *config.clinical.people, config.clinical_director]

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

    def number_urls(self) -> tuple[str, str]:
        """The program number's "A call comes in" and "Call status changes" URLs, as set in
        Twilio's console: the router's, unless a test plays a line of its own."""
        config = self.app.config
        return (config.get("HOTLINE_SIMULATOR_VOICE_URL") or "/voice/incoming",
                config.get("HOTLINE_SIMULATOR_STATUS_URL") or "/voice/status")

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
        resp = self._client.post(path, data=params, headers={"X-Twilio-Signature": signature},
                                 base_url=f"{parts.scheme}://{parts.netloc}")
        drain(self.app)  # texts the webhook sends after answering, as the test harness does
        return resp

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
