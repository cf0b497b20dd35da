"""Bounded waiting for things real processes do, for the end-to-end tests.

A bound is how long a test is willing to wait before it calls the thing broken,
never a speed target (those live in bench/)."""
from __future__ import annotations

import time
from pathlib import Path


def wait_for(what: str, check, bound: float, every: float = 0.1, log: Path | None = None):
    """check()'s first truthy value within `bound` seconds, else a failure naming `what`
    (with the end of the process's log, when there is one)."""
    deadline = time.monotonic() + bound
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"not within {bound} s: {what}"
                                 + (f"\n--- the process's log ---\n{tail}" if tail else ""))
        time.sleep(every)
