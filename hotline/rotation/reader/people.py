"""Who is on the line: the program, the clinical director, the peers."""
from __future__ import annotations

import difflib

import phonenumbers
import yaml
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.rotation.model import CLINICAL_DIRECTOR, Person, Program
from hotline.rotation.reader.nodes import ID, NodeReader, shown


def read_program(r: NodeReader, node) -> Program | None:
    if node is None:
        return None
    m = r.mapping(node, "program", ("name", "number", "timezone"), ("region",))
    if m is None:
        return None
    if "region" in m:
        region = (r.text(m["region"], "program region") or "").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            r.error(m["region"], f"unknown region '{region}'; use a two-letter country "
                    "code such as US or CA")
        else:
            r.region = region
    tz = None
    if "timezone" in m:
        name = r.text(m["timezone"], "program timezone")
        try:
            tz = ZoneInfo(name) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
        if tz is None and name is not None:
            r.error(m["timezone"], f"unknown time zone '{name}'; use an IANA name such "
                    "as America/Chicago or America/New_York")
    name = r.text(m["name"], "program name") if "name" in m else None
    number = r.phone(m["number"], "the program number") if "number" in m else None
    if None in (tz, name, number):
        return None
    return Program(name=name, number=number, timezone=tz, region=r.region)


def read_person(r: NodeReader, node, what: str, director: bool = False) -> Person | None:
    if node is None:
        return None
    keys = ("name", "phone") if director else ("id", "name", "phone")
    m = r.mapping(node, what, keys, ("languages", "tags") + (() if director else ("short_name",)))
    if m is None:
        return None
    ident = CLINICAL_DIRECTOR if director else r.text(m["id"], "peer id") if "id" in m else None
    if not director and ident is not None and not ID.match(ident):
        r.error(m["id"], f"peer id {shown(ident)} should be short lowercase letters or "
                "digits, e.g. mgarcia")
        ident = None
    name = r.text(m["name"], f"{what} name") if "name" in m else None
    phone = r.phone(m["phone"], f"{what} '{ident or '?'}'") if "phone" in m else None
    langs = tuple(v.lower() for v, _ in r.names(m["languages"], "languages")) if "languages" in m else ()
    tags = tuple(v.lower() for v, _ in r.names(m["tags"], "tags")) if "tags" in m else ()
    short = tuple(v for v, _ in r.names(m["short_name"], "short_name")) if "short_name" in m else ()
    if None in (ident, name, phone):
        return None
    r.person_nodes.setdefault(ident, node)
    return Person(id=ident, name=name, phone=phone, languages=langs, tags=tags,
                  short_names=short)


def read_peers(r: NodeReader, node) -> dict[str, Person]:
    peers: dict[str, Person] = {}
    if node is None:
        return peers
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.error(node, "peers should be a list with one '- {id: ..., name: ..., phone: ...}' "
                "line per peer")
        return peers
    for item in node.value:
        if isinstance(item, yaml.MappingNode):
            r.declared_peers |= {v.value for k, v in item.value
                                 if k.value == "id" and isinstance(v, yaml.ScalarNode)}
        person = read_person(r, item, "a peer")
        if person is None:
            continue
        if person.id in peers or person.id == CLINICAL_DIRECTOR:
            r.error(item, f"duplicate peer id '{person.id}'; every peer needs their own id")
            continue
        peers[person.id] = person
    return peers


def read_peer_ref(r: NodeReader, node, peers, what: str) -> str | None:
    ident = r.text(node, what)
    if ident is not None and ident not in peers and ident in r.declared_peers:
        return None  # declared, but refused where it was written: reported there
    if ident is not None and ident not in peers:
        hint = difflib.get_close_matches(ident, list(peers), n=1)
        fix = f"did you mean '{hint[0]}'?" if hint else "add them under peers first"
        r.error(node, f"unknown peer id {shown(ident)} in {what}; {fix}")
        return None
    return ident


def read_unique_numbers(r: NodeReader, program, director, peers) -> None:
    seen: dict[str, str] = {}
    if program:
        seen[program.number] = "the program number"
    for who in ([director] if director else []) + list(peers.values()):
        owner = seen.get(who.phone)
        if owner:
            r.error(r.person_nodes.get(who.id), f"'{who.id}' has the same phone number as {owner}; "
                    "every person needs their own number")
        else:
            seen[who.phone] = f"'{who.id}'"
