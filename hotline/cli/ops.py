"""Operations commands: `hotline db ...`, `hotline doctor`, `hotline twilio configure`,
`hotline clock`, `hotline sender`.

Registered on the `hotline` group by hotline/cli/__init__.py. None of them needs an
alembic.ini or a particular working directory.
"""
from __future__ import annotations

import json
import sys

import click

from hotline.ops import migrations


def _url() -> str:
    return migrations.database_url()


@click.group("db")
def db():
    """Database schema (Alembic migrations in hotline/ops/migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Migrate the database at $DATABASE_URL to REVISION (default: the newest).
    Safe to run on every deploy (the Procfile's release phase does)."""
    before, after = migrations.upgrade(_url(), revision, echo=click.echo)
    if before == after:
        click.echo(f"database schema is at {migrations.describe(after)}: nothing to do")
    else:
        click.echo(f"database schema upgraded from {migrations.describe(before)} "
                   f"to {migrations.describe(after)}")


@db.command("current")
def db_current():
    """Print the database's schema revision (and the one this code needs)."""
    heads = migrations.current_revision(_url())
    need = migrations.head()
    click.echo(migrations.describe(heads))
    if set(heads) != {need}:
        click.echo(migrations.out_of_date_message(heads), err=True)
        sys.exit(1)


@db.command("revision")
@click.option("-m", "--message", required=True, help="what the migration does")
@click.option("--autogenerate/--empty", default=True, show_default=True,
              help="compare the models with the database (which must be at head)")
@click.option("--rev-id", help="revision id (default: the next number, e.g. 0002)")
def db_revision(message, autogenerate, rev_id):
    """Write a new migration into hotline/migrations/versions. Review it before
    committing: autogenerate does not see renames, and data moves are yours."""
    path = migrations.revision(_url(), message, autogenerate=autogenerate, rev_id=rev_id)
    click.echo(f"wrote {path}; review it, then `hotline db upgrade`")


@db.command("stamp")
@click.argument("revision")
def db_stamp(revision):
    """Record REVISION as the schema's without running anything (repairs only)."""
    migrations.stamp(_url(), revision)
    click.echo(f"database stamped at {revision}")


# -- doctor ----------------------------------------------------------------------

def _doctor_app():
    from hotline.app import create_app

    # Report on an out-of-date schema instead of refusing to start.
    return create_app({"HOTLINE_SCHEMA_CHECK": False})


def _twilio_report(app) -> dict:
    from hotline.ops import doctor as ops

    if not (app.config.get("TWILIO_ACCOUNT_SID") and app.config.get("TWILIO_AUTH_TOKENS")):
        return {"status": "skipped",
                "reason": "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not both set"}
    try:
        program = app.extensions["hotline.rotation"].current().config.program.number
        record = ops.find_number(app, program)
        rows = ops.compare_webhooks(app, record)
    except Exception as exc:  # noqa: BLE001 - reported to the coordinator
        return {"status": "error", "error": str(exc)}
    return {"status": "ok" if all(ok for *_, ok in rows) else "mismatch",
            "number": program, "sid": record.sid,
            "settings": [{"setting": k, "twilio": have, "wanted": want, "ok": ok}
                         for k, have, want, ok in rows]}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def doctor(as_json):
    """What /health says (database, rotation file, clock), plus whether the Twilio
    number's webhooks point at this deployment. Exit 0 when all is well."""
    from hotline.ops import safety
    from hotline.ops.health import report

    try:
        app = _doctor_app()
    except RuntimeError as exc:
        click.echo(f"cannot start the router: {exc}", err=True)
        sys.exit(2)
    body, code = report(app, verbose=True)
    body["twilio"] = _twilio_report(app)
    # Not in /health (public): only whether the key is set, never the key.
    body["secret_key"] = "set" if app.config.get("HOTLINE_SECRET_KEY") else "generated"
    body["safety"] = {"looks_deployed": safety.deployed_signs(app.config),
                      "unsafe": safety.unsafe_settings(app.config)}
    app.extensions["hotline.engine"].dispose()
    if as_json:
        click.echo(json.dumps(body, indent=2, default=str))
    else:
        _print_doctor(body)
    if code != 200:
        sys.exit(2)
    if body["status"] != "ok" or body["twilio"]["status"] not in ("ok", "skipped"):
        sys.exit(1)


