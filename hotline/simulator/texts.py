"""The carrier's texts: a phone texts the line; the router sends through Messages.json."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.simulator.records import OUTBOUND_RING, Msg, Note, new_sid

PICTURE = "[picture]"  # how the phone's own thread shows a picture it sent


class Texts:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

    def text(self, sender: str, body: str, picture: bool = False) -> None:
        """`sender`'s phone texts the program number (with a picture: an MMS, as
        Twilio posts it, NumMedia and a MediaUrl0 at Twilio)."""
        program = self.program()
        sid = new_sid("SM")
        shown = f"{body} {PICTURE}".strip() if picture else body
        with self._log_lock:
            self.messages.append(Msg(sid, sender, program, shown, self.now()))
        params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                  "AccountSid": ACCOUNT_SID, "MessagingServiceSid": "", "From": sender,
                  "To": program, "Body": body, "NumMedia": "1" if picture else "0",
                  "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        if picture:
            params["MediaUrl0"] = (f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                                   f"/Messages/{sid}/Media/{new_sid('ME')}")
            params["MediaContentType0"] = "image/jpeg"
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

    def rest_message(self, to: str, from_: str, body: str, status_callback: str | None,
                     pictures: int = 0) -> Msg:
        """Messages.json: the router sends a text (with a relayed picture: an MMS, shown
        on the peer's phone as a [picture] mark)."""
        shown = " ".join([body] + [PICTURE] * pictures).strip()
        msg = Msg(new_sid("MM" if pictures else "SM"), from_, to, shown, self.now())
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

    def rest_call(self, to: str, from_: str, url: str, status_callback: str | None,
                  timeout: int = OUTBOUND_RING) -> str:
        """Calls.json: the router places a call (a peer's CALL, a page, a peer's leg of a
        conference call). It rings at the next tick, for `timeout` seconds."""
        sid = new_sid("CA")
        with self._queue_lock:
            self._queue.append(("call", sid, to, from_, url, status_callback, timeout))
        return sid

    def rest_update_call(self, sid: str, status: str | None, url: str | None) -> dict | None:
        """Calls/{sid}.json: the router changes a call (see Calls._rest_update), applied at
        the next tick like every REST arrival. None: no such call (Twilio's 404). Read
        without the call lock: a webhook holding it may be waiting on this very request."""
        with self._queue_lock:
            pending = any(item[0] == "call" and item[1] == sid for item in self._queue)
            call = next((c for c in list(self.calls) if c.sid == sid), None)
            if call is None and not pending:
                return None
            self._queue.append(("update", sid, status, url))
        now = "queued" if call is None else call.status if call.live else "completed"
        return {"sid": sid, "status": now, "to": call.party.number if call else "",
                "from": call.from_ if call else "", "direction": call.direction if call
                else "outbound-api"}

    def rest_update_participant(self, conference_sid: str, call_sid: str,
                                coaching: str | None) -> bool:
        """Conferences/{sid}/Participants/{CallSid}.json: `Coaching=false` makes a coach a
        full participant. False: no such participant (Twilio's 404)."""
        room = self.room_of(conference_sid)
        if room is None or not any(s.call.sid == call_sid for s in list(room.seats)):
            return False
        if coaching == "false":
            with self._queue_lock:
                self._queue.append(("uncoach", conference_sid, call_sid))
        return True

    def _note(self, number: str, text: str) -> None:
        with self._log_lock:
            self.notes.append(Note(number, text, self.now()))
