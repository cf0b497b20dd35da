"""TwiML every voice handler speaks: the program's voice, and a ring to a number
outside the rotation. Calls and voicemail both use these."""
from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from hotline.rotation.model import Config
from hotline.webhooks import link

WHISPER_WAIT = 6  # seconds a peer has to press a key; short, the caller is waiting


def say(twiml, config: Config, text: str) -> None:
    if text:
        twiml.say(text, voice=config.voice.voice, language=config.voice.language)


CALLER_GONE = "The caller has hung up. Thank you."


def say_then_hang_up(config: Config, text: str) -> VoiceResponse:
    """One sentence to whoever is on this leg, then the end of it."""
    resp = VoiceResponse()
    say(resp, config, text)
    resp.hangup()
    return resp


def dial_out(resp: VoiceResponse, config: Config, number: str, timeout: int,
             action: str | None = None) -> None:
    """Ring a number outside the rotation (the fallback, a texter, the program office)
    from the program number. The leg's status callback lets its record at Twilio be
    deleted too; `action`, if given, is where Twilio asks what next once it is over."""
    extra = {"action": action, "method": "POST"} if action else {}
    dial = resp.dial(caller_id=config.program.number, timeout=timeout, **extra)
    dial.number(number, status_callback=link("voice.status"), status_callback_method="POST",
                status_callback_event="completed")
