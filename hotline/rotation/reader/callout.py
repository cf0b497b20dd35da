"""The `callout:` section: who may start a critical-incident callout by text, when
the router phones peers who have not answered, and how the team is counted."""
from __future__ import annotations

import difflib
from datetime import timedelta

from hotline.rotation.model import CLINICAL_DIRECTOR, CalloutSettings
from hotline.rotation.reader.nodes import NodeReader, shown

_FLAGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def read_callout(r: NodeReader, node, peers) -> CalloutSettings | None:
    m = r.mapping(node, "callout", (), ("allowed", "tag", "call_after", "calls", "tally_every",
                                        "close_after", "yes_is_busy", "closing"))
    if m is None:
        return None
    values: dict = {}
    ok = True
    if "allowed" in m:
        allowed = []
        for name, item in r.names(m["allowed"], "callout allowed"):
            if name == CLINICAL_DIRECTOR or name in peers:
                allowed.append(name)
            elif name not in r.declared_peers:  # a refused peer is reported where written
                hint = difflib.get_close_matches(name, [*peers, CLINICAL_DIRECTOR], n=1)
                r.error(item, f"{shown(name)} in callout allowed is not a peer id or "
                        "clinical_director" + (f"; did you mean '{hint[0]}'?" if hint else ""))
                ok = False
        values["allowed"] = tuple(dict.fromkeys(allowed))
    if "tag" in m:
        tag = (r.text(m["tag"], "callout tag") or "").lower()
        known = sorted({t for p in peers.values() for t in p.tags})
        if tag and tag not in known:
            hint = difflib.get_close_matches(tag, known, n=1)
            r.error(m["tag"], f"no peer has the tag {shown(tag)} named in callout tag"
                    + (f"; did you mean '{hint[0]}'?" if hint else
                       "; add it to some peers' tags first"))
            ok = False
        values["tag"] = tag or None
    for key in ("call_after", "tally_every", "close_after"):
        if key in m:
            d = r.duration(m[key], f"callout {key}")
            if d is None:
                ok = False
            elif d <= timedelta(0) or (key == "close_after" and d < timedelta(minutes=30)):
                least = "30m" if key == "close_after" else "1s"
                r.error(m[key], f"callout {key} should be at least {least}")
                ok = False
            else:
                values[key] = d
    if "calls" in m:
        value = r.text(m["calls"], "callout calls")
        if value is None or not value.isdigit() or int(value) > 5:
            r.error(m["calls"], "callout calls should be a whole number from 0 (texts only) "
                    "to 5: how many times a peer who has not answered is phoned")
            ok = False
        else:
            values["calls"] = int(value)
    if "yes_is_busy" in m:
        flag = (r.text(m["yes_is_busy"], "callout yes_is_busy") or "").lower()
        if flag not in _FLAGS:
            r.error(m["yes_is_busy"], "callout yes_is_busy should be true or false")
            ok = False
        else:
            values["yes_is_busy"] = _FLAGS[flag]
    if "closing" in m:
        closing = r.text(m["closing"], "callout closing")
        if not closing:
            r.error(m["closing"], "callout closing is empty; write what peers who said yes "
                    "are told when the callout closes")
            ok = False
        else:
            values["closing"] = closing
    return CalloutSettings(**values) if ok else None
