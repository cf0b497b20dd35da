"""The `clinical` section: who is paged when a contact is urgent or a peer consults,
how pages repeat, and whether the program has clinicians or team coordinators."""
from __future__ import annotations

from datetime import timedelta

import yaml

from hotline.rotation.model import (CLINICAL_DIRECTOR, CLINICIAN_MODEL, COORDINATOR_MODEL,
                                    Clinical, Person)
from hotline.rotation.reader.nodes import NodeReader
from hotline.rotation.reader.people import read_person

MODELS = (CLINICIAN_MODEL, COORDINATOR_MODEL)


def read_clinical(r: NodeReader, node, peers: dict[str, Person]) -> Clinical | None:
    m = r.mapping(node, "clinical", (), ("model", "clinicians", "rotation", "page", "menu"))
    if m is None:
        return None
    values: dict = {}
    ok = True
    if "model" in m:
        model = (r.text(m["model"], "clinical model") or "").lower()
        if model not in MODELS:
            r.error(m["model"], f"clinical model should be {CLINICIAN_MODEL} (licensed "
                    f"clinicians take pages) or {COORDINATOR_MODEL} (a coordinator takes "
                    "that place)")
            ok = False
        values["model"] = model
    if "clinicians" in m:
        people = read_clinicians(r, m["clinicians"], peers)
        ok = ok and people is not None
        values["people"] = people or ()
    if "rotation" in m:
        turn = r.mapping(m["rotation"], "clinical rotation", ("start", "shift"))
        if turn is None or len(turn) < 2:
            ok = False
        else:
            values["start"] = r.local_time(turn["start"], "clinical rotation start")
            values["shift"] = r.duration(turn["shift"], "clinical rotation shift")
            ok = ok and None not in (values["start"], values["shift"])
        if not values.get("people"):
            r.error(m["rotation"], "a clinical rotation needs 'clinicians' to take turns")
            ok = False
    if "page" in m:
        page = read_page(r, m["page"])
        ok = ok and page is not None
        values.update(page or {})
    if "menu" in m:
        menu = r.mapping(m["menu"], "clinical menu", ("digit", "say"))
        if menu is None or len(menu) < 2:
            ok = False
        else:
            digit = r.text(menu["digit"], "clinical menu digit")
            if digit not in tuple("234567890"):
                r.error(menu["digit"], "clinical menu digit should be one of 0 or 2-9 "
                        "(1 is kept for peers)")
                ok = False
            values["menu_digit"], values["menu_say"] = digit, r.text(menu["say"], "menu say")
    return Clinical(**values) if ok else None


def read_clinicians(r: NodeReader, node, peers) -> tuple[Person, ...] | None:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.error(node, "clinicians should be a list with one '- {id: ..., name: ..., phone: "
                "...}' line each")
        return None
    out: list[Person] = []
    for item in node.value:
        person = read_person(r, item, "a clinician")
        if person is None:
            return None
        if person.id in peers or person.id == CLINICAL_DIRECTOR \
                or any(p.id == person.id for p in out):
            r.error(item, f"clinician id '{person.id}' is already used; every person "
                    "(peer or clinician) needs their own id")
            return None
        out.append(person)
    return tuple(out)


def read_page(r: NodeReader, node) -> dict | None:
    m = r.mapping(node, "clinical page", (), ("every", "times"))
    if m is None:
        return None
    out: dict = {}
    if "every" in m:
        out["page_every"] = r.duration(m["every"], "clinical page every")
        if out["page_every"] is not None and out["page_every"] < timedelta(seconds=30):
            r.error(m["every"], "page every should be at least 30s: a clinician needs time "
                    "to answer the call")
            return None
    if "times" in m:
        value = r.text(m["times"], "clinical page times")
        if value is None or not value.isdigit() or not 1 <= int(value) <= 10:
            r.error(m["times"], "page times should be a whole number from 1 to 10: how "
                    "often one person is paged before the next")
            return None
        out["page_times"] = int(value)
    return None if None in out.values() else out
