"""Voice webhooks that are signed but not a call to this line.

A valid signature says Twilio sent the request, not that it is ours: another number
of the account may point its Voice webhook here by mistake, and a CallSid that is not
Twilio's shape cannot name a call row. Both are checked in memory, before any
database work (the answer path stays one round trip), and such a request rings
nobody and records nothing. A caller who may still be a person in need hears where
help is; a peer's leg is simply hung up.
"""
from __future__ import annotations

import logging
import re
from functools import wraps

from flask import request
from twilio.twiml.voice_response import VoiceResponse

from hotline.voice.verbs import say
from hotline.webhooks import is_number, last_good

log = logging.getLogger(__name__)

CALL_SID = re.compile(r"CA[0-9a-f]{32}")
NOT_THIS_LINE = ("This number is not a peer support line. If you are in crisis, call or "
                 "text 988. In an emergency, call 911.")


def call_sid_ok(sid: str | None) -> bool:
    return bool(sid) and CALL_SID.fullmatch(sid) is not None


def sids_ok() -> bool:
    """The form's CallSid, and the parent call's SID a whisper URL carries, if any."""
    if not call_sid_ok(request.form.get("CallSid")):
        return False
    parent = request.args.get("call")
    return parent is None or call_sid_ok(parent)


def to_this_line(program) -> bool:
    return is_number(request.form.get("To"), program.number, program.region)


def pointer() -> VoiceResponse:
    """A short spoken pointer to 988 and 911, then hang up: never a dead end."""
    resp = VoiceResponse()
    loaded = last_good()
    if loaded is None:
        resp.say(NOT_THIS_LINE)
    else:
        say(resp, loaded.config, NOT_THIS_LINE)
    resp.hangup()
    return resp


def hangup() -> VoiceResponse:
    resp = VoiceResponse()
    resp.hangup()
    return resp


def empty() -> VoiceResponse:
    return VoiceResponse()


def not_a_call_here() -> VoiceResponse | None:
    """For /voice/incoming: the pointer when the call is not to this line or its SID
    is malformed, else None (carry on). Uses the rotation in memory only."""
    loaded = last_good()
    if not call_sid_ok(request.form.get("CallSid")):
        log.warning("a call without a well-formed CallSid reached /voice/incoming; "
                    "nobody rung")
        return pointer()
    if loaded is not None and not to_this_line(loaded.config.program):
        log.warning("a call for another number reached /voice/incoming; check the "
                    "number's Voice webhook")
        return pointer()
    return None


def checked_sid(answer):
    """Under @twilio_webhook: a malformed CallSid gets `answer()` (safe TwiML) and the
    view never runs, so nothing is looked up, rung or written."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not sids_ok():
                log.warning("a voice webhook %s came with a malformed CallSid; answered "
                            "safely", request.path)
                return answer()
            return view(*args, **kwargs)
        return wrapper
    return decorate
