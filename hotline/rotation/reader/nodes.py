"""The node reader every section reader uses: typed values out of composed YAML
nodes, each problem recorded with its line and column, never raised."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import phonenumbers
import yaml
from phonenumbers import shortnumberinfo

from hotline.redact import redact
from hotline.rotation.durations import parse_duration

ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def shown(value: str) -> str:
    """A value quoted back in a message, unless it is a phone number (messages reach logs)."""
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


class NodeReader:
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
                name, colon, _ = str(key).partition(":")
                if colon and name in allowed:  # YAML reads "id:alice" as one word
                    self.error(key_node, f"'{name}:' needs a space after the colon in {what}, "
                                         f"e.g. '{name}: ...'")
                    continue
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
                self.error(key_node, f"unknown key {shown(str(key))} in {what}; {fix}")
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
