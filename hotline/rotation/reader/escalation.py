"""Who is tried in what order, and the fallback when nobody answers."""
from __future__ import annotations

import difflib
from datetime import timedelta

import yaml

from hotline.rotation.model import CLINICAL_DIRECTOR, Escalation, Fallback, Step
from hotline.rotation.reader.nodes import NodeReader, shown


def read_escalation(r: NodeReader, node, peers, rotations) -> Escalation | None:
    if node is None:
        return None
    m = r.mapping(node, "escalation", ("steps", "fallback"), ("repeat", "max_wait"))
    if m is None:
        return None
    steps = []
    steps_node = m.get("steps")
    if steps_node is not None and (not isinstance(steps_node, yaml.SequenceNode)
                                   or not steps_node.value):
        r.error(steps_node, "escalation steps should be a list of '- {notify: ...}' lines")
    elif steps_node is not None:
        for item in steps_node.value:
            step = read_step(r, item, peers, rotations)
            if step:
                steps.append(step)
    repeat = 0
    if "repeat" in m:
        value = r.text(m["repeat"], "escalation repeat")
        if value is None or not value.isdigit():
            r.error(m["repeat"], "repeat should be a whole number: how many extra times to "
                    "run all steps (0 = once)")
        else:
            repeat = int(value)
    max_wait = timedelta(minutes=3)
    if "max_wait" in m:
        max_wait = r.duration(m["max_wait"], "escalation max_wait") or max_wait
    fallback = read_fallback(r, m["fallback"]) if "fallback" in m else None
    if fallback is None or not steps:
        return None
    return Escalation(steps=tuple(steps), repeat=repeat, fallback=fallback, max_wait=max_wait)


def read_step(r: NodeReader, node, peers, rotations) -> Step | None:
    m = r.mapping(node, "an escalation step", ("notify",), ("ring", "wait"))
    if m is None or "notify" not in m:
        return None
    targets = []
    for name, item in r.names(m["notify"], "notify"):
        if name in rotations or name in peers or name == CLINICAL_DIRECTOR \
                or name in r.declared:
            targets.append(name)
        else:
            known = [*rotations, *peers, CLINICAL_DIRECTOR]
            hint = difflib.get_close_matches(name, known, n=1)
            r.error(item, f"{shown(name)} in notify is not a rotation, a peer id or "
                    f"clinical_director" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    ring = r.duration(m["ring"], "step ring") if "ring" in m else timedelta(seconds=25)
    wait = r.duration(m["wait"], "step wait") if "wait" in m else timedelta(minutes=5)
    if not targets or ring is None or wait is None:
        return None
    return Step(notify=tuple(targets), ring=ring, wait=wait)


def read_fallback(r: NodeReader, node) -> Fallback | None:
    m = r.mapping(node, "escalation fallback", ("message",), ("forward",))
    if m is None or "message" not in m:
        return None
    message = r.text(m["message"], "fallback message")
    if message == "":
        r.error(m["message"], "the fallback message is empty; write what a caller hears "
                "when nobody can be reached")
    forward = None
    if "forward" in m:
        forward = r.phone(m["forward"], "fallback forward", allow_short=True)
        if forward is None:
            return None
    return Fallback(forward=forward, message=message) if message else None
