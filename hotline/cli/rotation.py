"""Rotation commands: `hotline check`, `oncall`, `schedule`, `ics`.

They need only the rotation file, never the database or Twilio settings, so a
coordinator can run them on a laptop.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta

import click

from hotline.rotation.model import CLINICAL_DIRECTOR, COORDINATOR_MODEL, Config
from hotline.rotation.durations import format_duration
from hotline.rotation.gaps import coverage_gaps
from hotline.rotation.reader import ConfigError, load
from hotline.schedule import Schedule, localize

_WHEN = "%a %Y-%m-%d %H:%M"


def _config_path(path: str | None) -> str:
    return path or os.environ.get("HOTLINE_CONFIG") or "config/rotation.yaml"


def _load(path: str | None) -> Config:
    try:
        return load(_config_path(path))
    except ConfigError as exc:
        click.echo(f"The rotation file has {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)


def _local(config: Config, text: str | None) -> datetime:
    tz = config.program.timezone
    if not text:
        return datetime.now(tz)
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return localize(datetime.strptime(text, fmt), tz)
        except ValueError:
            pass
    raise click.BadParameter(f"'{text}' is not a local time like \"2026-12-25 09:00\"")


config_option = click.option("--config", "config_path", metavar="FILE",
                             help="rotation file (default: $HOTLINE_CONFIG, "
                                  "else config/rotation.yaml)")


weeks_option = click.option("--weeks", default=8, show_default=True, type=click.IntRange(min=1),
                            help="how many weeks ahead to look for steps with nobody")


def coverage_lines(config: Config, start: datetime, weeks: int) -> list[str]:
    """The coverage report of `check` and `schedule`: holes loud, designed off-hours calm."""
    end = localize(start.replace(tzinfo=None) + timedelta(weeks=weeks), config.program.timezone)
    gaps = coverage_gaps(Schedule(config), start, end)
    holes = [g for g in gaps if not g.designed]
    lines = [f"Coverage, {weeks} week(s) from {start.strftime(_WHEN)}:"]
    for g in gaps:
        mark = "!!! HOLE    " if not g.designed else "    designed"
        lines.append(f"{mark} step {g.step}  {g.start.strftime(_WHEN)} -> "
                     f"{g.end.strftime(_WHEN)}  {g.detail}")
    if holes:
        lines.append(f"WARNING: {len(holes)} hole(s): a step has nobody new to ring, so "
                     "contacts skip it. Fix the rotation or add an override.")
    else:
        lines.append("No holes: every step reaches someone new whenever it is meant to"
                     + (" (designed off-hours above)." if gaps else "."))
    return lines


@click.command()
@click.argument("config_file", required=False)
@config_option
@weeks_option
@click.option("--from", "start_text", metavar="DATE", help="look ahead from (default: now)")
def check(config_file, config_path, weeks, start_text):
    """Validate the rotation file, summarise it, and warn of steps left empty ahead."""
    config_file = config_file or config_path
    config = _load(config_file)
    s = Schedule(config)
    now = _local(config, start_text)
    p = config.program
    click.echo(f"OK  {_config_path(config_file)}")
    click.echo(f"Program:    {p.name}, {p.number}, {p.timezone.key}")
    click.echo(f"Peers:      {len(config.peers)}; clinical director {config.clinical_director.name}")
    for name, rot in config.rotations.items():
        window = ""
        if rot.active:
            days = ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d]
                            for d in sorted(rot.active.days))
            window = f", active {days} {rot.active.start:%H:%M}-{rot.active.end:%H:%M}"
        click.echo(f"Rotation:   {name}: every {format_duration(rot.shift)} from "
                   f"{rot.start:%Y-%m-%d %H:%M}, {len(rot.peers)} peers{window}")
    click.echo(f"Overrides:  {len(config.overrides)}")
    for plan in s.plan(now):
        names = ", ".join(r.person.name for r in plan.reach) or "nobody on call now"
        click.echo(f"Step {plan.number}:     {' + '.join(plan.step.notify)} "
                   f"(ring {format_duration(plan.step.ring)}, wait "
                   f"{format_duration(plan.step.wait)}) -> now: {names}")
    for line in clinical_summary(config, s, now):
        click.echo(line)
    fb = config.escalation.fallback
    click.echo(f"Fallback:   {'forward to ' + fb.forward if fb.forward else 'message only'}")
    co = config.callout
    team = [p for p in config.peers.values() if co.tag is None or co.tag in p.tags]
    click.echo(f"Callout:    by text from {', '.join(co.allowed) or 'nobody'}; reaches "
               f"{len(team)} peers ({co.tag or 'every peer'}); phones after "
               f"{format_duration(co.call_after)}, {co.calls}x")
    if config.voice.menu:  # what callers and texters can choose, as they will see it
        click.echo("Menu:       " + ", ".join(f"{o.digit} {o.label} ({o.kind})"
                                              for o in config.voice.menu))
    services = config.services
    office = "office " + ("set" if services.office else "not set")
    click.echo(f"Services:   {len(services.resources)} resource line(s), {office}, ask by name "
               f"{'allowed' if services.ask_by_name else 'off'}")
    click.echo("Pictures:   " + ("relayed to the peer, deleted at Twilio once delivered"
                                 if config.sms.pictures == "relay" else
                                 "not passed on; the texter is told and the peer sees a note"))
    title = config.clinical.title
    click.echo("Calls:      " + (f"bridged through a conference; the peer presses * then 9 (page "
                                 f"the {title}), 8 ({title} as a coach only the peer hears), 7 "
                                 "(the coach heard by the caller too)"
                                 if config.voice.bridge == "conference" else
                                 "dialled straight to the peer (no keys during the call)"))
    for line in coverage_lines(config, now, weeks):
        click.echo(line)


def clinical_summary(config: Config, s: Schedule, now: datetime) -> list[str]:
    """Who takes urgent pages and consults, in the words the program chose."""
    c = config.clinical
    chain = s.clinical_chain(now)
    if c.model == COORDINATOR_MODEL:
        model = ("team coordinator model: no licensed clinician; a coordinator takes pages "
                 "and consults, and callers and peers hear 'team coordinator'")
    else:
        model = "clinician model: licensed clinicians take pages and consults"
    lines = [f"Clinical:   {model}",
             f"Pages:      call and text, every {format_duration(c.page_every)} up to "
             f"{c.page_times} times per person, then the next; order now: "
             + " -> ".join(p.name for p in chain) + " -> fallback"]
    if c.people and c.shift:
        lines.append(f"            {c.title}s take turns every {format_duration(c.shift)} "
                     f"from {c.start:%Y-%m-%d %H:%M}")
    if c.menu_digit:
        lines.append(f"            callers press {c.menu_digit} for the {c.title}")
    return lines


def oncall_report(config: Config, at: datetime) -> dict:
    """The documented, stable shape of `hotline oncall --json`."""
    plans = Schedule(config).plan(at)
    fb = config.escalation.fallback
    return {
        "at": at.isoformat(),
        "timezone": config.program.timezone.key,
        "steps": [{
            "step": plan.number,
            "notify": list(plan.step.notify),
            "ring_seconds": int(plan.step.ring.total_seconds()),
            "wait_seconds": int(plan.step.wait.total_seconds()),
            "reach": [{"id": r.person.id, "name": r.person.name, "phone": r.person.phone,
                       "via": r.via, "override": r.override} for r in plan.reach],
            "already_tried": [p.id for p in plan.already_tried],
        } for plan in plans],
        "repeat": config.escalation.repeat,
        "fallback": {"forward": fb.forward, "message": fb.message},
    }


def stepped_out(at: datetime) -> tuple[dict[str, datetime | None], str | None]:
    """Peers away by text (OFF, BUSY) at `at`, read from $DATABASE_URL when it is set; the
    rest of these commands need only the file, and so does this one without a database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {}, None
    from sqlalchemy.exc import SQLAlchemyError

    from hotline.availability import state
    from hotline.store import make_engine, make_sessions

    engine = make_engine(url)
    try:
        with make_sessions(engine)() as db:
            return state.away(db, at), None
    except SQLAlchemyError as exc:
        return {}, f"could not read who has stepped out ({type(exc).__name__})"
    finally:
        engine.dispose()


