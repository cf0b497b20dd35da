"""The carrier's calls: starting them, and what people do on them (answer, press, hang up)."""
from __future__ import annotations

from datetime import timedelta

from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.simulator.records import (FINAL, OUTBOUND_RING, Call, Gather, Leg, Party, Recording,
                                       Seat, new_sid)


class Calls:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

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
            self._fetch(call.party, self.number_urls()[0], dict(params))
            call.party.params["CallStatus"] = "in-progress"
            self._step(call, call.party)
            return call

    def _place(self, sid: str, to: str, from_: str, url: str, status_callback,
               timeout: int = OUTBOUND_RING) -> None:
        now = self.now()
        params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": from_, "To": to,
                  "Direction": "outbound-api", "CallStatus": "in-progress",
                  "ApiVersion": "2010-04-01"}
        call = Call(sid, "outbound-api", from_, Party(to, params), now, status="ringing",
                    url=url, status_callback=status_callback,
                    ring_deadline=now + timedelta(seconds=timeout))
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
            if party is not None and isinstance(party.wait, Seat):
                # In a conference the keys are tones the others hear; `*` leaves it when
                # the Dial says hangupOnStar.
                if key == "*" and party.wait.dial.get("hangupOnStar") == "true":
                    self._part(party.wait, "star")
                return
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

    # -- REST: the router changes a call -------------------------------------------------
    def _rest_update(self, sid: str, status: str | None, url: str | None) -> None:
        """calls(sid).update, applied at the tick after it arrived. `canceled` ends a call
        still ringing and leaves one in progress alone; `completed` ends either (a ringing
        one as canceled); `url` moves a live call to new TwiML (or, ringing, changes what
        plays on answer)."""
        call = next((c for c in self.calls if c.sid == sid and c.live), None)
        if call is None:
            return
        if status in ("canceled", "completed"):
            if call.status == "ringing":
                self._end(call, "canceled")
            elif status == "completed":
                self._end(call, "completed", hung_up=True)
            return
        if not url:
            return
        if call.status == "ringing":
            call.url = url
            return
        self._redirect(call, url)

    def _redirect(self, call: Call, url: str) -> None:
        """Twilio drops whatever the call was doing (a queue, a conference, a dial, a
        Gather) and plays the TwiML at `url`."""
        party = call.party
        self._leave_queue_or_seat(call, party, "redirected", "redirect")
        dial = call.dial
        if dial is not None:
            self._hang_up_legs(call, dial)
            call.dial = None
        party.wait = None
        if not call.live:
            return
        self._fetch(party, url, dict(party.params))
        self._step(call, party)
