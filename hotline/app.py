"""Flask application factory. Configuration comes from the environment."""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hotline import redact
from hotline.rotation.source import RotationSource
from hotline.ops import migrations
from hotline.store import make_engine, make_sessions

log = logging.getLogger(__name__)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_env(instance: Path) -> dict:
    return {
        "HOTLINE_CONFIG": os.environ.get("HOTLINE_CONFIG", "config/rotation.yaml"),
        "HOTLINE_RELOAD_SECONDS": float(os.environ.get("HOTLINE_RELOAD_SECONDS", "2")),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'hotline.sqlite'}",
        "TWILIO_AUTH_TOKENS": [t for t in (os.environ.get("TWILIO_AUTH_TOKEN"),
                                           os.environ.get("TWILIO_AUTH_TOKEN_SECONDARY")) if t],
        "HOTLINE_PUBLIC_URL": os.environ.get("HOTLINE_PUBLIC_URL"),
        "HOTLINE_TRUST_PROXY": _env_flag("HOTLINE_TRUST_PROXY"),
        "HOTLINE_INSECURE_DEV": _env_flag("HOTLINE_INSECURE_DEV"),
        "HOTLINE_CLOCK": lambda: datetime.now(timezone.utc),
        # Text line. Unset secret: a key generated into the instance folder (dev only).
        "HOTLINE_SECRET_KEY": os.environ.get("HOTLINE_SECRET_KEY"),
        # Where open conversations' keys live: unset = instance/keys/ (one host);
        # redis://... shared by several hosts (docs/deploying.md). Never the database.
        "HOTLINE_KEYSTORE_URL": os.environ.get("HOTLINE_KEYSTORE_URL"),
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_API_BASE": os.environ.get("TWILIO_API_BASE"),  # a simulator instead of Twilio
        "HOTLINE_IDLE_CLOSE": float(os.environ.get("HOTLINE_IDLE_CLOSE", str(24 * 3600))),
        # Retention: operational rows older than this are purged hourly by the clock.
        "HOTLINE_RETAIN_HOURS": float(os.environ.get("HOTLINE_RETAIN_HOURS", "24")),
        # Delete the Call/Message records at Twilio once final (README: "What we keep").
        "HOTLINE_PROVIDER_DELETE": os.environ.get("HOTLINE_PROVIDER_DELETE", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        # Texts per second the program number may send (1 = a US long code; 0 = no limit).
        "HOTLINE_SEND_RATE": int(os.environ.get("HOTLINE_SEND_RATE", "1")),
        # Concurrent REST sends per sender (text/sender.py).
        "HOTLINE_SENDER_THREADS": int(os.environ.get("HOTLINE_SENDER_THREADS", "32")),
        # Text escalations the clock works through side by side when many fall due at
        # once (PostgreSQL only; hotline/clock.py).
        "HOTLINE_CLOCK_THREADS": int(os.environ.get("HOTLINE_CLOCK_THREADS", "4")),
        # Coordinator dashboard: "name:role:hash;..." (make a line with `hotline dashboard-user`).
        "HOTLINE_DASHBOARD_USERS": os.environ.get("HOTLINE_DASHBOARD_USERS", ""),
        "HOTLINE_DASHBOARD_IDLE_MINUTES": float(os.environ.get("HOTLINE_DASHBOARD_IDLE_MINUTES", "30")),
        # However active, a dashboard session ends this long after sign-in.
        "HOTLINE_DASHBOARD_MAX_HOURS": float(os.environ.get("HOTLINE_DASHBOARD_MAX_HOURS", "12")),
        # The local phone simulator at /simulator (docs/simulator.md); `make run` turns it on.
        "HOTLINE_SIMULATOR": _env_flag("HOTLINE_SIMULATOR"),
        # Seconds from a webhook's arrival to its answer, whatever the database does
        # (hotline/deadlines.py). Twilio gives up at 15 s; an officer hears silence.
        "HOTLINE_WEBHOOK_BUDGET": float(os.environ.get("HOTLINE_WEBHOOK_BUDGET", "2")),
    }


