"""Requests answered without a peer (the resource list, the program office): one
anonymous statistics line each, apart from the contacts."""
from __future__ import annotations

from datetime import datetime

from hotline.rotation.model import MenuOption
from hotline.store import StatEvent

# Outcomes of requests: counted in the report apart from contacts, never as one.
REQUEST_OUTCOMES = ("resources", "office")


def request_event(config, channel: str, option: MenuOption, now: datetime) -> StatEvent:
    local = now.astimezone(config.program.timezone)
    return StatEvent(hour=local.replace(minute=0, second=0, microsecond=0), channel=channel,
                     preference=option.key, outcome=option.kind, reason=option.kind, step=None,
                     seconds_to_human=None, urgent=False, escalations=0, length=None)
