"""A logging filter that keeps phone numbers out of every log line.

The router never logs a number or a message on purpose; this is the net
under that rule, for library messages and tracebacks we do not control.
"""
from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping

import phonenumbers

MASK = "[number]"
# Twilio's IDs: two capital letters and 32 hex digits (CA a call, SM/MM a message, AC the
# account, PN a number, RE a recording). Their digits are no phone number; a log needs
# them whole to say which call or message it is about.
TWILIO_SID = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}[0-9a-fA-F]{32}(?![0-9A-Za-z])")
# International numbers the matcher misses in the US region: a + and 8 to 15 digits
# (spaces, dots, dashes, brackets between them), or 11 to 15 digits in a row, as a
# country code and number typed without the + (447700900123). Over-masking (a long
# count, a timestamp in milliseconds) is the safe side.
INTERNATIONAL = re.compile(r"\+\d(?:[\s().-]?\d){7,14}(?!\d)|(?<![\w.+-])\d{11,15}(?!\w)")


# The shortest text the matcher takes for a number has four digits: a German local-only
# number, +49 and two (tests/test_redact.py checks the fast path against the full one).
# Fewer digits cannot hold a number, and most log lines skip the matcher's ~50 us.
FEWEST_DIGITS = 4


def redact(text: str, region: str = "US") -> str:
    return text if _too_few_digits(text) else mask_numbers(text, region)


def _too_few_digits(text: str) -> bool:
    return sum(map(str.isdigit, text)) < FEWEST_DIGITS


def mask_numbers(text: str, region: str = "US") -> str:
    """The full search, whatever the text's digits."""
    out, last = [], 0
    for sid in [*TWILIO_SID.finditer(text), None]:  # mask between the SIDs, keep them
        end = sid.start() if sid else len(text)
        piece, at = INTERNATIONAL.sub(MASK, text[last:end]), 0
        for match in phonenumbers.PhoneNumberMatcher(piece, region,
                                                     leniency=phonenumbers.Leniency.POSSIBLE):
            out.append(piece[at:match.start])
            out.append(MASK)
            at = match.end
        out.append(piece[at:])
        if sid:
            out.append(sid.group(0))
            last = sid.end()
    return "".join(out)


_installed = False


def install(region: str = "US") -> None:
    """Redact every log record as it is created, whichever handler (a platform's
    log drain, pytest's capture) later writes it."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.msg = _fields_line(record, region) or redact(record.getMessage(), region)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), region)
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)


class _Fields(Mapping):
    """Named log fields, each masked on its own as the line is formatted."""

    def __init__(self, fields: Mapping, region: str):
        self.fields, self.region = fields, region

    def __getitem__(self, key):
        value = str(self.fields[key])
        if _too_few_digits(value) or _an_address(value):
            return value  # a method, a path, a status, a size: no number fits
        return mask_numbers(value, self.region)  # its digits are counted already

    def __iter__(self):
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __str__(self) -> str:
        return redact(str(dict(self.fields)), self.region)


def _fields_line(record: logging.LogRecord, region: str) -> str | None:
    """gunicorn's access line names its fields (`%(h)s "%(m)s %(U)s" %(s)s ...`). Masking
    each field alone keeps its status, size and time, which side by side ("200 312 5") read
    as a local number and were masked whole, and spends the matcher only on a field that
    could hold a number. The template is ours (the Procfile); it is masked too."""
    if not isinstance(record.args, Mapping) or not isinstance(record.msg, str):
        return None
    try:
        return redact(record.msg, region) % _Fields(record.args, region)
    except (TypeError, ValueError, KeyError):
        return None  # a %d field given a mask, or a malformed template: the whole line


def _an_address(value: str) -> bool:
    """The client's IP address (gunicorn's %(h)s): a socket's, never a phone number."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
