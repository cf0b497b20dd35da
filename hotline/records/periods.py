"""Statistics come by fixed period only: a calendar year, a quarter or a month.

Small counts are hidden in every table (suppression.py), but two free ranges that
overlap can undo that: "1 March to 31 May" minus "2 March to 31 May" is one day, and
one contact. Fixed periods nest instead (a month inside its quarter inside its year),
and a count hidden in one is hidden, or cannot be isolated, in the others. Pure: the
caller passes today.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERIOD = re.compile(r"(\d{4})(?:-(?:Q([1-4])|(\d{2})))?", re.I)


@dataclass(frozen=True)
class Period:
    label: str  # "2026", "2026-Q2" or "2026-05"
    first: date  # the first day
    end: date  # the day after the last


def parse(text: str) -> Period:
    """"2026", "2026-Q2" or "2026-05"; ValueError with a sentence otherwise."""
    m = _PERIOD.fullmatch((text or "").strip())
    if not m:
        raise ValueError(f"'{text}' is not a year (2026), a quarter (2026-Q2) or a month "
                         "(2026-05)")
    year = int(m.group(1))
    if not 1900 <= year <= 9998:
        raise ValueError(f"{year} is not a year the line could have run in")
    if m.group(2):
        q = int(m.group(2))
        return _span(f"{year}-Q{q}", year, 3 * q - 2, 3)
    if m.group(3):
        month = int(m.group(3))
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}': there is no month {month}")
        return _span(f"{year}-{month:02d}", year, month, 1)
    return _span(str(year), year, 1, 12)


def _span(label: str, year: int, month: int, months: int) -> Period:
    after = month + months
    end = date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return Period(label, date(year, month, 1), end)


def this_year(today: date) -> Period:
    return parse(str(today.year))


def choices(today: date, years: int = 3) -> list[Period]:
    """What a form offers: this and the previous years, each with its quarters and
    months, newest first, nothing that starts after today."""
    found = []
    for year in range(today.year, today.year - years, -1):
        found.append(parse(str(year)))
        found += [parse(f"{year}-Q{q}") for q in range(4, 0, -1)]
        found += [parse(f"{year}-{m:02d}") for m in range(12, 0, -1)]
    return [p for p in found if p.first <= today]
