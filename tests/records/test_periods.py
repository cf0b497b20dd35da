"""Statistics periods are fixed: a year, a quarter or a month, nothing in between."""
from __future__ import annotations

from datetime import date

import pytest

from hotline.records.periods import choices, parse


def test_a_year_a_quarter_and_a_month_are_read_as_their_days():
    assert (parse("2026").first, parse("2026").end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert (parse("2026-Q4").first, parse("2026-q4").end) == (date(2026, 10, 1),
                                                             date(2027, 1, 1))
    assert (parse("2026-02").first, parse("2026-02").end) == (date(2026, 2, 1),
                                                             date(2026, 3, 1))


@pytest.mark.parametrize("text", ["2026-03-01", "2026-03-01..2026-05-31", "2026-Q5",
                                  "2026-13", "last week", ""])
def test_anything_else_is_refused_with_what_to_write(text):
    with pytest.raises(ValueError, match="a year .2026., a quarter .2026-Q2. or a month|no "
                                         "month|not a year"):
        parse(text)


def test_the_form_offers_no_period_that_starts_after_today():
    offered = [p.label for p in choices(date(2026, 5, 15))]
    assert offered[:3] == ["2026", "2026-Q2", "2026-Q1"]
    assert "2026-05" in offered and "2026-06" not in offered and "2026-Q3" not in offered
    assert "2024-01" in offered
