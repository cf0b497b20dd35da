"""What each phone shows: threads, live calls, and the whole state for the page."""
from __future__ import annotations

from datetime import timedelta

from hotline.rotation.model import CLINICAL_DIRECTOR
from hotline.simulator.records import FINAL, Gather, Recording, Seat, pretty, clock_face


class Screens:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

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
                elif party.queue is not None:
                    view.update(state="hold", title="On hold")
                elif isinstance(party.wait, Seat):
                    view.update(self._seat_view(party.wait, now))
                elif dial is not None and dial.winner is not None:
                    view.update(state="connected",
                                title=f"Connected to {self.label(dial.winner.number)}",
                                since=clock_face(now - dial.bridged_at))
                elif dial is not None and dial.external:
                    view.update(state="connected", title=f"Connected to {dial.external} "
                                "(outside the simulator)", since=clock_face(now - dial.bridged_at))
                elif dial is not None:
                    view.update(state="dialing", title="Ringing... (you hear ringback)")
                elif isinstance(party.wait, Gather):
                    view.update(state="listening", title="Listening: press a key")
                elif isinstance(party.wait, Recording):
                    view.update(state="recording", keypad=True,
                                title="Recording a message: press # to finish",
                                since=clock_face(now - party.wait.started))
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
                                since=clock_face(now - dial.bridged_at), buttons=["hangup"])
                views.append(view)
        return views

    def _who(self, call) -> str:
        """How a participant is shown to the others: a caller's number never is."""
        if call.direction == "inbound":
            return "the caller (number hidden)"
        return self.label(call.party.number)

    def _seat_view(self, seat: Seat, now) -> dict:
        """A phone in a conference: whom it talks with, and a coach only it hears."""
        room, mine = seat.room, seat.call.sid
        talking = [self._who(s.call) for s in room.seats if s is not seat and not s.coach]
        coaches = [self._who(s.call) for s in room.seats if s is not seat and s.coach == mine]
        view = {"state": "connected", "keypad": True, "buttons": ["hangup"],
                "since": clock_face(now - seat.joined)}
        if seat.coach:
            coached = next((s for s in room.seats if s.call.sid == seat.coach), None)
            view.update(state="coaching", title=(
                f"Coaching {self._who(coached.call)} (only they hear you)" if coached
                else "Coaching: the call you coach has stepped out"),
                subtitle="You hear: " + (" and ".join(talking) or "nobody yet"))
        elif room.started_at is None:
            view.update(state="waiting", title="Waiting for the call to start")
        elif talking:
            view["title"] = "Connected to " + " and ".join(talking)
        else:
            view["title"] = "On the line: nobody else is in the call right now"
        if coaches:
            view["coach"] = "; ".join(f"coach: {c} (only you hear them)" for c in coaches)
        return view

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
            role = "clinical_director" if person.id == CLINICAL_DIRECTOR else \
                "clinician" if config.is_clinical(person.id) else "peer"
            phones.append({"id": person.id, "role": role, "name": person.name,
                           "number": person.phone, "display": pretty(person.phone),
                           "on_call": ", ".join(on_call.get(person.id, []))})
        for phone in phones:
            phone.update(self.phone_view(phone["number"]))
        local = now.astimezone(config.program.timezone)
        return {"program": {"name": config.program.name, "number": config.program.number,
                            "display": pretty(config.program.number)},
                "now": local.strftime("%a %Y-%m-%d %H:%M:%S %Z"),
                "ahead": clock_face(getattr(self.app.config["HOTLINE_CLOCK"], "offset",
                                            timedelta(0))),
                "phones": phones}
