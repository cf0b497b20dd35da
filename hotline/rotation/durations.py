"""Durations as the rotation file writes them: a number and one unit (25s, 5m, 12h, 1d, 1w)."""
from __future__ import annotations

import re
from datetime import timedelta

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta | None:
    m = _DURATION.match(text)
    if not m or int(m.group(1)) == 0:
        return None
    return timedelta(seconds=int(m.group(1)) * DURATION_UNITS[m.group(2)])


def format_duration(d: timedelta) -> str:
    secs = int(d.total_seconds())
    for unit in "wdhm":
        if secs % DURATION_UNITS[unit] == 0:
            return f"{secs // DURATION_UNITS[unit]}{unit}"
    return f"{secs}s"
