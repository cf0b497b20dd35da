"""/health: what the platform's health check and a worried coordinator look at."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .app import rotation_source
from .rotation_source import NoRotation

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    source = rotation_source(current_app)
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
    # Serving the last good rotation is degraded, not down: calls still route.
    ok = loaded is not None
    body["status"] = "ok" if ok and status.valid else "degraded" if ok else "down"
    return jsonify(body), 200 if ok else 503
