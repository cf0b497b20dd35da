"""What a texter can choose: the first-contact menu, WORRIED, INFO and ASK <name>.

Pure: the rotation and a text's body in, a choice (or None: the text is simply the
message) out, plus the wording the choice brings. The webhook (text/webhooks.py)
decides what to do with it. The choices are the voice menu's own options, so a
texter and a caller asking for the same thing are routed the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from hotline.rotation.model import ROUTED_KINDS, Config, MenuOption, Person, choice_reason
from hotline.routing import first_attempt

# Keywords that work whether or not the program has a menu. INFO is also one of
# Twilio's HELP words: Twilio may send its own short help reply beside ours.
RESOURCE_WORDS = {"INFO", "RESOURCES"}
CONCERN_WORDS = {"WORRIED"}
ASK = re.compile(r"^\s*ask\b(?:\s+for\b)?[\s:,-]*(.*)$", re.IGNORECASE | re.DOTALL)

RESOURCES = MenuOption(digit="", key="resources", say="", kind="resources", label="resources")
CONCERN = MenuOption(digit="", key="concern", say="", kind="concern",
                     label="concern about a colleague",
                     reply=("Thank you for looking out for a colleague. A peer will be with you "
                            "shortly. You do not need to give their name."))
ASK_BY_NAME = MenuOption(digit="", key="ask", say="", kind="ask", label="asked for a peer by name")

# A text is at most 1,600 characters; the resource list is cut well before that.
MAX_TEXT = 1500
# What the peer's notice shows when the first text was only a choice.
NOTHING_WRITTEN = "(nothing written yet)"


@dataclass(frozen=True)
class Choice:
    option: MenuOption
    rest: str = ""  # what the texter wrote after the keyword: the message itself
    asked: Person | None = None  # ASK <name>: the peer found (None: the ask digit alone)


def _option(config: Config, kind: str, builtin: MenuOption) -> MenuOption:
    """The program's own menu option of that kind (its key and wording), else ours."""
    return next((o for o in config.voice.menu if o.kind == kind), builtin)


def parse(config: Config, body: str, digits: bool = True) -> Choice | None:
    """`digits`: whether a bare digit is still a menu choice (before a peer has the
    conversation and before another choice); afterwards it may be an answer to the peer."""
    flat = " ".join(body.split())
    word = flat.upper()
    if word in RESOURCE_WORDS:
        return Choice(_option(config, "resources", RESOURCES))
    if word in CONCERN_WORDS:
        return Choice(_option(config, "concern", CONCERN))
    option = next((o for o in config.voice.menu if digits and o.digit == word), None)
    if option is not None:
        return Choice(option)
    ask = ASK.match(flat)
    if ask and ask.group(1):
        # "Ask someone to call me" names nobody on the team: it is simply the message.
        person, rest = find_peer(config, ask.group(1))
        return Choice(_option(config, "ask", ASK_BY_NAME), rest=rest, asked=person) \
            if person else None
    return None


def find_peer(config: Config, text: str) -> tuple[Person | None, str]:
    """The peer whose name, first name, short name or id starts `text`, and the rest.
    The longest name wins, so "Maria Garcia" is not read as "Maria" plus a message."""
    words = text.split()
    best: tuple[int, Person | None] = (0, None)
    for p in config.peers.values():
        for name in (p.name, p.name.split()[0], p.id, *p.short_names):
            n = name.split()
            if len(n) > best[0] and [w.lower().strip(",.:!?") for w in words[:len(n)]] \
                    == [x.lower() for x in n]:
                best = (len(n), p)
    return best[1], " ".join(words[best[0]:]) if best[1] else ""


def menu_prompt(config: Config) -> str:
    """The line added to the first reply: the same choices as the voice menu."""
    if config.sms.menu_prompt:
        return config.sms.menu_prompt
    if not config.voice.menu:
        return ""
    choices = ", ".join(f"{o.digit} {o.label}" for o in config.voice.menu if o.kind != "ask")
    ask = " ASK and a name for a peer you know." if config.services.ask_by_name else ""
    return f"Reply {choices}; or just write.{ask}"


def tag(option: MenuOption | None, asked_for: str | None, peer_id: str) -> str:
    """What the peer's notice says was asked for, as "(family member) "."""
    if asked_for is not None and asked_for == peer_id:
        return "(asked for you by name) "
    if option is None or option.kind == "ask":
        return ""
    if option.kind == "concern":
        return "(CONCERN REPORT about a colleague) "
    return f"({option.label}) "


def resources_text(config: Config) -> str:
    text = "Resources:\n" + "\n".join(config.services.resources)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3].rstrip() + "..."


def office_text(config: Config, now: datetime) -> str:
    office = config.services.office
    if office is None:  # the reader refuses an office choice without an office
        return resources_text(config)
    if not office.hours.covers(now.astimezone(config.program.timezone)):
        return office.closed
    number = phonenumbers.format_number(phonenumbers.parse(office.phone),
                                        phonenumbers.PhoneNumberFormat.NATIONAL)
    return f"The program office is open now: please call {number}."


def ask_reply(config: Config, choice: Choice) -> str:
    """Never says whether that peer is on call: the same words either way."""
    if not config.services.ask_by_name:
        return "This line cannot offer a particular peer, but a trained peer will reply here."
    if choice.asked is None:  # the menu digit, without a name
        return "Text ASK and the peer's first name to ask for them. A trained peer will reply here."
    return (f"We will offer your message to {choice.asked.name.split()[0]} first if we can, "
            "then to the peer on call.")


def applies(config: Config, choice: Choice | None) -> bool:
    """Whether a choice steers routing: asking by name only where the program allows
    it and the name was found; resources and office never reach a peer."""
    if choice is None or choice.option.kind not in ROUTED_KINDS:
        return False
    return choice.option.kind != "ask" or (config.services.ask_by_name and choice.asked is not None)


def chosen(config: Config, choice: Choice) -> tuple[str | None, str | None]:
    """(the menu key, the peer asked for) to keep on the open conversation."""
    if not applies(config, choice):
        return None, None
    return choice.option.key, choice.asked.id if choice.asked else None


def option_for(config: Config, key: str | None) -> MenuOption | None:
    if key is None:
        return None
    return next((o for o in (*config.voice.menu, CONCERN, ASK_BY_NAME, RESOURCES)
                 if o.key == key), None)


def first_attempt_of(config: Config, key: str | None, asked_for: str | None) -> int:
    return first_attempt(option_for(config, key), asked_for)


def tagged(notice: str, code: int, option: MenuOption | None, asked_for: str | None,
           peer_id: str) -> str:
    """A notice with what was asked for after its "Peer line #7"."""
    label = tag(option, asked_for, peer_id).strip()
    head = f"Peer line #{code}"
    return notice.replace(head, f"{head} {label}", 1) if label else notice


def reason(config: Config, key: str | None, asked_for: str | None) -> str | None:
    """The statistics' kind of choice: family, concern, named, peer, resources, office."""
    return choice_reason(option_for(config, key), asked_for)
