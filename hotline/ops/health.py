"""/health: what the platform's health check and a worried coordinator look at."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from hotline.ops import doctor
from hotline.rotation.source import NoRotation, source_of

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """Public (a platform's health check needs no login): statuses only. File paths and
    the rotation file's problems (which name peers) are for `hotline doctor` and the
    dashboard's banner."""
    body, code = report(current_app)
    return jsonify(public(body)), code


def public(body: dict) -> dict:
    clock = body["clock"]
    return {"status": body["status"],
            "config": {"valid": body["config"]["valid"],
                       "serving": body["config"]["serving"] is not None},
            # Status, schema revision and the error's type name; never its message.
            "database": body["database"],
            "clock": {k: clock.get(k) for k in ("status", "last_poll_at", "age_seconds")
                      if k in clock}}


def report(app, verbose: bool = False) -> tuple[dict, int]:
    """The health report and its HTTP status; `hotline doctor` prints the same.
    503 only when nothing can be routed (no rotation at all): a platform must not
    restart web workers because the database or the clock is away, since the
    webhooks' emergency route still reaches the clinical director."""
    source = source_of(app)
    try:
        loaded = source.current()
    except NoRotation:
        loaded = None
    status = source.status
    body = {
        "config": {
            "path": status.path,
            "valid": status.valid,
            "problems": status.problems,
            "serving": loaded.origin if loaded else None,
            "loaded_at": loaded.loaded_at.isoformat() if loaded else None,
        },
    }
    probe = doctor.probe_database(app)
    body["database"] = doctor.database_section(probe, verbose)
    body["clock"] = doctor.clock_section(probe, app.config["HOTLINE_CLOCK"]())
    # Serving the last good rotation, a database or clock away: degraded, not down.
    ok = loaded is not None
    healthy = (status.valid and body["database"]["status"] == "ok"
               and body["clock"]["status"] == "ok")
    body["status"] = "ok" if ok and healthy else "degraded" if ok else "down"
    return body, 200 if ok else 503
