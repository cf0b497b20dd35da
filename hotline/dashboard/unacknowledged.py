"""Clinician pages nobody has acknowledged yet, for the top of the Now page.

A coordinator looking at the line must see at once that an urgent contact is waiting
for a clinician: whom the page is reaching, how many times, for how long, and a page
that reached nobody. Conversation codes and names only, as on the contact cards.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hotline import store
from hotline.rotation.model import Config

log = logging.getLogger(__name__)
WHY = {"urgent_words": "urgent words", "peer_urgent": "raised by a peer",
       "call_urgent": "raised by a peer on a call"}


@dataclass(frozen=True)
class PageCard:
    code: str  # "#7"
    paging: str  # name of whom the page reaches now
    tries: int
    of: int
    minutes: int  # since the first page
    why: str
    nobody: bool  # every clinician was paged and nobody acknowledged


def unacknowledged(sessions, config: Config | None, now: datetime) -> list[PageCard]:
    model = getattr(store, "Page", None)
    if model is None:
        return []
    with sessions() as db:
        # A page about a call in progress (a peer's *9) has no conversation: "a call".
        rows = db.execute(select(model, store.Conversation.code)
                          .outerjoin(store.Conversation,
                                     store.Conversation.id == model.conversation_id)
                          .where(model.acknowledged_by.is_(None))
                          .order_by(model.started_at)).all()
    cards = []
    for page, code in rows:
        ident = page.chain[page.position] if page.chain else None
        try:
            name = config.person(ident).name if config and ident else (ident or "nobody")
        except KeyError:
            name = ident  # since removed from the rotation file: the id, never a number
        cards.append(PageCard(code=f"#{code}" if code is not None else "a call", paging=name, tries=page.tries,
                              of=config.clinical.page_times if config else page.tries,
                              minutes=max(0, int((now - page.started_at).total_seconds() // 60)),
                              why=WHY.get(page.reason, page.reason), nobody=page.gave_up))
    return cards
