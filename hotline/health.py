"""/health: what the platform's health check and a worried coordinator look at."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .app import rotation_source
from .rotation_source import NoRotation

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    body, code = report(current_app)
    return jsonify(body), code


def report(app, verbose: bool = False) -> tuple[dict, int]:
    """The health report and its HTTP status; `hotline doctor` prints the same.
    503 only when nothing can be routed (no rotation at all): a platform must not
    restart web workers because the database or the clock is away, since the
    webhooks' emergency route still reaches the clinical director."""
    from . import ops

    source = rotation_source(app)
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
    probe = ops.probe_database(app)
    body["database"] = ops.database_section(probe, verbose)
    body["clock"] = ops.clock_section(probe, app.config["HOTLINE_CLOCK"]())
    # Serving the last good rotation, a database or clock away: degraded, not down.
    ok = loaded is not None
    healthy = (status.valid and body["database"]["status"] == "ok"
               and body["clock"]["status"] == "ok")
    body["status"] = "ok" if ok and healthy else "degraded" if ok else "down"
    return body, 200 if ok else 503
