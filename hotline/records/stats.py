"""Program statistics from anonymous events, with small counts hidden.

Pure: takes events (anything with the StatEvent attributes) and returns a
report; rendering to Markdown, CSV, JSON and a PNG chart is below. Which counts
are hidden, and why no figure can give one away, is hotline/records/suppression.py.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from hotline.records.suppression import GRAND_TOTAL, HIDDEN, Line, hide

CHANNELS = ("voice", "text")
ANSWERED = ("peer", "clinical_director")
# Office hours for "after hours": outside Monday-Friday 08:00-17:00 local.
OFFICE_DAYS, OFFICE_START, OFFICE_END = range(0, 5), 8, 17
DEFAULT_K = 3

LENGTHS = ((5 * 60, "<5m"), (15 * 60, "5-15m"), (60 * 60, "15-60m"), (4 * 3600, "1-4h"))


def length_bucket(seconds: float) -> str:
    """A conversation's length, coarse enough that it cannot single one out."""
    return next((label for limit, label in LENGTHS if seconds < limit), ">4h")


def configured_k(config) -> int:
    """The threshold both `hotline stats` and the dashboard use: the app's
    HOTLINE_STATS_K, else the environment's, else 3. Below 2 would hide nothing."""
    raw = config.get("HOTLINE_STATS_K") or os.environ.get("HOTLINE_STATS_K") or DEFAULT_K
    try:
        k = int(raw)
    except (TypeError, ValueError):
        k = 0
    if k < 2:
        raise ValueError(f"HOTLINE_STATS_K must be a whole number of at least 2, not {raw!r}")
    return k


# -- the report -------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    value: int
    shown: str

    @property
    def suppressed(self) -> bool:
        return self.shown == HIDDEN


def cell(n: int, k: int) -> Cell:
    """A count standing alone, in no line: hidden from 1 to k-1."""
    return Cell(n, HIDDEN if 0 < n < k else str(n))


@dataclass
class Report:
    start: datetime
    end: datetime  # excluded
    k: int
    months: list[tuple[str, dict[str, Cell], Cell]] = field(default_factory=list)
    channel_totals: dict[str, Cell] = field(default_factory=dict)
    grand_total: Cell | None = None
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, shown value)
    choices: list[tuple[str, str]] = field(default_factory=list)  # menu choice, contacts

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def note(self) -> str:
        return (f'"{HIDDEN}" marks a count from 1 to {self.k - 1}, or a count hidden with it '
                f"so that it cannot be worked out from the totals; percentages and times "
                f"that would give such a count away are hidden too.")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[rank]


def _month_keys(start: datetime, end: datetime, tz: ZoneInfo) -> list[str]:
    """Every month of the period, even empty ones: a missing row would say "none"."""
    local = start.astimezone(tz)
    year, month, keys = local.year, local.month, []
    while datetime(year, month, 1, tzinfo=tz) < end:
        keys.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _after_hours(e, tz: ZoneInfo) -> bool:
    local = e.hour.astimezone(tz)
    return local.weekday() not in OFFICE_DAYS or not OFFICE_START <= local.hour < OFFICE_END


# Requests answered without a peer (INFO, the program office in its hours): counted
# apart, each a count standing alone; they are not contacts.
REQUESTS = {"resources": "Resource lists sent", "office": "Put through to the program office"}
# The menu choices of contacts, in the order the report lists them.
CHOICES = {"family": "Family member", "concern": "Concern about a colleague",
           "named": "Asked for a peer by name", "office": "Program office (after hours)"}
NO_CHOICE = "No menu choice"


def is_request(e) -> bool:
    return e.outcome in REQUESTS


def choice_of(e) -> str:
    """The choice line a contact is counted in: its kind, or its menu key for a
    language or specialty ("spanish"), or none."""
    reason = getattr(e, "reason", None)
    if reason in CHOICES:
        return reason
    if reason == "peer" and getattr(e, "preference", None):
        return f"menu: {e.preference}"
    return "none"


def choice_names(events) -> list[str]:
    keys = sorted({choice_of(e) for e in events if choice_of(e).startswith("menu: ")})
    return ["none", *CHOICES, *keys]


def choice_label(name: str) -> str:
    return NO_CHOICE if name == "none" else CHOICES.get(name, name.replace("menu: ", "Menu: "))


