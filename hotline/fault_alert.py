"""One text to the clinical director when the router is answering from memory.

Voice and text share it: a database outage wakes the director once per process per
ALERT_EVERY, not once per call or text. Kept in memory and sent straight to Twilio
on a thread of its own, since the database (rate limit, outbox, SID records) may be
what is broken and no caller's answer may wait for Twilio.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from hotline.deadlines import in_background
from hotline.twilio_client import client

log = logging.getLogger(__name__)

ALERT_EVERY = timedelta(minutes=5)
# One text segment (GSM-7, under 160 characters).
SYSTEM_FAULT = ("Peer line system fault: texts could not be routed; texters are told to call "
                "the line or 988. Calls still ring on-call peers. Check the router.")


def alert_director(app, config, body: str, now: datetime) -> bool:
    """Text the director unless this process did within ALERT_EVERY. True if sent."""
    if not app.config.get("TWILIO_ACCOUNT_SID"):
        log.error("no Twilio account configured (TWILIO_ACCOUNT_SID): the clinical director "
                  "cannot be alerted")
        return False
    if not due(app, now):
        return False
    to, program = config.clinical_director.phone, config.program.number
    base = app.config.get("HOTLINE_PUBLIC_URL")
    callback = base.rstrip("/") + "/sms/status" if base else None  # Twilio's copy goes too

    def send() -> None:
        try:
            extra = {"status_callback": callback} if callback else {}
            client(app).messages.create(to=to, from_=program, body=body, **extra)
        except Exception:  # noqa: BLE001 - already on the emergency path
            log.exception("could not alert the clinical director")

    in_background(app, send, "the fault alert to the clinical director")
    return True


def due(app, now: datetime) -> bool:
    last = app.extensions.get("hotline.fault_alerted_at")
    if last is not None and now - last < ALERT_EVERY:
        return False
    app.extensions["hotline.fault_alerted_at"] = now
    return True
