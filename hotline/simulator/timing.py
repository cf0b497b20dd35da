"""Time in the simulator: a clock that can be moved forward, and what runs on it.

The router reads time only through `app.config["HOTLINE_CLOCK"]`. In simulator
mode that setting is an `OffsetClock`: real time plus however far the trainer
has fast-forwarded, kept in the instance folder so that a restart carries on
from the same offset. Because the simulator owns the time, the web process also
runs the clock: `Beat` starts `hotline.clock.main_loop` (exactly what the
`hotline clock` command runs in production, every job of it) in a thread
reading that clock, and a second thread that checks the simulated phones'
timeouts each second. A fast-forward moves the clock and polls at once
(`hotline.clock.run_due`, the clock's one-second job). A separate `hotline
clock` process would read real time and miss every fast-forward.
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hotline.clock import main_loop, run_due

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds between polls; `hotline clock` polls every 0.5 s, a person watching needs no finer


class OffsetClock:
    """Real time, plus a fast-forward offset that only ever grows.

    With a `path` (the instance folder's `simulator-offset`, under `make run`) the offset
    is kept there, so a restart carries on where the line's clock was: the database holds
    times on this clock (escalations due, the send rate's second), and a clock that jumped
    back an hour at each restart would leave them all an hour in its future."""

    def __init__(self, path: Path | None = None):
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._path = path
        if path is not None and path.exists():
            try:
                self._offset = timedelta(seconds=max(0.0, float(path.read_text().strip())))
            except (ValueError, OverflowError):
                log.warning("simulator: %s is not a number of seconds; the line's clock "
                            "starts at real time", path)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            if self._path is not None:
                part = self._path.with_name(self._path.name + ".part")
                part.write_text(f"{self._offset.total_seconds()}\n")
                os.replace(part, self._path)  # never half a number after a crash


def poll(app) -> None:
    """One beat: the carrier's timeouts and REST arrivals, then the router's timers."""
    sim = app.extensions["hotline.simulator"]
    try:
        sim.tick()
    except Exception:  # noqa: BLE001 - the next beat tries again
        log.exception("simulator tick failed")
    try:
        run_due(app, app.config["HOTLINE_CLOCK"]())
    except Exception:  # noqa: BLE001
        log.exception("clock poll failed")


def fast_forward(app, seconds: float) -> None:
    clock = app.config["HOTLINE_CLOCK"]
    if not hasattr(clock, "advance"):
        raise ValueError("this clock cannot be moved forward")
    with app.extensions["hotline.simulator"].lock:  # no call advances halfway through a jump
        clock.advance(seconds)
    poll(app)


class Beat:
    """From start-up: the production clock loop, and the carrier's timeouts every second."""

    def __init__(self, app):
        self.app = app
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._carrier, name="simulator-carrier", daemon=True).start()
        threading.Thread(target=main_loop, args=(self.app, EVERY), name="hotline-clock",
                         daemon=True).start()
        log.info("simulator: the clock runs in this process, on the simulator's time")

    def _carrier(self) -> None:
        sim = self.app.extensions["hotline.simulator"]
        while not self._stop.wait(EVERY):
            try:
                sim.tick()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("simulator tick failed")

    def stop(self) -> None:
        self._stop.set()