def _print_doctor(body: dict) -> None:
    echo = click.echo
    echo(f"status:    {body['status']}")
    d = body["database"]
    if d["status"] == "ok":
        echo(f"database:  ok (schema {d['schema']})")
    elif d["status"] == "schema":
        echo(f"database:  WRONG SCHEMA: {d['error']}")
    else:
        echo(f"database:  ERROR {d.get('error')}: {d.get('detail') or ''}".rstrip())
    c = body["config"]
    if c["valid"]:
        echo(f"config:    ok, {c['serving']} (loaded {c['loaded_at']})")
    else:
        echo(f"config:    PROBLEMS in {c['path']}; serving {c['serving'] or 'NOTHING'}")
        for problem in c["problems"]:
            echo(f"             {problem}")
    k = body["clock"]
    if k["status"] == "ok":
        echo(f"clock:     ok, last poll {k['age_seconds']} s ago")
    elif k["status"] == "stale":
        echo(f"clock:     STALE: last poll {k['age_seconds']} s ago ({k['last_poll_at']}); "
             "is the `clock` process running?")
    elif k["status"] == "never":
        echo("clock:     NEVER RAN: start exactly one `hotline clock` process")
    else:
        echo("clock:     unknown (the database did not answer)")
    if body["secret_key"] != "set":
        echo("secret:    WARNING HOTLINE_SECRET_KEY is not set: this process uses a key generated "
             "into its instance folder; every web and clock process must share one key")
    for unsafe in body["safety"]["unsafe"]:
        # Only on a laptop: a router that looks deployed refuses to start with these.
        echo(f"unsafe:    WARNING {unsafe} (a laptop only: refused where the router looks "
             "deployed)")
    t = body["twilio"]
    if t["status"] == "skipped":
        echo(f"twilio:    not checked ({t['reason']})")
    elif t["status"] == "error":
        echo(f"twilio:    ERROR {t['error']}")
    else:
        echo(f"twilio:    {t['number']} ({t['sid']}): "
             + ("webhooks point here" if t["status"] == "ok"
                else "MISMATCH: run `hotline twilio configure`"))
        for s in t["settings"]:
            mark = "ok   " if s["ok"] else "WRONG"
            extra = "" if s["ok"] else f"   (wanted: {s['wanted']})"
            echo(f"  {mark} {s['setting']:<19} {s['twilio'] or '(empty)'}{extra}")


# -- twilio configure ----------------------------------------------------------------

@click.group("twilio")
def twilio():
    """The program number's settings at Twilio."""


@twilio.command("configure")
@click.option("--dry-run", is_flag=True, help="show what would change, change nothing")
def twilio_configure(dry_run):
    """Point the program number's Voice URL, status callback and SMS URL at
    $HOTLINE_PUBLIC_URL (and the Voice and Messaging fallbacks at
    $HOTLINE_VOICE_FALLBACK_URL and $HOTLINE_SMS_FALLBACK_URL, when set: TwiML
    Bins hosted apart from this app)."""
    from hotline.ops import doctor as ops
    from hotline.twilio_client import client

    app = _doctor_app()
    if not (app.config.get("TWILIO_ACCOUNT_SID") and app.config.get("TWILIO_AUTH_TOKENS")):
        raise click.ClickException("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN first")
    try:
        wanted = ops.wanted_webhooks(app)
        program = app.extensions["hotline.rotation"].current().config.program.number
        record = ops.find_number(app, program)
    except (RuntimeError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.extensions["hotline.engine"].dispose()
    changes = {k: v for k, v in wanted.items() if getattr(record, k, None) != v}
    click.echo(f"{program} ({record.sid})")
    for key, value in wanted.items():
        mark = "change" if key in changes else "same  "
        click.echo(f"  {mark} {key:<23} {getattr(record, key, None) or '(empty)'}"
                   + (f" -> {value}" if key in changes else ""))
    for kind in ("voice", "sms"):
        if f"{kind}_fallback_url" not in wanted:
            now = getattr(record, f"{kind}_fallback_url", None) or "EMPTY"
            click.echo(f"  ({kind} fallback untouched: set HOTLINE_{kind.upper()}_FALLBACK_URL "
                       f"to a TwiML Bin URL to set it; now {now})")
    if not changes:
        click.echo("nothing to change")
        return
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    client(app).incoming_phone_numbers(record.sid).update(**changes)
    click.echo(f"updated {len(changes)} setting(s)")


@click.command("clock")
@click.option("--every", default=0.5, show_default=True,
              help="seconds between polls: how late a due escalation can be found")
@click.option("--sender/--no-sender", default=True, show_default=True,
              help="also send the outbox's texts; --no-sender leaves that to `hotline "
                   "sender` processes (two senders are safe)")
def clock_command(every, sender):
    """Run the clock process: text escalation timers, re-pages, reminders, idle close,
    and (unless --no-sender) a text sender. Run exactly one next to the web workers
    (a second one is safe, just useless)."""
    import logging

    from hotline.app import create_app
    from hotline.clock import main_loop

    logging.basicConfig(level=logging.INFO)
    # Two INFO lines per poll from APScheduler would be ~170,000 a day; failures still log.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    # Maintenance deadlines: the clock answers no webhook (hotline/deadlines.py).
    main_loop(create_app({"HOTLINE_MAINTENANCE": True}), every, send=sender)


@click.command("sender")
@click.option("--every", default=1.0, show_default=True,
              help="seconds between looks at the outbox when nothing wakes it")
@click.option("--threads", type=int, default=None,
              help="concurrent sends (default HOTLINE_SENDER_THREADS, else 32)")
def sender_command(every, threads):
    """Run a text sender: woken by each staged text (PostgreSQL NOTIFY; a short poll on
    SQLite), it sends the outbox urgent first within HOTLINE_SEND_RATE. Any number may
    run; they never send one text twice."""
    import logging

    from hotline.app import create_app
    from hotline.text.sender import run_forever

    logging.basicConfig(level=logging.INFO)
    # Three INFO lines per text from the twilio library; failures still log.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    settings = {"HOTLINE_MAINTENANCE": True}
    if threads:
        settings["HOTLINE_SENDER_THREADS"] = threads
    app = create_app(settings)
    logging.getLogger(__name__).info("sender started: %s threads",
                                     app.config.get("HOTLINE_SENDER_THREADS"))
    run_forever(app, app.config["HOTLINE_CLOCK"], every)
