"""Read and validate the rotation file.

Coordinators edit this file by hand, often in a hurry. So every problem is
reported with file, line, column and what to do, all problems at once, and
nothing is half-applied: `load` either returns a complete `Config` or raises
`ConfigError`.

Scalars are read from their source text rather than through YAML's implicit
typing, because YAML 1.1 turns `18:00` into the number 1080 and `no` into
False. Messages never repeat a phone number: they end up in logs.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from phonenumbers import shortnumberinfo

from .model import (CLINICAL_DIRECTOR, WEEKDAYS, Config, Escalation, Fallback, MenuOption,
                    Override, Person, Program, Rotation, SmsSettings, Step, VoiceSettings,
                    Window)

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def _shown(value: str) -> str:
    """A value quoted back in a message, unless it is a phone number (messages reach logs)."""
    from .redact import redact
    return f"'{value}'" if redact(value) == value else "a phone number"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, 0, f"cannot read the file: {exc.strerror}")])
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError([Problem(str(path), line, 0, "the file is not UTF-8 text; save it "
                                                       "as UTF-8 in your editor")])
    return parse(text, str(path))


def parse(text: str, filename: str = "<config>") -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(filename, line, col,
                                   f"not valid YAML ({reason}); check indentation and quotes")])
    reader = _Reader(filename)
    config = reader.config(root)
    if reader.problems or config is None:
        raise ConfigError(sorted(reader.problems, key=lambda p: (p.line, p.column)))
    return config


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


class _Reader:
    """Walks the composed YAML nodes, collecting problems as it goes."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self.region = "US"
        self.person_nodes: dict[str, yaml.Node] = {}
        # Rotation names as written, valid or not: a reference to a rotation that
        # failed for its own reason should not be reported a second time.
        self.declared: set[str] = set()
        # Peer ids as written, even for a peer refused (say, for a bad number): a mention
        # of them elsewhere is not "unknown", the one error at the peer is the right one.
        self.declared_peers: set[str] = set()

    # -- primitives -------------------------------------------------------
    def error(self, node: yaml.Node | None, message: str) -> None:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.filename, line, col, message))

    def mapping(self, node, what: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} should be a set of 'key: value' lines")
            return None
        allowed = required + optional
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in found:
                self.error(key_node, f"'{key}' appears twice in {what}; keep only one")
            elif key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
                self.error(key_node, f"unknown key '{key}' in {what}; {fix}")
            else:
                found[key] = value_node
        for key in required:
            if key not in found:
                self.error(node, f"{what} is missing '{key}'")
        return found

    def text(self, node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.error(node, f"{what} should be a single value")
            return None
        return node.value.strip()

    def names(self, node, what: str) -> list[tuple[str, yaml.Node]]:
        """A list of plain values; a single value is accepted as a list of one."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for item in items:
            value = self.text(item, f"each entry of {what}")
            if value is not None:
                out.append((value, item))
        return out

    def duration(self, node, what: str) -> timedelta | None:
        value = self.text(node, what)
        if value is None:
            return None
        d = parse_duration(value)
        if d is None:
            self.error(node, f"bad duration '{value}' for {what}; write a number and a unit, "
                             "e.g. 25s, 5m, 12h, 1d or 1w")
        return d

    def local_time(self, node, what: str) -> datetime | None:
        value = self.text(node, what)
        if value is None:
            return None
        for fmt in _TIME_FORMATS:
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                pass
        self.error(node, f"bad time '{value}' for {what}; write it as \"2026-01-05 08:00\" "
                         "(local time, 24-hour clock, in quotes)")
        return None

    def clock(self, node, what: str) -> time | None:
        value = self.text(node, what)
        if value is None:
            return None
        try:
            return datetime.strptime(value, "%H:%M").time()
        except ValueError:
            self.error(node, f"bad time of day '{value}' for {what}; write it as \"18:00\" in quotes")
            return None

    def phone(self, node, what: str, allow_short: bool = False) -> str | None:
        value = self.text(node, what)
        if value is None:
            return None
        try:
            number = phonenumbers.parse(value, self.region)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if number is not None and allow_short and shortnumberinfo.is_valid_short_number(number):
            return phonenumbers.national_significant_number(number)
        self.error(node, f"invalid phone number for {what}; write the full number, e.g. "
                         f"\"(262) 555-0101\" or \"+1 262 555 0101\" (region {self.region})")
        return None

    # -- sections ---------------------------------------------------------
    def config(self, root) -> Config | None:
        if root is None:
            self.error(None, "the file is empty; start from config/rotation.yaml in the repository")
            return None
        top = self.mapping(root, "the rotation file",
                           ("program", "clinical_director", "peers", "rotations", "escalation"),
                           ("overrides", "voice", "sms"))
        if top is None:
            return None
        program = self.program(top.get("program"))
        director = self.person(top.get("clinical_director"), "clinical_director", director=True)
        peers = self.peers(top.get("peers"))
        rotations = self.rotations(top.get("rotations"), peers)
        if isinstance(top.get("rotations"), yaml.MappingNode):
            self.declared = {k.value for k, _ in top["rotations"].value}
        overrides = self.overrides(top.get("overrides"), peers, rotations)
        escalation = self.escalation(top.get("escalation"), peers, rotations)
        voice = self.voice(top["voice"]) if "voice" in top else VoiceSettings()
        sms = self.sms(top["sms"]) if "sms" in top else SmsSettings()
        self.unique_numbers(program, director, peers)
        if self.problems or None in (program, director, escalation, voice, sms):
            return None
        return Config(program=program, clinical_director=director, peers=peers,
                      rotations=rotations, overrides=overrides, escalation=escalation,
                      source=self.filename, voice=voice, sms=sms)

    def program(self, node) -> Program | None:
        if node is None:
            return None
        m = self.mapping(node, "program", ("name", "number", "timezone"), ("region",))
        if m is None:
            return None
        if "region" in m:
            region = (self.text(m["region"], "program region") or "").upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                self.error(m["region"], f"unknown region '{region}'; use a two-letter country "
                                        "code such as US or CA")
            else:
                self.region = region
        tz = None
        if "timezone" in m:
            name = self.text(m["timezone"], "program timezone")
            try:
                tz = ZoneInfo(name) if name else None
            except (ZoneInfoNotFoundError, ValueError):
                tz = None
            if tz is None and name is not None:
                self.error(m["timezone"], f"unknown time zone '{name}'; use an IANA name such "
                                          "as America/Chicago or America/New_York")
        name = self.text(m["name"], "program name") if "name" in m else None
        number = self.phone(m["number"], "the program number") if "number" in m else None
        if None in (tz, name, number):
            return None
        return Program(name=name, number=number, timezone=tz, region=self.region)

    def person(self, node, what: str, director: bool = False) -> Person | None:
        if node is None:
            return None
        keys = ("name", "phone") if director else ("id", "name", "phone")
        m = self.mapping(node, what, keys, ("languages", "tags"))
        if m is None:
            return None
        ident = CLINICAL_DIRECTOR if director else self.text(m["id"], "peer id") if "id" in m else None
        if not director and ident is not None and not _ID.match(ident):
            self.error(m["id"], f"peer id {_shown(ident)} should be short lowercase letters or "
                                "digits, e.g. mgarcia")
            ident = None
        name = self.text(m["name"], f"{what} name") if "name" in m else None
        phone = self.phone(m["phone"], f"{what} '{ident or '?'}'") if "phone" in m else None
        langs = tuple(v.lower() for v, _ in self.names(m["languages"], "languages")) if "languages" in m else ()
        tags = tuple(v.lower() for v, _ in self.names(m["tags"], "tags")) if "tags" in m else ()
        if None in (ident, name, phone):
            return None
        self.person_nodes.setdefault(ident, node)
        return Person(id=ident, name=name, phone=phone, languages=langs, tags=tags)

    def peers(self, node) -> dict[str, Person]:
        peers: dict[str, Person] = {}
        if node is None:
            return peers
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, "peers should be a list with one '- {id: ..., name: ..., phone: ...}' "
                             "line per peer")
            return peers
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                self.declared_peers |= {v.value for k, v in item.value
                                        if k.value == "id" and isinstance(v, yaml.ScalarNode)}
            person = self.person(item, "a peer")
            if person is None:
                continue
            if person.id in peers or person.id == CLINICAL_DIRECTOR:
                self.error(item, f"duplicate peer id '{person.id}'; every peer needs their own id")
                continue
            peers[person.id] = person
        return peers

    def peer_ref(self, node, peers, what: str) -> str | None:
        ident = self.text(node, what)
        if ident is not None and ident not in peers and ident in self.declared_peers:
            return None  # declared, but refused where it was written: reported there
        if ident is not None and ident not in peers:
            hint = difflib.get_close_matches(ident, list(peers), n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else "add them under peers first"
            self.error(node, f"unknown peer id {_shown(ident)} in {what}; {fix}")
            return None
        return ident

    def rotations(self, node, peers) -> dict[str, Rotation]:
        rotations: dict[str, Rotation] = {}
        if node is None:
            return rotations
        if not isinstance(node, yaml.MappingNode) or not node.value:
            self.error(node, "rotations should name at least one rotation, e.g. 'primary: {...}'")
            return rotations
        for key_node, value in node.value:
            name = key_node.value
            if name in rotations:
                self.error(key_node, f"rotation '{name}' is defined twice; keep only one")
                continue
            if not _ID.match(name) or name == CLINICAL_DIRECTOR or name in peers:
                self.error(key_node, f"rotation name '{name}' must be lowercase and differ from "
                                     "every peer id and from clinical_director")
                continue
            m = self.mapping(value, f"rotation '{name}'", ("start", "shift", "peers"), ("active",))
            if m is None:
                continue
            start = self.local_time(m["start"], f"rotation '{name}' start") if "start" in m else None
            shift = self.duration(m["shift"], f"rotation '{name}' shift") if "shift" in m else None
            listed = self.names(m["peers"], f"rotation '{name}' peers") if "peers" in m else []
            if "peers" in m and not listed:
                self.error(m["peers"], f"rotation '{name}' is empty; list at least one peer id")
            members = [self.peer_ref(item, peers, f"rotation '{name}'") for _, item in listed]
            active = self.window(m["active"], name) if "active" in m else None
            if start and shift and members and None not in members:
                rotations[name] = Rotation(name=name, start=start, shift=shift,
                                           peers=tuple(members), active=active)
        return rotations

    def window(self, node, rotation: str) -> Window | None:
        what = f"rotation '{rotation}' active window"
        m = self.mapping(node, what, ("from", "to"), ("days",))
        if m is None:
            return None
        days = set(range(7))
        if "days" in m:
            days = set()
            for value, item in self.names(m["days"], f"{what} days"):
                day = value.lower()[:3]
                if day not in WEEKDAYS:
                    self.error(item, f"unknown day '{value}'; use mon, tue, wed, thu, fri, sat, sun")
                else:
                    days.add(WEEKDAYS.index(day))
        start = self.clock(m["from"], f"{what} 'from'") if "from" in m else None
        end = self.clock(m["to"], f"{what} 'to'") if "to" in m else None
        if "days" in m and not days:
            self.error(m["days"], f"{what} has no days; list the days it starts on, e.g. "
                                  "[mon, tue, wed, thu, fri], or remove 'days' for every day")
        if start is None or end is None or not days:
            return None
        return Window(days=frozenset(days), start=start, end=end)

    def overrides(self, node, peers, rotations) -> tuple[Override, ...]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, "overrides should be a list of '- {rotation: ..., peer: ..., from: ..., "
                             "to: ...}' lines")
            return ()
        out = []
        for item in node.value:
            m = self.mapping(item, "an override", ("rotation", "peer", "from", "to"), ("replaces",))
            if m is None:
                continue
            rotation = self.text(m["rotation"], "override rotation") if "rotation" in m else None
            if rotation is not None and rotation not in rotations and rotation not in self.declared:
                known = sorted(self.declared | set(rotations))
                hint = difflib.get_close_matches(rotation, known, n=1)
                self.error(m["rotation"], f"unknown rotation '{rotation}' in override; "
                                          + (f"did you mean '{hint[0]}'?" if hint else
                                             f"known: {', '.join(known) or 'none'}"))
                rotation = None
            peer = self.peer_ref(m["peer"], peers, "override peer") if "peer" in m else None
            replaces = self.peer_ref(m["replaces"], peers, "override replaces") if "replaces" in m else None
            start = self.local_time(m["from"], "override 'from'") if "from" in m else None
            end = self.local_time(m["to"], "override 'to'") if "to" in m else None
            if start and end and end <= start:
                self.error(m["to"], "override ends before it starts; 'to' must be after 'from'")
                continue
            if None in (rotation, peer, start, end) or ("replaces" in m and replaces is None):
                continue
            out.append(Override(rotation=rotation, peer=peer, start=start, end=end,
                                replaces=replaces, line=item.start_mark.line + 1))
        return tuple(out)

    def escalation(self, node, peers, rotations) -> Escalation | None:
        if node is None:
            return None
        m = self.mapping(node, "escalation", ("steps", "fallback"), ("repeat", "max_wait"))
        if m is None:
            return None
        steps = []
        steps_node = m.get("steps")
        if steps_node is not None and (not isinstance(steps_node, yaml.SequenceNode)
                                       or not steps_node.value):
            self.error(steps_node, "escalation steps should be a list of '- {notify: ...}' lines")
        elif steps_node is not None:
            for item in steps_node.value:
                step = self.step(item, peers, rotations)
                if step:
                    steps.append(step)
        repeat = 0
        if "repeat" in m:
            value = self.text(m["repeat"], "escalation repeat")
            if value is None or not value.isdigit():
                self.error(m["repeat"], "repeat should be a whole number: how many extra times to "
                                        "run all steps (0 = once)")
            else:
                repeat = int(value)
        max_wait = timedelta(minutes=3)
        if "max_wait" in m:
            max_wait = self.duration(m["max_wait"], "escalation max_wait") or max_wait
        fallback = self.fallback(m["fallback"]) if "fallback" in m else None
        if fallback is None or not steps:
            return None
        return Escalation(steps=tuple(steps), repeat=repeat, fallback=fallback, max_wait=max_wait)

    def step(self, node, peers, rotations) -> Step | None:
        m = self.mapping(node, "an escalation step", ("notify",), ("ring", "wait"))
        if m is None or "notify" not in m:
            return None
        targets = []
        for name, item in self.names(m["notify"], "notify"):
            if name in rotations or name in peers or name == CLINICAL_DIRECTOR \
                    or name in self.declared:
                targets.append(name)
            else:
                known = [*rotations, *peers, CLINICAL_DIRECTOR]
                hint = difflib.get_close_matches(name, known, n=1)
                self.error(item, f"{_shown(name)} in notify is not a rotation, a peer id or "
                                 f"clinical_director" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        ring = self.duration(m["ring"], "step ring") if "ring" in m else timedelta(seconds=25)
        wait = self.duration(m["wait"], "step wait") if "wait" in m else timedelta(minutes=5)
        if not targets or ring is None or wait is None:
            return None
        return Step(notify=tuple(targets), ring=ring, wait=wait)

    def fallback(self, node) -> Fallback | None:
        m = self.mapping(node, "escalation fallback", ("message",), ("forward",))
        if m is None or "message" not in m:
            return None
        message = self.text(m["message"], "fallback message")
        if message == "":
            self.error(m["message"], "the fallback message is empty; write what a caller hears "
                                     "when nobody can be reached")
        forward = None
        if "forward" in m:
            forward = self.phone(m["forward"], "fallback forward", allow_short=True)
            if forward is None:
                return None
        return Fallback(forward=forward, message=message) if message else None

    def voice(self, node) -> VoiceSettings | None:
        texts = ("greeting", "menu_prompt", "whisper", "hold", "goodbye", "voice", "language")
        m = self.mapping(node, "voice", (), texts + ("menu", "voicemail"))
        if m is None:
            return None
        values: dict = {k: self.text(m[k], f"voice {k}") for k in texts if k in m}
        if "voicemail" in m:
            flag = (self.text(m["voicemail"], "voice voicemail") or "").lower()
            if flag not in ("true", "false", "yes", "no", "on", "off"):
                self.error(m["voicemail"], "voicemail should be true or false")
            values["voicemail"] = flag in ("true", "yes", "on")
        if "menu" in m:
            values["menu"] = self.menu(m["menu"])
            if values["menu"] and "menu_prompt" not in values:
                values["menu_prompt"] = " ".join(o.say for o in values["menu"])
        if any(v is None for v in values.values()):
            return None
        return VoiceSettings(**values)

    def sms(self, node) -> SmsSettings | None:
        texts = ("welcome", "urgent", "joined", "fallback", "new_peer", "calling", "closed",
                 "idle_closed")
        m = self.mapping(node, "sms", (), texts + ("urgent_phrases",))
        if m is None:
            return None
        values: dict = {k: self.text(m[k], f"sms {k}") for k in texts if k in m}
        if "urgent_phrases" in m:
            phrases = tuple(v.lower() for v, _ in self.names(m["urgent_phrases"], "urgent_phrases"))
            if not phrases:
                self.error(m["urgent_phrases"], "urgent_phrases should list at least one phrase")
                return None
            values["urgent_phrases"] = phrases
        if any(v is None for v in values.values()):
            return None
        return SmsSettings(**values)

    def menu(self, node) -> tuple[MenuOption, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, "voice menu should be a list of '- {digit: 2, key: ..., say: ...}' lines")
            return ()
        options = []
        for item in node.value:
            m = self.mapping(item, "a voice menu option", ("digit", "key", "say"),
                             ("languages", "tags"))
            if m is None or len(m) < 3:
                continue
            digit = self.text(m["digit"], "menu digit")
            if digit not in tuple("23456789"):
                self.error(m["digit"], "menu digit should be one of 2-9 (1 is kept for peers)")
                continue
            if any(o.digit == digit for o in options):
                self.error(m["digit"], f"menu digit {digit} is used twice")
                continue
            langs = tuple(v.lower() for v, _ in self.names(m["languages"], "languages")) if "languages" in m else ()
            tags = tuple(v.lower() for v, _ in self.names(m["tags"], "tags")) if "tags" in m else ()
            if not langs and not tags:
                self.error(item, "a menu option needs languages or tags to prefer")
                continue
            options.append(MenuOption(digit=digit, key=self.text(m["key"], "menu key") or digit,
                                      say=self.text(m["say"], "menu say") or "",
                                      languages=langs, tags=tags))
        return tuple(options)

    def unique_numbers(self, program, director, peers) -> None:
        seen: dict[str, str] = {}
        if program:
            seen[program.number] = "the program number"
        for who in ([director] if director else []) + list(peers.values()):
            owner = seen.get(who.phone)
            if owner:
                self.error(self.person_nodes.get(who.id), f"'{who.id}' has the same phone number as {owner}; "
                                 "every person needs their own number")
            else:
                seen[who.phone] = f"'{who.id}'"
