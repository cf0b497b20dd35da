"""Twilio's own opt-out and opt-in words (its Advanced Opt-Out defaults).

Twilio blocks further texts to a number that sends one of STOP_WORDS (error 21610)
but still passes the text to our webhook; START_WORDS lift the block. A texter in
crisis may type STOP, so both the texter path and the peer commands look at them.
"""
from __future__ import annotations

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP"}