@click.command()
@config_option
@click.option("--at", "at_text", metavar="TIME", help='local time, e.g. "2026-12-25 09:00" '
                                                      "(default: now)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def oncall(config_path, at_text, as_json):
    """Who each escalation step would reach at a time (and, with $DATABASE_URL, who has
    stepped out by text)."""
    config = _load(config_path)
    at = _local(config, at_text)
    report = oncall_report(config, at)
    away, problem = stepped_out(at)
    tz = config.program.timezone
    report["stepped_out"] = {pid: until.astimezone(tz).isoformat() if until else None
                             for pid, until in sorted(away.items())}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{config.program.name}: on call at {at.strftime(_WHEN)} {at.tzname()} "
               f"({config.program.timezone.key})")
    for step in report["steps"]:
        click.echo(f"\nStep {step['step']}: {' + '.join(step['notify'])} "
                   f"(ring {step['ring_seconds']}s, "
                   f"wait {format_duration(timedelta(seconds=step['wait_seconds']))})")
        for r in step["reach"]:
            via = "" if r["via"] in ("peer", CLINICAL_DIRECTOR) else f"  [{r['via']}]"
            flag = "  OVERRIDE" if r["override"] else ""
            if r["id"] in away:
                until = away[r["id"]]
                flag += "  STEPPED OUT until " + (
                    until.astimezone(config.program.timezone).strftime(_WHEN) if until else "ON")
                flag += " (skipped)"
            click.echo(f"  {r['name']} ({r['id']})  {r['phone']}{via}{flag}")
        for ident in step["already_tried"]:
            click.echo(f"  ({ident} already rung at an earlier step)")
        if not step["reach"]:
            click.echo("  nobody on call: this step is skipped")
    if problem:
        click.echo(f"\n({problem}; shown as the rotation file has it)")
    fb = report["fallback"]
    click.echo(f"\nThen{' repeat ' + str(report['repeat']) + 'x, then' if report['repeat'] else ''}"
               f" fallback: {'forward to ' + fb['forward'] if fb['forward'] else 'message'}")