def tally(events, start: datetime, end: datetime, tz: ZoneInfo):
    """(month keys, every count the report rests on, the lines they add up in).
    Names: "2026-03/voice", "all/total", "answered", ... Some are never printed
    ("peer") but follow from printed ones, so they are in the lines too."""
    events = [e for e in events if start <= e.hour < end and not is_request(e)]
    keys = _month_keys(start, end, tz)
    counts: dict[str, int] = {f"{m}/{c}": 0 for m in keys + ["all"]
                              for c in (*CHANNELS, "total")}
    for e in events:
        month = e.hour.astimezone(tz).strftime("%Y-%m")
        for name in (f"{month}/{e.channel}", f"{month}/total", f"all/{e.channel}", GRAND_TOTAL):
            counts[name] += 1
    lines: list[Line] = [((f"{m}/voice", f"{m}/text"), f"{m}/total") for m in keys + ["all"]]
    lines += [(tuple(f"{m}/{c}" for m in keys), f"all/{c}") for c in (*CHANNELS, "total")]

    n = len(events)
    answered = [e for e in events if e.outcome in ANSWERED]
    counts.update({
        "answered": len(answered),
        "fallback": sum(e.outcome == "fallback" for e in events),
        "abandoned": sum(e.outcome == "abandoned" for e in events),
        "peer": sum(e.outcome == "peer" for e in events),
        "director": sum(e.outcome == "clinical_director" for e in events),
        "step 1": sum(e.step in (0, 1) for e in answered),
        "urgent": sum(bool(e.urgent) for e in events),
        "after hours": sum(_after_hours(e, tz) for e in events),
    })
    counts["other outcome"] = n - counts["answered"] - counts["fallback"] - counts["abandoned"]
    lines += [(("answered", "fallback", "abandoned", "other outcome"), GRAND_TOTAL),
              (("peer", "director"), "answered")]
    # Menu choices make all contacts too: one more line, hidden by the same rules.
    choices = [f"choice/{name}" for name in choice_names(events)]
    counts.update({name: 0 for name in choices})
    for e in events:
        counts[f"choice/{choice_of(e)}"] += 1
    lines.append((tuple(choices), GRAND_TOTAL))
    # Step 1, urgent and after hours each split a whole into two and share nothing but
    # that whole with the lines above, so they need no line: see split() in build.
    return keys, counts, lines


def build(events, start: datetime, end: datetime, tz: ZoneInfo, k: int = DEFAULT_K) -> Report:
    if k < 2:
        raise ValueError("k must be at least 2: a threshold of 1 hides nothing")
    requests = [e for e in events if start <= e.hour < end and is_request(e)]
    events = [e for e in events if start <= e.hour < end and not is_request(e)]
    keys, counts, lines = tally(events, start, end, tz)
    hidden = hide(counts, lines, k)

    def shown(name: str) -> Cell:
        return Cell(counts[name], HIDDEN if name in hidden else str(counts[name]))

    report = Report(start, end, k)
    report.months = [(m, {c: shown(f"{m}/{c}") for c in CHANNELS}, shown(f"{m}/total"))
                     for m in keys]
    report.channel_totals = {c: shown(f"all/{c}") for c in CHANNELS}
    report.grand_total = shown(GRAND_TOTAL)

    def split(part: str, whole: str) -> bool:
        """A count and the rest of its whole: both printed, in effect, once the whole is."""
        rest = counts[whole] - counts[part]
        return whole not in hidden and not (0 < counts[part] < k or 0 < rest < k)

    def share(part: str, whole: str) -> str:
        if whole in hidden:
            return HIDDEN
        if counts[whole] == 0:
            return "n/a (none)"
        if part in hidden or not split(part, whole):
            return HIDDEN
        # Half up, as people round (Python's round() would make 62.5% into 62%).
        return f"{int(100 * counts[part] / counts[whole] + 0.5)}%"

    waits = [e.seconds_to_human for e in events
             if e.outcome in ANSWERED and e.seconds_to_human is not None]

    def timing(value) -> str:
        if "answered" in hidden:
            return HIDDEN
        return f"{value(waits):.0f} s" if len(waits) >= k else "n/a (too few)"

    urgent = str(counts["urgent"]) if split("urgent", GRAND_TOTAL) else HIDDEN
    report.figures = [
        ("Contacts", report.grand_total.shown),
        ("Answered by a person", share("answered", GRAND_TOTAL)),
        ("Median time to a person", timing(median)),
        ("90th percentile time to a person", timing(lambda w: percentile(w, 0.9))),
        ("Answered at step 1", share("step 1", "answered")),
        ("Escalated to the clinical director", shown("director").shown),
        ("Reached the fallback", shown("fallback").shown),
        ("Ended before reaching a person", shown("abandoned").shown),
        ("Flagged urgent", urgent),
        ("After hours (outside Mon-Fri 08:00-17:00)", share("after hours", GRAND_TOTAL)),
    ]
    report.choices = [(choice_label(name[len("choice/"):]), shown(name).shown)
                      for name in counts if name.startswith("choice/")]
    # Requests stand alone, in no line with the contacts: hidden from 1 to k-1.
    report.figures += [(label, cell(sum(e.outcome == kind for e in requests), k).shown)
                       for kind, label in REQUESTS.items()]
    return report


