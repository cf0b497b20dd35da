"""Coordinator commands about records: `hotline stats`, `hotline purge`, `hotline audit`."""
from __future__ import annotations

from datetime import datetime, timedelta

import click
from sqlalchemy import select

from hotline.records import stats as report
from hotline.store import StatEvent

FORMATS = click.Choice(["md", "csv", "json"])


def _app():
    from hotline.app import create_app
    return create_app(serving=False)


def _day(text: str, tz, option: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=tz)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a date like 2026-03-31",
                                 param_hint=option) from None


def _days(tz, start_text: str | None, end_text: str | None):
    """--from and --to as (first instant, first instant after), both days included;
    None for a date not given."""
    start = _day(start_text, tz, "--from") if start_text else None
    end = _day(end_text, tz, "--to") + timedelta(days=1) if end_text else None
    if start and end and end <= start:
        raise click.BadParameter("the last day is before the first", param_hint="--to")
    return start, end


@click.command("stats", context_settings={"show_default": True})
@click.option("--year", type=int, help="a calendar year (default: this year)")
@click.option("--period", metavar="PERIOD",
              help="a year (2026), a quarter (2026-Q2) or a month (2026-05); never free "
                   "ranges, which overlapping could undo small-count hiding")
@click.option("--format", "fmt", type=FORMATS, default="md")
@click.option("--chart", type=click.Path(dir_okay=False), help="also write a PNG chart here")
@click.option("--k", type=click.IntRange(min=2), show_default=False,
              help="counts from 1 to k-1 are hidden  [default: $HOTLINE_STATS_K, else 3]")
@click.option("--workload", is_flag=True, help="contacts per peer per month instead")
def stats(year, period, fmt, chart, k, workload):
    """Program statistics from anonymous events, small counts hidden, by year, quarter
    or month."""
    from hotline.records import periods
    from hotline.records.workload import monthly

    if year is not None and period:
        raise click.UsageError("give either --year or --period, not both")
    try:
        chosen = periods.parse(period) if period else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    app = _app()
    if k is None:
        try:
            k = report.configured_k(app.config)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    loaded = app.extensions["hotline.rotation"].current()
    tz = loaded.config.program.timezone
    now = datetime.now(tz)
    if chosen:
        start = datetime.combine(chosen.first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(chosen.end, datetime.min.time(), tzinfo=tz)
    else:
        year = year or now.year
        start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    title = f"{loaded.config.program.name}: contacts"
    with app.extensions["hotline.sessions"]() as db:
        if workload:
            last = (end - timedelta(seconds=1)).strftime("%Y-%m")
            rows = monthly(db, start.strftime("%Y-%m"), last)
            click.echo(report.workload(rows, k, fmt).rstrip("\n"))
            return
        events = db.scalars(select(StatEvent).where(StatEvent.hour >= start,
                                                    StatEvent.hour < end)).all()
    built = report.build(events, start, end, tz, k)
    render = {"md": lambda: report.to_markdown(built, title), "csv": lambda: report.to_csv(built),
              "json": lambda: report.to_json(built)}[fmt]
    click.echo(render().rstrip("\n"))
    if chart:
        report.chart(built, chart, f"{title} by month, {start:%Y-%m-%d} to "
                                   f"{built.last_day:%Y-%m-%d}")
        click.echo(f"chart written to {chart}", err=True)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="count what would go, delete nothing")
def purge(dry_run):
    """Delete operational rows past their retention limit (the clock does this hourly)."""
    from hotline.records.retention import purge as run_purge
    from hotline.records.retention import waiting

    app = _app()
    now = app.config["HOTLINE_CLOCK"]()
    counts = run_purge(app, now, dry_run=dry_run, actor="coordinator")
    verb = "would delete" if dry_run else "deleted"
    for label, n in counts.items():
        click.echo(f"{verb} {n:>6}  {label}")
    for label, n in waiting(app, now).items():
        click.echo(f"waiting {n:>6}  {label}")
    click.echo("kept: statistics events, peer workload counts, the audit trail")


@click.command("audit")
@click.option("--from", "start_text", metavar="DATE", help="first day (default: the first entry)")
@click.option("--to", "end_text", metavar="DATE", help="last day, included (default: the last "
                                                       "entry)")
@click.option("--format", "fmt", type=FORMATS, default="md", show_default=True)
def audit(start_text, end_text, fmt):
    """The audit trail: rotation reloads, REVEAL uses, purges, voicemails deleted unheard.
    What, when and which role acted; never a number or which conversation."""
    from hotline.records import audit as trail

    app = _app()
    tz = app.extensions["hotline.rotation"].current().config.program.timezone
    start, end = _days(tz, start_text, end_text)
    with app.extensions["hotline.sessions"]() as db:
        rows = trail.between(db, start, end)
    click.echo(trail.render(rows, tz, fmt), nl=False)