def _period(config: Config, start_text: str | None, days: int) -> tuple[datetime, datetime]:
    tz = config.program.timezone
    start = _local(config, start_text)
    if not start_text:
        start = localize(datetime.combine(start.date(), datetime.min.time()), tz)
    end = localize(start.replace(tzinfo=None) + timedelta(days=days), tz)
    return start, end


@click.command()
@config_option
@click.option("--days", default=14, show_default=True, type=click.IntRange(min=1),
              help="how many days to show")
@click.option("--from", "start_text", metavar="DATE", help="first day (default: today)")
@weeks_option
def schedule(config_path, days, start_text, weeks):
    """Shifts per rotation, overrides applied; steps left empty in the coming weeks."""
    config = _load(config_path)
    s = Schedule(config)
    start, end = _period(config, start_text, days)
    click.echo(f"{config.program.name}: {start.strftime(_WHEN)} to {end.strftime(_WHEN)} "
               f"({config.program.timezone.key})")
    for name in config.rotations:
        click.echo(f"\n{name}")
        for seg in s.segments(name, start, end):
            who = config.peers[seg.peer].name + f" ({seg.peer})" if seg.peer else (
                "   off by design" if s.off_by_design(name, seg.start) else "-- nobody --")
            note = ""
            if seg.override:
                o = seg.override
                note = f"  OVERRIDE line {o.line}" + (f", replaces {o.replaces}" if o.replaces else "")
            click.echo(f"  {seg.start.strftime(_WHEN)} -> {seg.end.strftime(_WHEN)}  {who}{note}")
    click.echo("")
    for line in coverage_lines(config, start, weeks):
        click.echo(line)


@click.command()
@config_option
@click.option("--peer", "peer_id", metavar="ID", help="only this peer's shifts")
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=1))
@click.option("--from", "start_text", metavar="DATE", help="first day (default: today)")
@click.option("--output", "-o", type=click.File("wb"), default="-", help="file (default stdout)")
def ics(config_path, peer_id, days, start_text, output):
    """An iCalendar feed of the shifts, for a peer's phone calendar."""
    from icalendar import Calendar, Event

    config = _load(config_path)
    if peer_id and peer_id not in config.peers:
        raise click.BadParameter(f"no peer with id '{peer_id}'", param_hint="--peer")
    s = Schedule(config)
    start, end = _period(config, start_text, days)
    cal = Calendar()
    cal.add("prodid", "-//hotline//on-call shifts//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{config.program.name} on call"
                            + (f": {config.peers[peer_id].name}" if peer_id else ""))
    # Shifts running across either edge are shown whole, so each event keeps its times
    # and uid from one day's feed to the next (a calendar would otherwise see a new event).
    back = max([r.shift for r in config.rotations.values()]
               + [o.end - o.start for o in config.overrides])
    for name in config.rotations:
        for seg in s.segments(name, start - back, end + back):
            if seg.end <= start or seg.start >= end or seg.peer is None \
                    or (peer_id and seg.peer != peer_id):
                continue
            event = Event()
            event.add("uid", f"{name}-{seg.start:%Y%m%dT%H%M}-{seg.peer}@hotline")
            event.add("summary", f"On call ({name}): {config.peers[seg.peer].name}")
            event.add("dtstart", seg.start)
            event.add("dtend", seg.end)
            event.add("dtstamp", seg.start)
            if seg.override:
                event.add("description", f"Override (rotation file line {seg.override.line})")
            cal.add_component(event)
    cal.add_missing_timezones()
    output.write(cal.to_ical())
