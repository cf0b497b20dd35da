"""Whom an open callout takes away from routing: nobody, unless the rotation file
says `callout: {yes_is_busy: true}`; then the peers who said YES."""
from __future__ import annotations

from sqlalchemy import select

from hotline.callout.tally import YES
from hotline.rotation.model import Config
from hotline.store import CalloutAnswer


def yes_busy(db, config: Config) -> frozenset[str]:
    if db is None or not config.callout.yes_is_busy:
        return frozenset()
    return frozenset(db.scalars(select(CalloutAnswer.peer_id).where(CalloutAnswer.answer == YES)))
