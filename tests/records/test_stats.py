"""The statistics report: right figures, and no count small enough to point at a person,
whether read off the report or worked out from its other figures."""
from __future__ import annotations

import json
import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.records import stats

TZ = ZoneInfo("America/Chicago")
YEAR = (datetime(2026, 1, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
HIDDEN = stats.HIDDEN


def event(month, day, hour, channel="voice", outcome="peer", step=1, seconds=20, urgent=False,
          reason=None):
    return SimpleNamespace(hour=datetime(2026, month, day, hour, tzinfo=TZ), channel=channel,
                           outcome=outcome, step=step if outcome in stats.ANSWERED else None,
                           seconds_to_human=seconds if outcome in stats.ANSWERED else None,
                           urgent=urgent, reason=reason, preference=reason)


def month_row(report, key):
    cells, total = next((c, t) for k, c, t in report.months if k == key)
    return cells["voice"].shown, cells["text"].shown, total.shown


# -- a reader with a pencil ------------------------------------------------------------------

def what_a_reader_works_out(printed: dict) -> dict[str, int]:
    """Every hidden count from 1 to k-1 that the printed report (JSON) still pins down.

    The reader knows what any reader knows: the rows and columns add up, the outcomes
    make all contacts, a percentage of a shown whole gives its count, a time is shown
    only over k or more contacts, and (having read the rule) that a hidden count is
    never 0. They add, subtract and try every value that fits; a count is worked out
    when only one value fits."""
    k = printed["k"]
    equations, known, floor = [], {}, {}

    def read(name, shown):
        if shown == HIDDEN:
            floor[name] = 1
        else:
            known[name] = int(shown)

    months = [m["month"] for m in printed["months"]]
    for m in printed["months"]:
        for column in ("voice", "text", "total"):
            read(f"{m['month']} {column}", m[column])
        equations.append(([f"{m['month']} voice", f"{m['month']} text"], f"{m['month']} total"))
    totals = {"voice": "all voice", "text": "all text", "total": "contacts"}
    read("all voice", printed["totals"]["voice"])
    read("all text", printed["totals"]["text"])
    read("contacts", printed["totals"]["all"])
    for column, total in totals.items():
        equations.append(([f"{m} {column}" for m in months], total))
    equations += [(["all voice", "all text"], "contacts"),
                  (["answered", "fallback", "abandoned"], "contacts"),
                  (["peer", "director"], "answered"),
                  (["step 1", "later step"], "answered"),
                  (["urgent", "not urgent"], "contacts"),
                  (["after hours", "office hours"], "contacts")]
    choices = printed.get("choices", {})
    for label, shown in choices.items():
        read(f"choice {label}", shown)
    if choices:
        equations.append(([f"choice {label}" for label in choices], "contacts"))
    figures = printed["figures"]
    for name, label in (("director", "Escalated to the clinical director"),
                        ("fallback", "Reached the fallback"),
                        ("abandoned", "Ended before reaching a person"),
                        ("urgent", "Flagged urgent")):
        read(name, figures[label])

    def percentage(part, whole, label):
        shown = re.fullmatch(r"(\d+)%", figures[label])
        if shown and whole in known:
            fits = [x for x in range(known[whole] + 1)
                    if int(100 * x / known[whole] + 0.5) == int(shown[1])]
            if len(fits) == 1:
                known[part] = fits[0]

    percentage("answered", "contacts", "Answered by a person")
    percentage("step 1", "answered", "Answered at step 1")
    percentage("after hours", "contacts", "After hours (outside Mon-Fri 08:00-17:00)")
    ceiling = {}
    median = figures["Median time to a person"]
    if median == HIDDEN:
        floor["answered"] = 1
    elif median.endswith(" s"):
        floor["answered"] = k
    else:
        ceiling["answered"] = k - 1

    names = {n for parts, total in equations for n in (*parts, total)}
    cap = known.get("contacts", 40)
    low = {n: floor.get(n, 0) for n in names if n not in known}
    high = {n: ceiling.get(n, cap) for n in low}
    first = _solve(equations, known, low, high)
    assert first is not None, "the printed report must be consistent"
    pinned = {}
    for name in low:
        value = first[name]
        others = [(low[name], value - 1), (value + 1, high[name])]
        if 0 < value < k and not any(
                a <= b and _solve(equations, known, {**low, name: a}, {**high, name: b})
                for a, b in others):
            pinned[name] = value
    return pinned


def _solve(equations, known, low, high):
    """One set of values for the unknowns within their bounds that fits every equation,
    or None: bounds narrowed line by line, then each choice tried."""
    low, high = dict(low), dict(high)
    changed = True
    while changed:
        changed = False
        for parts, total in equations:
            terms = [(p, 1) for p in parts] + [(total, -1)]
            for name, sign in terms:
                if name in known:
                    continue
                rest = [(n, s) for n, s in terms if n != name]
                least = -sum(s * (known[n] if n in known else high[n] if s > 0 else low[n])
                             for n, s in rest)
                most = -sum(s * (known[n] if n in known else low[n] if s > 0 else high[n])
                            for n, s in rest)
                least, most = (least, most) if sign > 0 else (-most, -least)
                if least > low[name] or most < high[name]:
                    low[name], high[name] = max(low[name], least), min(high[name], most)
                    changed = True
                if low[name] > high[name]:
                    return None
    open_ = [n for n in low if low[n] < high[n]]
    if not open_:
        return low
    name = min(open_, key=lambda n: high[n] - low[n])
    for value in range(low[name], high[name] + 1):
        found = _solve(equations, known, {**low, name: value}, {**high, name: value})
        if found is not None:
            return found
    return None


def printed(events, k=3, period=YEAR):
    return json.loads(stats.to_json(stats.build(events, *period, TZ, k)))


# -- what is hidden ---------------------------------------------------------------------------

def test_one_contact_in_march_is_hidden_and_cannot_be_worked_out():
    events = [event(3, 10, 14)] + [event(4, d, 10) for d in range(1, 11)]
    report = stats.build(events, *YEAR, TZ)
    assert month_row(report, "2026-03") == (HIDDEN, "0", HIDDEN)
    assert report.grand_total.shown == "11"
    assert what_a_reader_works_out(printed(events)) == {}


def test_one_text_beside_eleven_calls_cannot_be_subtracted_from_the_month_total():
    events = ([event(5, d, 9) for d in range(1, 12)] + [event(5, 1, 9, channel="text")]
              + [event(6, d, 9, channel=c) for d in range(1, 6) for c in ("voice", "text")])
    report = stats.build(events, *YEAR, TZ)
    assert month_row(report, "2026-05") == (HIDDEN, HIDDEN, "12")
    assert dict(report.figures)["Contacts"] == "22"
    assert what_a_reader_works_out(printed(events)) == {}


def test_a_lone_hidden_month_in_a_column_takes_the_next_smallest_month_with_it():
    events = ([event(2, 1, 9, channel="text")] + [event(2, d, 9) for d in range(1, 21)]
              + [event(3, d, 9, channel=c) for d in range(1, 8) for c in ("voice", "text")]
              + [event(4, d, 9, channel=c) for d in range(1, 5) for c in ("voice", "text")])
    report = stats.build(events, *YEAR, TZ)
    assert month_row(report, "2026-02") == (HIDDEN, HIDDEN, "21")
    assert month_row(report, "2026-04") == (HIDDEN, HIDDEN, "8")  # April's 4 calls < March's 7
    assert month_row(report, "2026-03") == ("7", "7", "14")


def test_no_total_is_rounded_any_more():
    events = [event(5, 1, 9, channel="text")] * 2 + [event(5, d, 9) for d in range(1, 12)]
    report = stats.build(events, *YEAR, TZ)
    everything = stats.to_markdown(report, "Test") + stats.to_csv(report) + stats.to_json(report)
    assert "~" not in everything and "<" not in everything


def test_a_percentage_that_would_give_away_one_fallback_is_hidden():
    events = [event(7, d, 10) for d in range(1, 12)] + [event(7, 12, 10, outcome="fallback")]
    figures = dict(stats.build(events, *YEAR, TZ).figures)
    assert figures["Contacts"] == "12"
    assert figures["Reached the fallback"] == HIDDEN
    assert figures["Answered by a person"] == HIDDEN  # 92% of 12 would be 11: one fallback
    assert what_a_reader_works_out(printed(events)) == {}


def test_the_urgent_count_is_hidden_when_all_contacts_but_one_were_urgent():
    events = [event(8, d, 10, channel="text", urgent=d > 1) for d in range(1, 11)]
    figures = dict(stats.build(events, *YEAR, TZ).figures)
    assert figures["Flagged urgent"] == HIDDEN  # 9 of 10 would leave one not urgent
    assert what_a_reader_works_out(printed(events)) == {}


def test_times_are_hidden_with_the_count_of_contacts_they_are_taken_over():
    figures = dict(stats.build([event(7, 1, 10), event(7, 2, 10)], *YEAR, TZ).figures)
    assert figures["Median time to a person"] == HIDDEN
    assert figures["90th percentile time to a person"] == HIDDEN


def test_a_report_of_two_contacts_shows_nothing_but_zeros():
    report = stats.build([event(7, 1, 10), event(7, 2, 10, channel="text")], *YEAR, TZ)
    shown = [v for _, v in report.figures] + [c for key, _, _ in report.months
                                              for c in month_row(report, key)]
    assert set(shown) == {"0", HIDDEN}


def test_a_reader_with_a_pencil_does_recover_a_count_hidden_on_its_own():
    """The attack above is real: on the old kind of output (one cell hidden, its
    neighbours and total printed) it finds the one text."""
    leaky = printed([event(5, d, 9) for d in range(1, 12)] + [event(5, 1, 9, channel="text")])
    for m in leaky["months"]:
        m.update(voice=str(11 if m["month"] == "2026-05" else 0), total=str(
            12 if m["month"] == "2026-05" else 0))
        m["text"] = HIDDEN if m["month"] == "2026-05" else "0"
    leaky["totals"] = {"voice": "11", "text": HIDDEN, "all": "12"}
    assert what_a_reader_works_out(leaky) == {"2026-05 text": 1, "all text": 1}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.sampled_from([2, 3, 4]), events=st.lists(st.builds(
    event, month=st.sampled_from([3, 4, 5]), day=st.sampled_from([2, 7]),
    hour=st.sampled_from([3, 10, 22]), channel=st.sampled_from(["voice", "text"]),
    outcome=st.sampled_from(["peer", "peer", "clinical_director", "fallback", "abandoned"]),
    step=st.sampled_from([1, 2, 3]), urgent=st.booleans(),
    reason=st.sampled_from([None, None, "family", "concern", "peer"])), max_size=14))
def test_no_count_below_k_can_be_worked_out_from_any_report(k, events):
    spring = (datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 6, 1, tzinfo=TZ))
    assert what_a_reader_works_out(printed(events, k, spring)) == {}


