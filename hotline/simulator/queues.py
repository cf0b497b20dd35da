"""The carrier's queues: <Enqueue waitUrl action>, the waitUrl loop and <Leave/>.

As Twilio does: the caller waits in a named queue; the waitUrl document is POSTed
and played, and POSTed again each time it ends (so the router's `<Pause length="2"/>`
is a poll every two seconds). `<Leave/>` in it takes the caller out and the Enqueue
`action` is POSTed with `QueueResult=leave`; its TwiML plays next (without an action,
the verbs after <Enqueue> do). A caller who hangs up while queued: the action gets
`QueueResult=hangup` (nobody hears its answer), then the call's status callback.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urljoin

from hotline.simulator.records import Call, Hold, Party, Queued, new_sid, text_of


class Queues:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

    def _enqueue(self, call: Call, party: Party, verb: ET.Element) -> None:
        name = text_of(verb) or "default"
        same = next((c.party.queue for c in self.calls
                     if c.live and c.party.queue is not None and c.party.queue.name == name), None)
        party.queue = Queued(same.sid if same else new_sid("QU"), name, verb, party.url,
                             self.now(), after=party.verbs)
        party.verbs = []
        self._poll_queue(call, party)

    def _queue_params(self, party: Party) -> dict:
        queue = party.queue
        waiting = [sid for _, sid in sorted(
            (c.party.queue.started, c.sid) for c in self.calls
            if c.live and c.party.queue is not None and c.party.queue.name == queue.name)]
        sid = party.params["CallSid"]
        position = waiting.index(sid) + 1 if sid in waiting else 1
        return {**party.params, "QueueSid": queue.sid, "QueuePosition": str(position),
                "QueueTime": str(int((self.now() - queue.started).total_seconds())),
                "CurrentQueueSize": str(len(waiting)), "AvgQueueTime": "0"}

    def _poll_queue(self, call: Call, party: Party) -> None:
        """POST the waitUrl and play what it answers (Twilio's wait loop, one round)."""
        queue = party.queue
        queue.waited, queue.spoken = False, 0.0
        wait_url = queue.node.get("waitUrl")
        if not wait_url:  # Twilio's default: classical music, forever
            party.heard.append("(hold music)")
            party.wait = Hold(self.now() + timedelta(days=365))
            return
        url, verbs = self._twiml(urljoin(queue.url, wait_url), self._queue_params(party))
        party.url, party.verbs = url, verbs

    def _queue_round_over(self, call: Call, party: Party) -> None:
        """The waitUrl document ended: it plays again, at once if it held the call (a Pause,
        a Gather), else once its words have been said (never sooner than a second)."""
        queue = party.queue
        if queue.waited:
            self._poll_queue(call, party)
        else:
            party.wait = Hold(self.now() + timedelta(seconds=max(1.0, queue.spoken)))

    def _leave_queue(self, call: Call, party: Party, result: str) -> None:
        """Out of the queue: `leave` plays the action's TwiML; `hangup` and `redirected`
        still POST the action (as Twilio does), but nobody hears its answer."""
        queue = party.queue
        params = {**self._queue_params(party), "QueueResult": result}
        party.queue = None
        if isinstance(party.wait, Hold):
            party.wait = None
        action = queue.node.get("action")
        if result != "leave":
            if action:
                self._twiml(urljoin(queue.url, action),
                            {**params, **({"CallStatus": "completed"}
                                          if result == "hangup" else {})})
            return
        if action:
            self._fetch(party, urljoin(queue.url, action), params)
        else:
            party.verbs = queue.after
