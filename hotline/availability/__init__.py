"""Peers' own availability (OFF, ON, BUSY, STATUS, WHO, REMIND) and shift reminders.

`state` keeps who has stepped out (read by voice and text routing, the CLI and
the dashboard); `commands` answers a peer's availability texts; `reminders` is
what the clock sends about shifts and holes ahead. The pure parts live in
rotation/availability.py and rotation/gaps.py.
"""
