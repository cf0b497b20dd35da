"""A logging filter that keeps phone numbers out of every log line.

The router never logs a number or a message on purpose; this is the net
under that rule, for library messages and tracebacks we do not control.
"""
from __future__ import annotations

import logging
import re

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


def redact(text: str, region: str = "US") -> str:
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
        record.msg = redact(record.getMessage(), region)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), region)
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)
