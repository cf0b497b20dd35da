"""Program statistics from anonymous events, with small cells suppressed.

Pure: takes events (anything with the StatEvent attributes) and returns a
report; rendering to Markdown, CSV, JSON and a PNG chart is below. A count
between 1 and k-1 is shown as "<k", and a total that would let a reader
subtract its way back to such a count is rounded to the nearest 5 ("~15"),
so that "one contact in March" can never point at a person.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from zoneinfo import ZoneInfo

CHANNELS = ("voice", "text")
ANSWERED = ("peer", "clinical_director")
# Office hours for "after hours": outside Monday-Friday 08:00-17:00 local.
OFFICE_DAYS, OFFICE_START, OFFICE_END = range(0, 5), 8, 17


LENGTHS = ((5 * 60, "<5m"), (15 * 60, "5-15m"), (60 * 60, "15-60m"), (4 * 3600, "1-4h"))


def length_bucket(seconds: float) -> str:
    """A conversation's length, coarse enough that it cannot single one out."""
    return next((label for limit, label in LENGTHS if seconds < limit), ">4h")


@dataclass(frozen=True)
class Cell:
    value: int
    shown: str

    @property
    def suppressed(self) -> bool:
        return not self.shown.isdigit()


def cell(n: int, k: int) -> Cell:
    return Cell(n, f"<{k}" if 0 < n < k else str(n))


def total(n: int, parts: list[Cell], k: int) -> Cell:
    if 0 < n < k:
        return cell(n, k)
    if any(p.suppressed for p in parts):
        return Cell(n, f"~{5 * round(n / 5)}")
    return Cell(n, str(n))


@dataclass
class Report:
    start: datetime
    end: datetime
    k: int
    months: list[tuple[str, dict[str, Cell], Cell]] = field(default_factory=list)
    channel_totals: dict[str, Cell] = field(default_factory=dict)
    grand_total: Cell | None = None
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, shown value)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[rank]


def build(events, start: datetime, end: datetime, tz: ZoneInfo, k: int = 3) -> Report:
    events = [e for e in events if start <= e.hour < end]
    report = Report(start, end, k)
    by_month: dict[str, dict[str, int]] = {}
    local = start.astimezone(tz)
    year, month = local.year, local.month
    while datetime(year, month, 1, tzinfo=tz) < end:  # every month shows, even empty ones
        by_month[f"{year}-{month:02d}"] = {c: 0 for c in CHANNELS}
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    for e in events:
        key = e.hour.astimezone(tz).strftime("%Y-%m")
        by_month.setdefault(key, {c: 0 for c in CHANNELS})[e.channel] += 1
    column_cells: dict[str, list[Cell]] = {c: [] for c in CHANNELS}
    for key, counts in sorted(by_month.items()):
        cells = {c: cell(counts[c], k) for c in CHANNELS}
        for c in CHANNELS:
            column_cells[c].append(cells[c])
        report.months.append((key, cells, total(sum(counts.values()), list(cells.values()), k)))
    report.channel_totals = {c: total(sum(x.value for x in column_cells[c]), column_cells[c], k)
                             for c in CHANNELS}
    report.grand_total = total(len(events), list(report.channel_totals.values())
                               + [m[2] for m in report.months], k)
    report.figures = _figures(events, tz, k)
    return report


