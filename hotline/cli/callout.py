"""`hotline callout start | status | close | stats`: a critical-incident callout from the
command line. The texts are written to the outbox and the clock process (`hotline
clock`, always running beside the web) sends them at the number's rate, so this
command needs no Twilio credentials of its own and never holds up the line.
"""
from __future__ import annotations

import statistics

import click
from sqlalchemy import select

from hotline.callout import service
from hotline.callout.tally import Refusal, send_seconds
from hotline.rotation.model import CLINICAL_DIRECTOR
from hotline.store import CalloutStat
from hotline.text.outbox import stage


def _app():
    from hotline.app import create_app
    return create_app(serving=False)


def _parts(app):
    loaded = app.extensions["hotline.rotation"].current()
    return loaded.config, app.config["HOTLINE_CLOCK"](), app.extensions["hotline.sessions"]


@click.group("callout")
def callout():
    """Critical-incident callouts: page the team, count who can come."""


@callout.command("start")
@click.argument("message")
@click.option("--tag", help="ask the peers with this tag (default: the file's callout tag, "
                            "or every peer)")
@click.option("--everyone", is_flag=True, help="ask every peer, whatever the file's default tag")
@click.option("--by", "initiator", default=CLINICAL_DIRECTOR, show_default=True,
              help="person id (from the rotation file) who gets the running tally by text")
def start(message, tag, everyone, initiator):
    """Text MESSAGE to every peer with the tag; phone those who stay silent."""
    app = _app()
    config, now, sessions = _parts(app)
    try:
        with sessions() as db, db.begin():
            out: list = []
            _, asked = service.start(app, db, config, message,
                                     service.EVERYONE if everyone else tag, initiator, now, out)
            service.hand_to_clock(db, stage(app, db, out, now), now)
    except Refusal as exc:
        raise click.ClickException(str(exc)) from None
    rate = int(app.config.get("HOTLINE_SEND_RATE") or 0)
    click.echo(f"Callout sent to {asked} peers (about {send_seconds(asked, rate)} s to text them "
               f"all at the number's rate). Tally by text to {config.person(initiator).name}; "
               "`hotline callout status` shows it by name.")


@callout.command("status")
def status():
    """The open callout's tally, by name."""
    app = _app()
    config, _, sessions = _parts(app)
    with sessions() as db:
        st = service.status(app, db, config)
    if st is None:
        click.echo("No callout is open.")
        return
    at = st.started_at.astimezone(config.program.timezone).strftime("%a %d %b %H:%M")
    click.echo(f"Callout: {st.message}")
    click.echo(f"Started {at} ({st.tag or 'every peer'}); tally to {st.initiator or 'nobody'}")
    click.echo(st.counts.text())
    click.echo("Yes: " + (", ".join(n + (f" ({m} min)" if m is not None else "")
                                     for n, m in st.yes) or "-"))
    click.echo("No: " + (", ".join(st.no) or "-"))
    click.echo("Waiting: " + (", ".join(n + (" (unreachable)" if u else "")
                                         + (f" (phoned {c}x)" if c else "")
                                         for n, u, c in st.waiting) or "-"))


@callout.command("close")
@click.option("--note", default="", help="added to the closing text those who said yes get")
def close(note):
    """Close the open callout: thank those who said yes, keep only the counts."""
    app = _app()
    config, now, sessions = _parts(app)
    try:
        with sessions() as db, db.begin():
            out: list = []
            final = service.close(app, db, config, now, out, note)
            service.hand_to_clock(db, stage(app, db, out, now), now)
    except Refusal as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(final.text(final=True))


@callout.command("stats")
@click.option("--year", type=int, help="a calendar year (default: this year)")
def stats(year):
    """What closed callouts left: how many, peers asked, yes answers, time to the first yes."""
    app = _app()
    config, now, sessions = _parts(app)
    year = year or now.astimezone(config.program.timezone).year
    with sessions() as db:
        rows = db.scalars(select(CalloutStat).where(CalloutStat.month.like(f"{year}-%"))).all()
    firsts = [r.seconds_to_first_yes for r in rows if r.seconds_to_first_yes is not None]
    median = f"{round(statistics.median(firsts) / 60)} min" if firsts else "-"
    click.echo(f"Callouts in {year}: {len(rows)}")
    click.echo(f"Peers asked: {sum(r.asked for r in rows)}")
    click.echo(f"Answered yes: {sum(r.answered_yes for r in rows)}")
    click.echo(f"Median time to the first yes: {median}")


