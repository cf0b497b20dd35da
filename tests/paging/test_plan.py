"""The page plan, pure: page again, then the next person, then nobody acknowledged."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hotline.paging.plan import NobodyAcknowledged, PageAgain, next_page
from hotline.rotation.model import Clinical

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)
CLINICAL = Clinical(page_every=timedelta(minutes=2), page_times=3)
CHAIN = ("kpatel", "lchen", "clinical_director")


def test_the_first_page_goes_to_the_first_in_the_chain():
    assert next_page(CLINICAL, CHAIN, 0, 0, NOW) == PageAgain("kpatel", 0, 1, NOW + timedelta(minutes=2))


def test_after_the_third_page_the_next_person_is_paged():
    assert next_page(CLINICAL, CHAIN, 0, 3, NOW) == PageAgain("lchen", 1, 1, NOW + timedelta(minutes=2))


def test_after_the_last_persons_last_page_nobody_acknowledged():
    assert next_page(CLINICAL, CHAIN, 2, 3, NOW) == NobodyAcknowledged(9)


def test_the_plan_needs_an_aware_instant():
    with pytest.raises(ValueError):
        next_page(CLINICAL, CHAIN, 0, 0, NOW.replace(tzinfo=None))