def _figures(events, tz: ZoneInfo, k: int) -> list[tuple[str, str]]:
    n = len(events)
    answered = [e for e in events if e.outcome in ANSWERED]
    waits = [e.seconds_to_human for e in answered if e.seconds_to_human is not None]

    def share(part: int, whole: int) -> str:
        # Half up, as people round (Python's round() would make 62.5% into 62%).
        return f"{int(100 * part / whole + 0.5)}%" if whole >= k else "n/a (too few)"

    def after_hours(e) -> bool:
        local = e.hour.astimezone(tz)
        return local.weekday() not in OFFICE_DAYS or not OFFICE_START <= local.hour < OFFICE_END

    figures = [
        ("Contacts", cell(n, k).shown),
        ("Answered by a person", share(len(answered), n)),
        ("Median time to a person", f"{median(waits):.0f} s" if len(waits) >= k else "n/a (too few)"),
        ("90th percentile time to a person",
         f"{percentile(waits, 0.9):.0f} s" if len(waits) >= k else "n/a (too few)"),
        ("Answered at step 1", share(sum(1 for e in answered if e.step in (0, 1)), len(answered))),
        ("Escalated to the clinical director",
         cell(sum(1 for e in events if e.outcome == "clinical_director"), k).shown),
        ("Reached the fallback", cell(sum(1 for e in events if e.outcome == "fallback"), k).shown),
        ("Ended before reaching a person",
         cell(sum(1 for e in events if e.outcome == "abandoned"), k).shown),
        ("Flagged urgent", cell(sum(1 for e in events if e.urgent), k).shown),
        ("After hours (outside Mon-Fri 08:00-17:00)", share(sum(map(after_hours, events)), n)),
    ]
    return figures


def to_markdown(report: Report, title: str) -> str:
    lines = [f"# {title}", "",
             f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}. Counts below {report.k} are "
             f"shown as <{report.k}; totals that would reveal them are rounded (~).", "",
             "| month | voice | text | total |", "| --- | ---: | ---: | ---: |"]
    for key, cells, tot in report.months:
        lines.append(f"| {key} | {cells['voice'].shown} | {cells['text'].shown} | {tot.shown} |")
    ct = report.channel_totals
    lines.append(f"| **all** | {ct['voice'].shown} | {ct['text'].shown} | "
                 f"{report.grand_total.shown} |")
    lines += ["", "| figure | value |", "| --- | ---: |"]
    lines += [f"| {label} | {value} |" for label, value in report.figures]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["month", "voice", "text", "total"])
    for key, cells, tot in report.months:
        w.writerow([key, cells["voice"].shown, cells["text"].shown, tot.shown])
    w.writerow(["all", report.channel_totals["voice"].shown, report.channel_totals["text"].shown,
                report.grand_total.shown])
    w.writerow([])
    w.writerow(["figure", "value"])
    w.writerows(report.figures)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps({
        "from": report.start.isoformat(), "to": report.end.isoformat(), "k": report.k,
        "months": [{"month": key, "voice": cells["voice"].shown, "text": cells["text"].shown,
                    "total": tot.shown} for key, cells, tot in report.months],
        "totals": {**{c: v.shown for c, v in report.channel_totals.items()},
                   "all": report.grand_total.shown},
        "figures": dict(report.figures),
    }, indent=2)


def chart(report: Report, path: str, title: str) -> None:
    """A stacked bar chart by month; suppressed cells are drawn empty and labelled."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [key for key, _, _ in report.months]
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    bottom = [0] * len(labels)
    colours = {"voice": "#1f4e79", "text": "#7fb3d5"}
    for channel in CHANNELS:
        heights = [0 if cells[channel].suppressed else cells[channel].value
                   for _, cells, _ in report.months]
        ax.bar(labels, heights, bottom=bottom, label=channel.capitalize(), color=colours[channel])
        bottom = [b + h for b, h in zip(bottom, heights)]
    for i, (_, cells, tot) in enumerate(report.months):
        hidden = [c for c in CHANNELS if cells[c].suppressed]
        note = tot.shown if not hidden else f"{tot.shown}\n({', '.join(hidden)} <{report.k})"
        ax.annotate(note, (i, bottom[i]), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 3), textcoords="offset points")
    ax.set_title(title)
    ax.set_ylabel("Contacts")
    ax.set_ylim(0, max(bottom + [report.k]) * 1.25)
    ax.legend(loc="upper left")
    ax.tick_params(axis="x", rotation=45)
    fig.text(0.01, 0.01, f"Counts below {report.k} are not shown, to protect privacy.",
             fontsize=8, color="#555555")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
