"""The carrier's TwiML walker: runs a call's verbs until someone has to act."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urljoin

from hotline.testing.fake_twilio import ACCOUNT_SID, speech_seconds
from hotline.simulator.records import (FINAL, Call, Dial, Gather, Leg, Party, Pause, Recording,
                                       Seat, new_sid, text_of, clock_face)


class Walker:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

    def _step(self, call: Call, party: Party, leg: Leg | None = None) -> None:
        """Run `party`'s verbs until it has to wait for someone, or its document ends."""
        while call.live and party.wait is None:
            if leg is not None and leg.status in FINAL:
                return
            queue = party.queue if leg is None else None
            if not party.verbs:
                if queue is not None:  # the waitUrl document ended: it plays again
                    self._queue_round_over(call, party)
                    continue
                if leg is not None:  # a whisper that ends without hanging up bridges the leg
                    self._bridge(call, leg)
                else:  # the end of a call's document hangs the call up
                    self._end(call, "completed")
                return
            verb = party.verbs.pop(0)
            now = self.now()
            if verb.tag in ("Say", "Play"):
                party.heard.append(text_of(verb) if verb.tag == "Say" else "(a recording plays)")
                if queue is not None:
                    queue.spoken += speech_seconds(text_of(verb)) if verb.tag == "Say" else 1
            elif verb.tag == "Pause":
                party.wait = Pause(now + timedelta(seconds=int(verb.get("length", 1))))
                if queue is not None:
                    queue.waited = True
            elif verb.tag == "Gather":
                spoken = [text_of(c) for c in verb if c.tag in ("Say", "Play")]
                party.heard.extend(spoken)
                speech = sum(speech_seconds(t) for t in spoken)
                party.wait = Gather(verb, now + timedelta(
                    seconds=speech + int(verb.get("timeout", 5))))
                if queue is not None:
                    queue.waited = True
            elif verb.tag == "Enqueue" and leg is None and queue is None:
                self._enqueue(call, party, verb)
            elif verb.tag == "Leave" and queue is not None:
                self._leave_queue(call, party, "leave")
            elif verb.tag == "Redirect":
                self._fetch(party, text_of(verb), dict(party.params))
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
            elif verb.tag == "Dial" and leg is None and queue is None:
                room = next((n for n in verb if n.tag == "Conference"), None)
                if room is not None:
                    self._join(call, party, verb, room)
                else:
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
        if not numbers and text_of(verb):
            bare = ET.Element("Number")
            bare.text = text_of(verb)
            numbers = [bare]
        dial = Dial(verb, party.url, verb.get("callerId") or call.from_, now,
                    now + timedelta(seconds=timeout), [])
        call.dial = dial
        party.wait = dial
        here = self.numbers()
        for node in numbers[:10]:
            number = text_of(node)
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
            self._note(leg.number, f"Call ended ({clock_face(now - leg.answered_at)}).")
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

    def _leave_queue_or_seat(self, call: Call, party, queue_result: str, seat_why: str) -> None:
        """The caller leaves whatever holds them: Twilio's queue, or a conference seat."""
        if party.queue is not None:
            self._leave_queue(call, party, queue_result)
        if isinstance(party.wait, Seat):
            self._part(party.wait, seat_why)

    def _hang_up_legs(self, call: Call, dial, missed: str | None = None) -> None:
        """A <Dial>'s legs still up end: answered ones complete, ringing ones are
        canceled (with `missed` noted on the peer's phone)."""
        for leg in dial.legs:
            if leg.status not in FINAL:
                self._leg_over(call, leg, "completed" if leg.answered_at else "canceled",
                               finish=False, why=None if leg.answered_at else missed)

    def _end(self, call: Call, status: str, hung_up: bool = False) -> None:
        """The call is over (its caller hung up, TwiML hung up, or it was never answered)."""
        if not call.live:
            return
        now = self.now()
        party = call.party
        self._leave_queue_or_seat(call, party, "hangup", "hangup")
        dial = call.dial
        if isinstance(party.wait, Recording):
            self._recorded(call, party, "", hung_up=True)
        if dial is not None:
            self._hang_up_legs(call, dial, missed=f"Missed call from {self.label(dial.caller_id)}")
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
            self._note(party.number, f"Call ended ({clock_face(now - call.answered_at)}).")
        else:
            duration = 0
            self._note(party.number, f"Missed call from {self.label(call.from_)}"
                       if status in ("no-answer", "canceled") else "You declined a call."
                       if status == "busy" else "The call could not be placed.")
        final = {**party.params, "CallStatus": status, "CallDuration": str(duration)}
        if call.direction == "inbound":  # the number's "Call status changes" webhook
            self.post(self.number_urls()[1], final)
        elif call.status_callback:
            self.post(call.status_callback, final)
