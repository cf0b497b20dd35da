"""Coordinator commands about records: `hotline stats` and `hotline purge`."""
from __future__ import annotations

from datetime import datetime, timedelta

import click
from sqlalchemy import select

from . import stats as report
from .store import StatEvent


def _app():
    from .app import create_app
    return create_app(serving=False)


def _period(tz, year, start_text, end_text):
    if start_text or end_text:
        try:
            start = datetime.strptime(start_text, "%Y-%m-%d").replace(tzinfo=tz) if start_text \
                else datetime(datetime.now(tz).year, 1, 1, tzinfo=tz)
            end = (datetime.strptime(end_text, "%Y-%m-%d").replace(tzinfo=tz) + timedelta(days=1)
                   if end_text else datetime.now(tz))
        except ValueError:
            raise click.BadParameter("dates are written 2026-03-31") from None
        return start, end
    year = year or datetime.now(tz).year
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


@click.command("stats", context_settings={"show_default": True})
@click.option("--year", type=int, help="a calendar year (default: this year)")
@click.option("--from", "start_text", metavar="DATE", help="first day, e.g. 2026-01-01")
@click.option("--to", "end_text", metavar="DATE", help="last day, included")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md")
@click.option("--chart", type=click.Path(dir_okay=False), help="also write a PNG chart here")
@click.option("--k", default=3, help="counts below k are shown as <k")
@click.option("--workload", is_flag=True, help="contacts per peer per month instead")
def stats(year, start_text, end_text, fmt, chart, k, workload):
    """Program statistics from anonymous events, small cells suppressed."""
    from .workload import monthly

    app = _app()
    loaded = app.extensions["hotline.rotation"].current()
    tz = loaded.config.program.timezone
    start, end = _period(tz, year, start_text, end_text)
    title = f"{loaded.config.program.name}: contacts"
    with app.extensions["hotline.sessions"]() as db:
        if workload:
            last = (end - timedelta(seconds=1)).strftime("%Y-%m")
            rows = monthly(db, start.strftime("%Y-%m"), last)
            click.echo("| month | peer | contacts |\n| --- | --- | ---: |")
            for month, peer, n in rows:
                click.echo(f"| {month} | {peer} | {report.cell(n, k).shown} |")
            return
        events = db.scalars(select(StatEvent).where(StatEvent.hour >= start,
                                                    StatEvent.hour < end)).all()
    built = report.build(events, start, end, tz, k)
    click.echo({"md": lambda: report.to_markdown(built, title), "csv": lambda: report.to_csv(built),
                "json": lambda: report.to_json(built)}[fmt]())
    if chart:
        report.chart(built, chart, title)
        click.echo(f"chart written to {chart}", err=True)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="count what would go, delete nothing")
def purge(dry_run):
    """Delete operational rows past their retention limit (the clock does this hourly)."""
    from .retention import purge as run_purge

    app = _app()
    counts = run_purge(app, app.config["HOTLINE_CLOCK"](), dry_run=dry_run, actor="coordinator")
    verb = "would delete" if dry_run else "deleted"
    for label, n in counts.items():
        click.echo(f"{verb} {n:>6}  {label}")
    click.echo("kept: statistics events, peer workload counts, the audit trail")
