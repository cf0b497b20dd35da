"""Whom to page next: pure, given the chain, where the page stands and `now`.

A page goes to one person at a time (the clinician on call first), by a call and a
text together. Unacknowledged, it is repeated `times` times, `every` apart; then the
next person in the chain gets the same; after the last, nobody acknowledged and the
fallback follows. A failed page (busy, no answer, undelivered) does not wait out its
interval: the shell makes it due at once, and this function is asked again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline.rotation.model import Clinical


@dataclass(frozen=True)
class PageAgain:
    person: str  # id of whom to page
    position: int  # their place in the chain
    tries: int  # this is their n-th page
    due: datetime  # when, unacknowledged, to decide again


@dataclass(frozen=True)
class NobodyAcknowledged:
    pages: int  # pages sent in all


def next_page(clinical: Clinical, chain: tuple[str, ...], position: int, tries: int,
              now: datetime) -> PageAgain | NobodyAcknowledged:
    """`position`/`tries`: the page as it stands (0/0 before the first one)."""
    if now.tzinfo is None:
        raise ValueError("paging needs an aware datetime")
    if not chain:
        return NobodyAcknowledged(0)
    if tries < clinical.page_times:
        return PageAgain(chain[position], position, tries + 1, now + clinical.page_every)
    if position + 1 < len(chain):
        return PageAgain(chain[position + 1], position + 1, 1, now + clinical.page_every)
    return NobodyAcknowledged(len(chain) * clinical.page_times)
