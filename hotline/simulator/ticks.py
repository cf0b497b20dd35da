"""The carrier's clock: REST arrivals and timeouts, acted on at each tick."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from hotline.simulator.records import FINAL, Call, Gather, Hold, Leg, Party, Pause, Recording

log = logging.getLogger(__name__)


class Ticks:
    """Part of the Simulator (carrier.py); uses its locks, lists and HTTP boundary."""

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
                    if item[0] == "call":
                        self._place(*item[1:])
                    elif item[0] == "update":
                        self._rest_update(*item[1:])
                    elif item[0] == "uncoach":
                        self._uncoach(*item[1:])
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
        elif isinstance(wait, Hold) and now >= wait.deadline:
            party.wait = None
            if party.queue is not None:
                self._poll_queue(call, party)
            self._step(call, party, leg)
