"""The caller's menu choice: what it does before (or instead of) ringing a peer.

A peer kind (language, specialty), family or concern records the preference and
says the option's words; asking by name reads out the team and takes a second key;
resources are read out and the office is rung (in its hours) without paging anyone.
"""
from __future__ import annotations

from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from hotline.records.requests import request_event
from hotline.rotation.model import Config, MenuOption
from hotline.routing import first_attempt
from hotline.store import Call
from hotline.voice.verbs import dial_out, say
from hotline.webhooks import link

# A key press names one peer, so the list read out stops at nine.
MAX_NAMED = 9


def choose(resp: VoiceResponse, db, config: Config, call: Call, form, args,
           now: datetime) -> bool:
    """Act on the caller's key (`form`: the webhook's parameters, `args`: its query).
    True: `resp` is the whole answer (resources, the office, the list of names);
    False: ring peers next, with the choice recorded on `call`."""
    digit, ask = form.get("Digits", ""), args.get("ask")
    if args.get("office"):  # the office's <Dial> is over
        return _office_done(resp, db, config, call, args.get("office"), form, now)
    if ask:  # the second key, after "to ask for a peer by name"
        option = next((o for o in config.voice.menu if o.digit == ask), None)
        named = _nameable(config)
        if option is None or not digit.isdigit() or not 1 <= int(digit) <= len(named):
            return False  # no such peer: the normal order, as for no choice
        call.preference, call.asked_for = option.key, named[int(digit) - 1].id
        call.attempt = first_attempt(option, call.asked_for)
        return False
    option = next((o for o in config.voice.menu if o.digit == digit), None)
    if option is None:
        return False
    if option.kind == "resources":
        for line in config.services.resources:
            say(resp, config, line)
        say(resp, config, config.voice.goodbye)
        resp.hangup()
        _request_answered(db, config, call, option, now)
        return True
    if option.kind == "office" and config.services.office is not None:
        office = config.services.office
        if office.hours.covers(now.astimezone(config.program.timezone)):
            say(resp, config, "Connecting you to the program office.")
            dial_out(resp, config, office.phone, timeout=30,
                     action=link("voice.menu", office=option.digit))
            return True
        say(resp, config, office.closed)  # then a peer, as for anyone: never a dead end
    if option.kind == "ask":
        gather = resp.gather(num_digits=1, timeout=5, action_on_empty_result=True,
                             action=link("voice.menu", ask=option.digit), method="POST")
        for i, person in enumerate(_nameable(config), 1):
            say(gather, config, f"For {person.name}, press {i}.")
        return True
    say(resp, config, option.reply)
    call.preference = option.key
    call.attempt = first_attempt(option)
    return False


def _office_done(resp: VoiceResponse, db, config: Config, call: Call, digit: str, form,
                 now: datetime) -> bool:
    """Somebody at the office talked with them: a request, done. Nobody answered: the
    caller is not left there, a peer answers as for anyone. (A plain <Dial> without a
    whisper, so its DialCallStatus can be trusted.)"""
    option = next((o for o in config.voice.menu if o.digit == digit), None)
    if option is None or form.get("DialCallStatus") == "completed":
        if option is not None:
            _request_answered(db, config, call, option, now)
        say(resp, config, config.voice.goodbye)
        resp.hangup()
        return True
    say(resp, config, "Nobody at the office could answer. Please stay on the line for a peer.")
    call.preference = option.key
    return False


def _nameable(config: Config):
    return list(config.peers.values())[:MAX_NAMED]


def _request_answered(db, config: Config, call: Call, option: MenuOption, now: datetime) -> None:
    """Counted as a request, not a contact: the live row goes now, so the call's end
    writes no second statistic."""
    db.add(request_event(config, "voice", option, now))
    db.delete(call)


def whisper_intro(config: Config, call: Call | None, person: str) -> str:
    """What the peer hears before "press 1": what the caller asked for."""
    if call is None:
        return ""
    if call.asked_for and call.asked_for == person:
        return "The caller asked for you by name. "
    option = next((o for o in config.voice.menu if o.key == call.preference), None)
    if option is None or option.kind in ("ask", "office", "resources"):
        return ""
    if option.kind == "concern":
        return "This is a concern report about a colleague. "
    return f"The caller chose: {option.label}. "
