"""What the line offers besides a peer: the resource list, the program office for
non-crisis choices, and whether people may ask for a peer by name."""
from __future__ import annotations

from hotline.rotation.model import Office, Services, VoiceSettings
from hotline.rotation.reader.nodes import NodeReader
from hotline.rotation.reader.rotations import read_window

OFFICE_CLOSED = ("The program office is closed now. Please call back in office hours. "
                 "If you need a peer now, stay on the line or text us.")
FLAGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def read_services(r: NodeReader, node) -> Services | None:
    m = r.mapping(node, "services", (), ("resources", "office", "ask_by_name"))
    if m is None:
        return None
    values: dict = {}
    if "resources" in m:
        lines = tuple(v for v, _ in r.names(m["resources"], "resources"))
        if not lines:
            r.error(m["resources"], "resources should list at least one line, e.g. "
                    "\"EAP, 24/7: 262-555-0160\"")
            return None
        values["resources"] = lines
    if "ask_by_name" in m:
        flag = (r.text(m["ask_by_name"], "services ask_by_name") or "").lower()
        if flag not in FLAGS:
            r.error(m["ask_by_name"], "ask_by_name should be true or false")
            return None
        values["ask_by_name"] = FLAGS[flag]
    if "office" in m:
        values["office"] = read_office(r, m["office"])
        if values["office"] is None:
            return None
    return Services(**values)


def read_office(r: NodeReader, node) -> Office | None:
    what = "services office"
    m = r.mapping(node, what, ("phone", "hours"), ("closed",))
    if m is None or "phone" not in m or "hours" not in m:
        return None
    phone = r.phone(m["phone"], "the program office")
    hours = read_window(r, m["hours"], "", what=f"{what} hours")
    closed = r.text(m["closed"], f"{what} closed") if "closed" in m else OFFICE_CLOSED
    if None in (phone, hours, closed):
        return None
    return Office(phone=phone, hours=hours, closed=closed)


def check_menu_needs(r: NodeReader, menu_node, voice: VoiceSettings,
                     services: Services) -> None:
    """A menu choice the program does not offer would be a dead end: refuse the file."""
    def at(option):  # the option's own line, so the coordinator finds it
        return next((item for item in menu_node.value
                     if any(k.value == "digit" and v.value == option.digit
                            for k, v in item.value)), menu_node)

    for option in voice.menu:
        if option.kind == "office" and services.office is None:
            r.error(at(option), f"menu digit {option.digit} is the program office, but "
                    "'services: office' is missing; add its phone and hours")
        if option.kind == "ask" and not services.ask_by_name:
            r.error(at(option), f"menu digit {option.digit} asks for a peer by name, but "
                    "'services: ask_by_name' is not true")