# -- what is shown ----------------------------------------------------------------------------

def test_every_month_of_the_period_is_listed_even_when_empty():
    report = stats.build([], *YEAR, TZ)
    assert [key for key, _, _ in report.months][:2] == ["2026-01", "2026-02"]
    assert len(report.months) == 12
    assert report.grand_total.shown == "0"


def test_figures_answer_rate_times_and_after_hours():
    events = ([event(6, 2, 10, seconds=s) for s in (10, 20, 30, 40, 60, 100)]  # Tuesday, office
              + [event(6, 6, 23, outcome="clinical_director", step=3, seconds=200)] * 3  # Sat night
              + [event(6, 7, 2, outcome="fallback")] * 3 + [event(6, 8, 3, outcome="abandoned")] * 3)
    figures = dict(stats.build(events, *YEAR, TZ).figures)
    assert figures["Contacts"] == "15"
    assert figures["Answered by a person"] == "60%"
    assert figures["Median time to a person"] == "60 s"
    assert figures["90th percentile time to a person"] == "200 s"
    assert figures["Answered at step 1"] == "67%"
    assert figures["Escalated to the clinical director"] == "3"
    assert figures["Reached the fallback"] == "3"
    assert figures["Ended before reaching a person"] == "3"
    assert figures["After hours (outside Mon-Fri 08:00-17:00)"] == "60%"


