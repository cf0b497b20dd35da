"""The provider sweep: whatever Twilio still keeps about the line, past the retention
window, is deleted there, whether or not the router ever knew of it.

Every record the router sees is already queued for deletion (retention.forget_at_provider).
This catches the rest: texts and calls that arrived while the database was down (the
emergency route answers them but cannot remember their SIDs), a queue row that ran out
of tries, anything missed. The clock lists the account's Messages and Calls to and from
the program number older than HOTLINE_RETAIN_HOURS and deletes them one by one; the
count goes in the audit trail (`hotline audit`).
"""
from __future__ import annotations

import logging
from datetime import datetime

from hotline.records import audit
from hotline.records.retention import retain
from hotline.twilio_client import client

log = logging.getLogger(__name__)

LIMIT = 1000  # records per kind and direction in one run; the next hour goes on


def sweep_provider(app, now: datetime) -> dict[str, int]:
    """One run (hourly, from the clock). Returns {"message": n, "call": n} deleted."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    deleted = {"message": 0, "call": 0}
    if not (app.config.get("HOTLINE_PROVIDER_DELETE", True) and app.config.get("TWILIO_ACCOUNT_SID")):
        return deleted
    program = app.extensions["hotline.rotation"].current().config.program.number
    cutoff = now - retain(app)
    api = client(app)
    listings = [("message", api.messages, {"date_sent_before": cutoff}),
                ("call", api.calls, {"start_time_before": cutoff})]
    failed = 0
    for kind, resource, before in listings:
        for direction in ({"to": program}, {"from_": program}):
            try:
                records = list(resource.list(limit=LIMIT, **direction, **before))
            except (TwilioException, OSError):
                log.warning("the provider sweep could not list %ss at Twilio", kind)
                continue
            for record in records:
                try:
                    resource(record.sid).delete()
                    deleted[kind] += 1
                except TwilioRestException as exc:
                    failed += exc.status != 404  # already gone is as good as deleted
                except (TwilioException, OSError):
                    failed += 1
    if failed:
        log.warning("the provider sweep could not delete %s records; the next run tries again",
                    failed)
    if any(deleted.values()):
        with app.extensions["hotline.sessions"]() as db, db.begin():
            audit.record(db, now, audit.PROVIDER_SWEEP, "clock",
                         f"messages: {deleted['message']}, calls: {deleted['call']}")
    return deleted
