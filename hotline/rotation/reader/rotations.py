"""When they are on call: rotations, their active windows, and overrides."""
from __future__ import annotations

import difflib

import yaml

from hotline.rotation.model import CLINICAL_DIRECTOR, WEEKDAYS, Override, Rotation, Window
from hotline.rotation.reader.nodes import ID, NodeReader
from hotline.rotation.reader.people import read_peer_ref


def read_rotations(r: NodeReader, node, peers) -> dict[str, Rotation]:
    rotations: dict[str, Rotation] = {}
    if node is None:
        return rotations
    if not isinstance(node, yaml.MappingNode) or not node.value:
        r.error(node, "rotations should name at least one rotation, e.g. 'primary: {...}'")
        return rotations
    for key_node, value in node.value:
        name = key_node.value
        if name in rotations:
            r.error(key_node, f"rotation '{name}' is defined twice; keep only one")
            continue
        if not ID.match(name) or name == CLINICAL_DIRECTOR or name in peers:
            r.error(key_node, f"rotation name '{name}' must be lowercase and differ from "
                    "every peer id and from clinical_director")
            continue
        m = r.mapping(value, f"rotation '{name}'", ("start", "shift", "peers"), ("active",))
        if m is None:
            continue
        start = r.local_time(m["start"], f"rotation '{name}' start") if "start" in m else None
        shift = r.duration(m["shift"], f"rotation '{name}' shift") if "shift" in m else None
        listed = r.names(m["peers"], f"rotation '{name}' peers") if "peers" in m else []
        if "peers" in m and not listed:
            r.error(m["peers"], f"rotation '{name}' is empty; list at least one peer id")
        members = [read_peer_ref(r, item, peers, f"rotation '{name}'") for _, item in listed]
        active = read_window(r, m["active"], name) if "active" in m else None
        if start and shift and members and None not in members:
            rotations[name] = Rotation(name=name, start=start, shift=shift,
                                       peers=tuple(members), active=active)
    return rotations


def read_window(r: NodeReader, node, rotation: str, what: str | None = None) -> Window | None:
    what = what or f"rotation '{rotation}' active window"
    m = r.mapping(node, what, ("from", "to"), ("days",))
    if m is None:
        return None
    days = set(range(7))
    if "days" in m:
        days = set()
        for value, item in r.names(m["days"], f"{what} days"):
            day = value.lower()[:3]
            if day not in WEEKDAYS:
                r.error(item, f"unknown day '{value}'; use mon, tue, wed, thu, fri, sat, sun")
            else:
                days.add(WEEKDAYS.index(day))
    start = r.clock(m["from"], f"{what} 'from'") if "from" in m else None
    end = r.clock(m["to"], f"{what} 'to'") if "to" in m else None
    if "days" in m and not days:
        r.error(m["days"], f"{what} has no days; list the days it starts on, e.g. "
                "[mon, tue, wed, thu, fri], or remove 'days' for every day")
    if start is None or end is None or not days:
        return None
    return Window(days=frozenset(days), start=start, end=end)


def read_overrides(r: NodeReader, node, peers, rotations) -> tuple[Override, ...]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        r.error(node, "overrides should be a list of '- {rotation: ..., peer: ..., from: ..., "
                "to: ...}' lines")
        return ()
    out = []
    for item in node.value:
        m = r.mapping(item, "an override", ("rotation", "peer", "from", "to"), ("replaces",))
        if m is None:
            continue
        rotation = r.text(m["rotation"], "override rotation") if "rotation" in m else None
        if rotation is not None and rotation not in rotations and rotation not in r.declared:
            known = sorted(r.declared | set(rotations))
            hint = difflib.get_close_matches(rotation, known, n=1)
            r.error(m["rotation"], f"unknown rotation '{rotation}' in override; "
                    + (f"did you mean '{hint[0]}'?" if hint else
                       f"known: {', '.join(known) or 'none'}"))
            rotation = None
        peer = read_peer_ref(r, m["peer"], peers, "override peer") if "peer" in m else None
        replaces = read_peer_ref(r, m["replaces"], peers, "override replaces") if "replaces" in m else None
        start = r.local_time(m["from"], "override 'from'") if "from" in m else None
        end = r.local_time(m["to"], "override 'to'") if "to" in m else None
        if start and end and end <= start:
            r.error(m["to"], "override ends before it starts; 'to' must be after 'from'")
            continue
        if None in (rotation, peer, start, end) or ("replaces" in m and replaces is None):
            continue
        out.append(Override(rotation=rotation, peer=peer, start=start, end=end,
                            replaces=replaces, line=item.start_mark.line + 1))
    return tuple(out)
