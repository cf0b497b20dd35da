"""The carrier's conferences: <Dial action hangupOnStar><Conference ...>name</Conference></Dial>.

As Twilio does: the first participant creates the named conference; it starts when a
participant with `startConferenceOnEnter` (default true) is in, and until then the others
hear its `waitUrl` (`""` is silence). A participant with `coach="CA..."` is heard only by
that call and hears everyone, until REST makes it a full participant (`coaching=false`).
The conference's `statusCallback` is the first participant's that gives one, with the
events it names (`start end join leave`). A participant leaves when:

- its call hangs up: the Dial action is POSTed with `CallStatus=completed` (answer ignored);
- it presses `*` on a Dial with `hangupOnStar="true"`: the action's TwiML plays next;
- the conference ends (a participant with `endConferenceOnExit` left, or the last one did):
  every other participant's Dial action runs and their call goes on with its TwiML;
- REST moves its call to new TwiML (`calls(sid).update(url=)`): no Dial action.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timezone
from urllib.parse import urljoin

from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.simulator.records import Call, Party, Room, Seat, new_sid, text_of

EVENTS = {"conference-start": "start", "conference-end": "end",
          "participant-join": "join", "participant-leave": "leave"}


class Conferences:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

    def _join(self, call: Call, party: Party, dial: ET.Element, noun: ET.Element) -> None:
        name = text_of(noun)
        now = self.now()
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(new_sid("CF"), name, now)
        seat = Seat(room, call, dial, noun, party.url, now, coach=noun.get("coach") or None)
        if room.callback is None and noun.get("statusCallback"):
            room.callback = urljoin(party.url, noun.get("statusCallback"))
            room.events = frozenset((noun.get("statusCallbackEvent") or "start end").split())
        room.seats.append(seat)
        party.wait = seat
        self._conference_event(room, "participant-join", seat)
        if room.started_at is None and seat.flag("startConferenceOnEnter", True):
            room.started_at = now
            self._conference_event(room, "conference-start")
        elif room.started_at is None:
            self._conference_waiting(party, noun)

    def _conference_waiting(self, party: Party, noun: ET.Element) -> None:
        """What a participant hears before the conference starts: said once, not looped."""
        wait_url = noun.get("waitUrl")
        if wait_url is None:
            party.heard.append("(hold music until the conference starts)")
        elif wait_url == "":
            party.heard.append("(silence until the conference starts)")
        else:
            _, verbs = self._twiml(urljoin(party.url, wait_url), dict(party.params))
            party.heard.extend(text_of(v) for v in verbs if v.tag == "Say")

    def _conference_event(self, room: Room, event: str, seat: Seat | None = None,
                          **extra: str) -> None:
        if not room.callback or EVENTS[event] not in room.events:
            return
        room.sequence += 1
        params = {"AccountSid": ACCOUNT_SID, "ConferenceSid": room.sid, "FriendlyName": room.name,
                  "StatusCallbackEvent": event, "SequenceNumber": str(room.sequence),
                  "Timestamp": self.now().astimezone(timezone.utc).strftime(
                      "%a, %d %b %Y %H:%M:%S +0000"), **extra}
        if seat is not None:
            params.update({"CallSid": seat.call.sid, "Coaching": "true" if seat.coach else "false",
                           "Muted": "false", "Hold": "false",
                           "EndConferenceOnExit": str(seat.flag("endConferenceOnExit",
                                                                False)).lower(),
                           "StartConferenceOnEnter": str(seat.flag("startConferenceOnEnter",
                                                                   True)).lower()})
            if seat.coach:
                params["CallSidToCoach"] = seat.coach
        self.post(room.callback, params)

    def _part(self, seat: Seat, why: str) -> None:
        """`seat` leaves its conference: why is star, hangup, ended or redirect."""
        room = seat.room
        if not self._unseat(seat):
            return
        if why == "hangup":  # the hung-up call's own Dial action comes first
            self._after_seat(seat, why)
        if not room.ended and (not room.seats or seat.flag("endConferenceOnExit", False)):
            self._end_conference(room, seat)
        if why != "hangup":
            self._after_seat(seat, why)

    def _unseat(self, seat: Seat) -> bool:
        room, party = seat.room, seat.call.party
        if seat not in room.seats:
            return False
        room.seats.remove(seat)
        if party.wait is seat:
            party.wait = None
        self._conference_event(room, "participant-leave", seat)
        return True

    def _after_seat(self, seat: Seat, why: str) -> None:
        """The Dial is over for this call: its action, then the rest of its TwiML."""
        if why == "redirect":
            return
        call, party = seat.call, seat.call.party
        action = seat.dial.get("action")
        params = {**party.params, "DialCallStatus": "completed", "ConferenceSid": seat.room.sid,
                  "DialCallDuration": str(int((self.now() - seat.joined).total_seconds()))}
        if why == "hangup":  # Twilio still asks the action; nobody hears its answer
            if action:
                self._twiml(urljoin(seat.url, action), {**params, "CallStatus": "completed"})
            return
        if action:
            self._fetch(party, urljoin(seat.url, action), params)
        self._step(call, party)

    def _end_conference(self, room: Room, by: Seat | None) -> None:
        """Everyone still in leaves (their Dial actions run once the end is reported)."""
        room.ended = True
        if self.rooms.get(room.name) is room:
            del self.rooms[room.name]
        extra = {"ReasonConferenceEnded": "last-participant-left"}
        if by is not None and room.seats:
            extra = {"ReasonConferenceEnded": "participant-with-end-conference-on-exit-left",
                     "CallSidEndingConference": by.call.sid}
        others = list(room.seats)
        for other in others:
            self._unseat(other)
        if room.started_at is not None:
            self._conference_event(room, "conference-end", **extra)
        for other in others:
            if other.call.live:
                self._after_seat(other, "ended")

    # -- REST: a participant made a full participant -------------------------------
    def _uncoach(self, conference_sid: str, call_sid: str) -> None:
        for room in list(self.rooms.values()):
            if room.sid == conference_sid:
                for seat in room.seats:
                    if seat.call.sid == call_sid:
                        seat.coach = None

    def room_of(self, conference_sid: str) -> Room | None:
        return next((r for r in list(self.rooms.values()) if r.sid == conference_sid), None)