def test_the_header_names_the_last_day_included_not_the_day_after():
    markdown = stats.to_markdown(stats.build([], *YEAR, TZ), "Test")
    assert "2026-01-01 to 2026-12-31, both included." in markdown
    assert "2027" not in markdown


def test_markdown_csv_and_json_print_the_same_cells():
    events = [event(3, 10, 14)] + [event(4, d, 10) for d in range(1, 11)]
    report = stats.build(events, *YEAR, TZ)
    march = next(m for m in json.loads(stats.to_json(report))["months"] if m["month"] == "2026-03")
    assert march == {"month": "2026-03", "voice": HIDDEN, "text": "0", "total": HIDDEN}
    assert "2026-03,hidden,0,hidden" in stats.to_csv(report)
    assert "| 2026-03 | hidden | 0 | hidden |" in stats.to_markdown(report, "Test")


def test_the_chart_draws_hidden_months_as_one_bar_of_their_shown_total():
    events = ([event(5, d, 9) for d in range(1, 12)] + [event(5, 1, 9, channel="text")]
              + [event(6, d, 9, channel=c) for d in range(1, 6) for c in ("voice", "text")]
              + [event(7, 1, 9)])
    bars = {b.month: b for b in stats.bars(stats.build(events, *YEAR, TZ))}
    assert bars["2026-05"] == stats.Bar("2026-05", voice=0, text=0, together=12, label="12")
    assert bars["2026-07"] == stats.Bar("2026-07", voice=0, text=0, together=0, label=HIDDEN)


