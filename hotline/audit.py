"""The audit trail of sensitive actions: what, when, and which role or peer acted.

Never whose contact it was: a REVEAL is recorded as "the clinical director
revealed a number at 03:12", not which conversation or which number.
"""
from __future__ import annotations

from datetime import datetime

from .store import AuditEvent

CONFIG_RELOAD, REVEAL, PURGE = "config_reload", "reveal", "purge"


def record(db, at: datetime, action: str, actor: str, detail: str = "") -> None:
    db.add(AuditEvent(at=at, action=action, actor=actor, detail=detail[:200]))
