"""A logging filter that keeps phone numbers out of every log line.

The router never logs a number or a message on purpose; this is the net
under that rule, for library messages and tracebacks we do not control.
"""
from __future__ import annotations

import logging

import phonenumbers

MASK = "[number]"


def redact(text: str, region: str = "US") -> str:
    out, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        out.append(text[last:match.start])
        out.append(MASK)
        last = match.end
    out.append(text[last:])
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
