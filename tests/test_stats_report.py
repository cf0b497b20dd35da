"""The statistics report: right figures, and no cell small enough to point at a person."""
from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hotline import stats

TZ = ZoneInfo("America/Chicago")
YEAR = (datetime(2026, 1, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))


def event(month, day, hour, channel="voice", outcome="peer", step=1, seconds=20, urgent=False):
    return SimpleNamespace(hour=datetime(2026, month, day, hour, tzinfo=TZ), channel=channel,
                           outcome=outcome, step=step if outcome in stats.ANSWERED else None,
                           seconds_to_human=seconds if outcome in stats.ANSWERED else None,
                           urgent=urgent)


def test_one_contact_in_march_is_shown_as_fewer_than_three():
    events = [event(3, 10, 14)] + [event(4, d, 10) for d in range(1, 11)]
    report = stats.build(events, *YEAR, TZ)
    months = {key: (cells, tot) for key, cells, tot in report.months}
    assert months["2026-03"][0]["voice"].shown == "<3"
    assert months["2026-03"][1].shown == "<3"
    assert months["2026-04"][0]["voice"].shown == "10"


def test_a_total_that_would_reveal_a_small_cell_is_rounded():
    events = [event(5, 1, 9, channel="text")] * 2 + [event(5, d, 9) for d in range(1, 12)]
    report = stats.build(events, *YEAR, TZ)
    cells, tot = next((c, t) for key, c, t in report.months if key == "2026-05")
    assert cells["text"].shown == "<3" and cells["voice"].shown == "11"
    assert tot.shown == "~15"  # 13 would give away the 2 texts
    assert report.grand_total.shown == "~15"


def test_every_month_of_the_period_is_listed_even_when_empty():
    report = stats.build([], *YEAR, TZ)
    assert [key for key, _, _ in report.months][:2] == ["2026-01", "2026-02"]
    assert len(report.months) == 12
    assert report.grand_total.shown == "0"


def test_figures_answer_rate_times_and_after_hours():
    events = ([event(6, 2, 10, seconds=s) for s in (10, 20, 30, 40, 100)]  # Tuesday office hours
              + [event(6, 6, 23, outcome="clinical_director", step=3, seconds=200)]  # Saturday night
              + [event(6, 7, 2, outcome="fallback"), event(6, 8, 3, outcome="abandoned")])
    figures = dict(stats.build(events, *YEAR, TZ).figures)
    assert figures["Contacts"] == "8"
    assert figures["Answered by a person"] == "75%"
    assert figures["Median time to a person"] == "35 s"
    assert figures["90th percentile time to a person"] == "200 s"
    assert figures["Answered at step 1"] == "83%"
    assert figures["Escalated to the clinical director"] == "<3"
    assert figures["After hours (outside Mon-Fri 08:00-17:00)"] == "38%"


def test_times_are_not_given_for_fewer_than_k_answered_contacts():
    figures = dict(stats.build([event(7, 1, 10), event(7, 2, 10)], *YEAR, TZ).figures)
    assert figures["Median time to a person"] == "n/a (too few)"


def test_json_and_csv_carry_the_suppressed_values_not_the_real_ones():
    report = stats.build([event(3, 10, 14)], *YEAR, TZ)
    data = json.loads(stats.to_json(report))
    march = next(m for m in data["months"] if m["month"] == "2026-03")
    assert march == {"month": "2026-03", "voice": "<3", "text": "0", "total": "<3"}
    assert "2026-03,<3,0,<3" in stats.to_csv(report)
    assert "| 2026-03 | <3 | 0 | <3 |" in stats.to_markdown(report, "Test")
