"""Who hears about the rotation itself: `coordinators` and `reminders`.

coordinators:                      # texted when a peer's OFF leaves a step empty,
  - {name: Sam Lee, phone: "..."}  # and the weekly summary of holes ahead
reminders:
  before: 12h                      # a text this long before each shift; "off" for none
  at_start: true                   # and one as it starts
  handoff: true                    # with how many conversations are open (counts only)
  gap_summary: "mon 09:00"         # coordinators' weekly text; "off" for none
  weeks: 8                         # how far ahead that summary looks
"""
from __future__ import annotations

from datetime import datetime

import yaml

from hotline.rotation.model import WEEKDAYS, Person, Reminders
from hotline.rotation.reader.nodes import NodeReader

_FLAGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def read_coordinators(r: NodeReader, node) -> tuple[Person, ...]:
    if not isinstance(node, yaml.SequenceNode):
        r.error(node, "coordinators should be a list of '- {name: ..., phone: ...}' lines")
        return ()
    out = []
    for number, item in enumerate(node.value, start=1):
        m = r.mapping(item, "a coordinator", ("name", "phone"))
        if m is None or len(m) < 2:
            continue
        name = r.text(m["name"], "coordinator name")
        phone = r.phone(m["phone"], f"coordinator '{name or '?'}'")
        if name and phone:
            out.append(Person(id=f"coordinator{number}", name=name, phone=phone))
    return tuple(out)


def read_reminders(r: NodeReader, node) -> Reminders | None:
    m = r.mapping(node, "reminders", (), ("before", "at_start", "handoff", "gap_summary",
                                          "weeks"))
    if m is None:
        return None
    values: dict = {}
    if "before" in m:
        off = (r.text(m["before"], "reminders before") or "").lower() in ("off", "false", "no")
        values["before"] = None if off else r.duration(m["before"], "reminders before")
        if not off and values["before"] is None:
            return None
    for key in ("at_start", "handoff"):
        if key in m:
            flag = _FLAGS.get((r.text(m[key], f"reminders {key}") or "").lower())
            if flag is None:
                r.error(m[key], f"reminders {key} should be true or false")
                return None
            values[key] = flag
    if "gap_summary" in m:
        values["gap_summary"] = _weekly(r, m["gap_summary"])
        if values["gap_summary"] == "bad":
            return None
    if "weeks" in m:
        weeks = r.text(m["weeks"], "reminders weeks") or ""
        if not weeks.isdigit() or not 1 <= int(weeks) <= 52:
            r.error(m["weeks"], "reminders weeks should be a whole number from 1 to 52")
            return None
        values["weeks"] = int(weeks)
    return Reminders(**values)


def _weekly(r: NodeReader, node):
    text = (r.text(node, "reminders gap_summary") or "").lower()
    if text in ("off", "false", "no"):
        return None
    day, _, clock = text.partition(" ")
    if day[:3] in WEEKDAYS and clock:
        try:
            return WEEKDAYS.index(day[:3]), datetime.strptime(clock.strip(), "%H:%M").time()
        except ValueError:
            pass
    r.error(node, f"bad gap_summary '{text}'; write a day and a time, e.g. \"mon 09:00\", "
            "or off")
    return "bad"