def create_app(settings: dict | None = None, instance_path: str | None = None,
               serving: bool = True) -> Flask:
    """Build the app; `settings` override what the environment says (tests use it).
    `serving=False` is for maintenance commands (stats, purge) that answer no webhook."""
    redact.install()
    app = Flask(__name__, instance_path=instance_path or os.environ.get("HOTLINE_INSTANCE") or None)
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    instance.chmod(0o700)  # keys, the database, the last good rotation: ours alone
    app.config.update(settings_from_env(instance))
    if settings:
        app.config.update(settings)
    if serving:
        _check_security(app)
    if app.config["HOTLINE_TRUST_PROXY"]:
        # Exactly one proxy in front of us sets these; trusting more lets anyone forge them.
        # x_for: the client's address, for the dashboard's per-address login limit.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    app.extensions["hotline.rotation"] = RotationSource(
        app.config["HOTLINE_CONFIG"],
        last_good=instance / "last-good-rotation.yaml",
        check_every=app.config["HOTLINE_RELOAD_SECONDS"],
    )
    app.extensions["hotline.rotation"].on_reload(lambda loaded: _audit_reload(app, loaded))
    # A web process bounds every database wait by the webhook budget; the clock and
    # maintenance commands (HOTLINE_MAINTENANCE) answer nobody and may wait longer.
    maintenance = not serving or app.config.get("HOTLINE_MAINTENANCE")
    engine = make_engine(app.config["DATABASE_URL"],
                         None if maintenance else app.config["HOTLINE_WEBHOOK_BUDGET"])
    app.extensions["hotline.engine"] = engine
    # A new call's row (voice/answer.py) is the one write that need not wait for the disk:
    # lost in a server crash, the call goes on from the state its URLs carry. ~3 ms less
    # per call on a disk that flushes in 3 ms; everything else keeps full durability.
    # Its one statement is a transaction of its own: autocommit from the start, not set
    # and reset at each checkout; and its plan reads indexes, whenever it was made.
    # SQLite shares the one pool (one writer at a time).
    app.extensions["hotline.answer_engine"] = (
        make_engine(app.config["DATABASE_URL"], app.config["HOTLINE_WEBHOOK_BUDGET"],
                    durable=False, autocommit=True, indexes_first=True)
        if engine.dialect.name == "postgresql" and not maintenance
        else engine.execution_options(isolation_level="AUTOCOMMIT"))
    app.extensions["hotline.sessions"] = make_sessions(engine)
    try:
        # Fresh database: create_all + stamp head. Out of date: refuse (SchemaOutOfDate).
        if migrations.prepare(engine) == "created":
            log.info("fresh database: created the schema at revision %s", migrations.head())
    except migrations.SchemaOutOfDate as exc:
        if app.config.get("HOTLINE_SCHEMA_CHECK", True):
            raise
        log.error("%s", exc)  # `hotline doctor` still reports on such a database
    except Exception:
        # Calls must still reach the clinical director while the database is away.
        log.exception("database unavailable at start-up; webhooks use the emergency route")

    from hotline.ops import health
    from hotline.text import webhooks as sms
    from hotline.voice import calls as voice
    from hotline.voice import conference, peer_keys, voicemail
    from hotline import dashboard
    from hotline.callout import pages as callout_pages
    from hotline.paging import answer as paging
    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(voicemail.bp)
    app.register_blueprint(conference.bp)  # voice: bridge: conference; the caller's queue
    app.register_blueprint(peer_keys.bp)  # a peer's * keys in a conference, the coach's phone
    app.register_blueprint(sms.bp)
    app.register_blueprint(callout_pages.bp)  # a callout's phone page; hotline/callout/
    app.register_blueprint(paging.bp)  # clinician pages: press 1 to acknowledge
    app.register_blueprint(dashboard.bp)  # coordinator pages; see docs/dashboard.md
    # What deadlines.drain runs after each webhook in tests and the simulator: the text
    # sender, in the caller's thread, until nothing is due, when this process staged
    # texts since the last drain (production never drains).
    from hotline.text import sender

    def _send_staged():
        if app.extensions.pop("hotline.staged", False):
            sender.drain(app)

    app.extensions["hotline.drainers"] = [_send_staged]
    if app.config.get("HOTLINE_SIMULATOR"):
        from hotline import simulator
        app.register_blueprint(simulator.bp)  # local phones playing Twilio; docs/simulator.md
    return app


def _check_security(app: Flask) -> None:
    """Fail at start-up, loudly, rather than answer every call with 403, or run a real
    line with a laptop's settings (ops/safety.py)."""
    from hotline.ops import safety

    refused = safety.refusal(app.config)
    if refused:
        raise RuntimeError(refused)
    if app.config["HOTLINE_INSECURE_DEV"]:
        log.warning("!!! HOTLINE_INSECURE_DEV=1: Twilio signatures are NOT checked. "
                    "Never run a real line like this. !!!")
    elif not app.config["TWILIO_AUTH_TOKENS"]:
        raise RuntimeError("TWILIO_AUTH_TOKEN is not set: webhooks cannot be verified. Set it "
                           "(Twilio console, Account info), or HOTLINE_INSECURE_DEV=1 for local "
                           "experiments only.")


def _audit_reload(app: Flask, loaded) -> None:
    from hotline.records import audit
    with app.extensions["hotline.sessions"]() as db, db.begin():
        audit.record(db, app.config["HOTLINE_CLOCK"](), audit.CONFIG_RELOAD, "rotation file",
                     f"{loaded.origin}: {len(loaded.config.peers)} peers")
