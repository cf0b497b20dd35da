"""The audit trail of sensitive actions: what, when, and which role or peer acted.

Never whose contact it was: a REVEAL is recorded as "the clinical director
revealed a number at 03:12", not which conversation or which number.
`hotline audit` lists it (between, render).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from sqlalchemy import select

from hotline.store import AuditEvent

CONFIG_RELOAD, REVEAL, PURGE = "config_reload", "reveal", "purge"
VOICEMAIL_UNHEARD = "voicemail_unheard"  # written by voicemail.py
# Written by paging/pages.py and text/consult.py: who was paged or consulted, never for whom.
PAGE_SENT, PAGE_ACKNOWLEDGED, PAGE_UNANSWERED = "page_sent", "page_acknowledged", "page_unanswered"
CONSULT = "consult"
AVAILABILITY = "availability"  # a peer's OFF, BUSY or ON (availability/state.py)
PROVIDER_SWEEP = "provider_sweep"  # written by provider_sweep.py
WHAT = {CONFIG_RELOAD: "rotation file reloaded", REVEAL: "REVEAL: a texter's number shown",
        PURGE: "old operational rows deleted", VOICEMAIL_UNHEARD: "voicemail deleted unheard",
        PAGE_SENT: "clinician paged (call and text)", PAGE_ACKNOWLEDGED: "page acknowledged",
        PAGE_UNANSWERED: "nobody acknowledged a page", CONSULT: "clinician asked to consult",
        AVAILABILITY: "a peer stepped out or back by text",
        PROVIDER_SWEEP: "old records deleted at Twilio by the sweep"}


def record(db, at: datetime, action: str, actor: str, detail: str = "") -> None:
    db.add(AuditEvent(at=at, action=action, actor=actor, detail=detail[:200]))


def between(db, start: datetime | None, end: datetime | None) -> list[AuditEvent]:
    """Audit rows from `start` (included) to `end` (excluded), oldest first; None: no limit."""
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    return list(db.scalars(query))


def render(rows: list[AuditEvent], tz, fmt: str) -> str:
    """The rows as Markdown, CSV or JSON, times in the program's zone. The rows hold no
    number by construction; nothing here adds one."""
    table = [(row.at.astimezone(tz).isoformat(timespec="seconds"), row.action,
              WHAT.get(row.action, row.action), row.actor, row.detail) for row in rows]
    header = ("at", "action", "what", "actor", "detail")
    if fmt == "json":
        return json.dumps([dict(zip(header, r)) for r in table], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows(table)
        return out.getvalue()
    if not table:
        return "No audit entries in this period.\n"
    lines = ["| at | what | who | detail |", "| --- | --- | --- | --- |"]
    lines += [f"| {at} | {what} | {actor} | {detail.replace('|', '/')} |"
              for at, _, what, actor, detail in table]
    return "\n".join(lines) + "\n"