# -- output -----------------------------------------------------------------------------

def _header(report: Report) -> str:
    return f"{report.start:%Y-%m-%d} to {report.last_day:%Y-%m-%d}, both included."


def to_markdown(report: Report, title: str) -> str:
    lines = [f"# {title}", "", f"{_header(report)} {report.note}", "",
             "| month | voice | text | total |", "| --- | ---: | ---: | ---: |"]
    for key, cells, tot in report.months:
        lines.append(f"| {key} | {cells['voice'].shown} | {cells['text'].shown} | {tot.shown} |")
    ct = report.channel_totals
    lines.append(f"| **all** | {ct['voice'].shown} | {ct['text'].shown} | "
                 f"{report.grand_total.shown} |")
    lines += ["", "| figure | value |", "| --- | ---: |"]
    lines += [f"| {label} | {value} |" for label, value in report.figures]
    lines += ["", "| menu choice | contacts |", "| --- | ---: |"]
    lines += [f"| {label} | {value} |" for label, value in report.choices]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["month", "voice", "text", "total"])
    for key, cells, tot in report.months:
        w.writerow([key, cells["voice"].shown, cells["text"].shown, tot.shown])
    w.writerow(["all", report.channel_totals["voice"].shown, report.channel_totals["text"].shown,
                report.grand_total.shown])
    w.writerow([])
    w.writerow(["figure", "value"])
    w.writerows(report.figures)
    w.writerow([])
    w.writerow(["menu choice", "contacts"])
    w.writerows(report.choices)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps({
        "from": report.start.isoformat(), "to": report.end.isoformat(),
        "last_day": report.last_day.isoformat(), "k": report.k, "note": report.note,
        "months": [{"month": key, "voice": cells["voice"].shown, "text": cells["text"].shown,
                    "total": tot.shown} for key, cells, tot in report.months],
        "totals": {**{c: v.shown for c, v in report.channel_totals.items()},
                   "all": report.grand_total.shown},
        "figures": dict(report.figures),
        "choices": dict(report.choices),
    }, indent=2)


@dataclass(frozen=True)
class Bar:
    month: str
    voice: int  # heights: shown counts only
    text: int
    together: int  # the month's total, when its calls and texts are hidden
    label: str


def bars(report: Report) -> list[Bar]:
    """What the chart draws, from shown cells only: a month whose calls and texts are
    hidden is one bar of its total, and a hidden total is no bar at all."""
    out = []
    for key, cells, tot in report.months:
        split = not any(cells[c].suppressed for c in CHANNELS)
        out.append(Bar(key, cells["voice"].value if split else 0,
                       cells["text"].value if split else 0,
                       tot.value if not split and not tot.suppressed else 0, tot.shown))
    return out


def chart(report: Report, path, title: str) -> None:
    """A stacked bar chart by month (see bars), as a PNG at `path` (a file name or
    a binary file)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = bars(report)
    labels = [b.month for b in drawn]
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    ax.bar(labels, [b.voice for b in drawn], label="Voice", color="#1f4e79")
    ax.bar(labels, [b.text for b in drawn], bottom=[b.voice for b in drawn], label="Text",
           color="#7fb3d5")
    if any(b.together for b in drawn):
        ax.bar(labels, [b.together for b in drawn], label="Voice and text together",
               color="#a6a6a6")
    tops = [b.voice + b.text + b.together for b in drawn]
    for i, (b, top) in enumerate(zip(drawn, tops)):
        ax.annotate(b.label, (i, top), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 3), textcoords="offset points")
    ax.set_title(title)
    ax.set_ylabel("Contacts")
    ax.set_ylim(0, max(tops + [report.k]) * 1.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: never over a label
    ax.tick_params(axis="x", rotation=45)
    fig.text(0.01, 0.01, f"Counts from 1 to {report.k - 1}, and counts that would give them "
             "away, are hidden to protect privacy.", fontsize=8, color="#555555")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


# -- peer workload ----------------------------------------------------------------------

def workload(rows: list[tuple[str, str, int]], k: int, fmt: str) -> str:
    """Contacts per peer per month, small counts hidden. No totals are printed, so
    there is nothing to subtract a hidden count from."""
    shown = [(month, peer, cell(n, k).shown) for month, peer, n in rows]
    if fmt == "json":
        return json.dumps({"k": k, "rows": [{"month": m, "peer": p, "contacts": c}
                                            for m, p, c in shown]}, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["month", "peer", "contacts"])
        w.writerows(shown)
        return out.getvalue()
    lines = ["| month | peer | contacts |", "| --- | --- | ---: |"]
    lines += [f"| {m} | {p} | {c} |" for m, p, c in shown]
    return "\n".join(lines) + "\n"