def test_the_chart_is_a_png(tmp_path):
    path = tmp_path / "chart.png"
    stats.chart(stats.build([event(6, d, 9) for d in range(1, 6)], *YEAR, TZ), str(path), "Test")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_threshold_below_two_is_refused():
    with pytest.raises(ValueError):
        stats.build([], *YEAR, TZ, k=1)


@pytest.mark.parametrize("setting, k", [(None, 3), ("5", 5)])
def test_the_threshold_comes_from_hotline_stats_k(monkeypatch, setting, k):
    monkeypatch.delenv("HOTLINE_STATS_K", raising=False)
    if setting:
        monkeypatch.setenv("HOTLINE_STATS_K", setting)
    assert stats.configured_k({}) == k


@pytest.mark.parametrize("setting", ["1", "0", "three"])
def test_a_hotline_stats_k_that_would_hide_nothing_is_refused(monkeypatch, setting):
    monkeypatch.setenv("HOTLINE_STATS_K", setting)
    with pytest.raises(ValueError, match="at least 2"):
        stats.configured_k({})


# -- menu choices and requests (issue 16) ------------------------------------------------------

def chosen(month, day, reason=None, preference=None, outcome="peer", channel="text"):
    e = event(month, day, 10, channel=channel, outcome=outcome)
    e.reason, e.preference = reason, preference
    return e


def test_menu_choices_are_counted_with_families_apart_and_small_counts_hidden():
    events = ([chosen(3, d) for d in range(1, 11)]
              + [chosen(4, d, "family", "family") for d in range(1, 6)]
              + [chosen(5, 1, "concern", "worried")]
              + [chosen(5, d, "peer", "spanish") for d in range(2, 6)])
    report = stats.build(events, *YEAR, TZ)
    choices = dict(report.choices)
    assert choices["Family member"] == "5"
    assert choices["Concern about a colleague"] == HIDDEN  # one: could point at a person
    # ...and another count of the line hides with it, so 20 - 10 - 5 - 4 cannot give it away
    assert sum(v == HIDDEN for v in choices.values()) >= 2
    assert report.grand_total.shown == "20"
    assert "| Family member | 5 |" in stats.to_markdown(report, "t")
    assert json.loads(stats.to_json(report))["choices"]["Family member"] == "5"


def test_resource_requests_are_not_contacts_and_are_hidden_when_few():
    events = [chosen(3, d) for d in range(1, 6)] + [
        chosen(3, d, "resources", "resources", outcome="resources") for d in range(1, 3)]
    report = stats.build(events, *YEAR, TZ)
    figures = dict(report.figures)
    assert figures["Contacts"] == "5"
    assert figures["Resource lists sent"] == HIDDEN
    more = stats.build(events + [chosen(4, 1, "resources", outcome="resources")], *YEAR, TZ)
    assert dict(more.figures)["Resource lists sent"] == "3"
