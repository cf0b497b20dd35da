"""The running app reloads the rotation file and never trades a good one for a broken one."""
from __future__ import annotations

from hotline.ops.health import report

import os

from hotline.app import create_app
from tests.conftest import ROTATION, TOKEN


def touch_later(path, seconds=5):
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def test_health_reports_the_loaded_rotation(app, clock):
    from hotline.clock import run_due
    run_due(app, clock.now)  # "ok" includes a live clock (tests/ops/test_health.py)
    body = app.test_client().get("/health").get_json()
    assert body["status"] == "ok"
    assert body["config"]["valid"] is True


def test_a_broken_edit_is_refused_and_the_last_good_rotation_keeps_serving(app, rotation_file):
    source = app.extensions["hotline.rotation"]
    rotation_file.write_text(ROTATION.replace("shift: 1w", "shfit: 1w", 1))
    touch_later(rotation_file)
    assert app.test_client().get("/health").get_json()["status"] == "degraded"
    problems = "\n".join(report(app)[0]["config"]["problems"])  # what hotline doctor shows
    assert "unknown key 'shfit' in rotation 'primary'; did you mean 'shift'?" in problems
    assert source.current().config.peers["alice"].name == "Alice"


def test_a_fixed_file_takes_effect_without_a_restart(app, rotation_file):
    rotation_file.write_text(ROTATION.replace("name: Alice", "name: Alicia"))
    touch_later(rotation_file)
    assert app.extensions["hotline.rotation"].current().config.peers["alice"].name == "Alicia"


def test_a_process_started_on_a_broken_file_serves_the_last_good_copy(app, rotation_file, tmp_path):
    rotation_file.write_text("program: [")
    again = create_app({"HOTLINE_CONFIG": str(rotation_file), "TWILIO_AUTH_TOKENS": [TOKEN],
                        "DATABASE_URL": app.config["DATABASE_URL"]},
                       instance_path=str(tmp_path / "instance"))
    loaded = again.extensions["hotline.rotation"].current()
    assert loaded.origin.endswith("last-good-rotation.yaml")
    assert again.test_client().get("/health").get_json()["status"] == "degraded"


def test_refusal_is_logged_without_phone_numbers(app, rotation_file, caplog):
    rotation_file.write_text(ROTATION.replace('"262-555-0104"', '"262-555-01"'))
    touch_later(rotation_file)
    app.extensions["hotline.rotation"].current()
    assert "invalid phone number for a peer 'dave'" in caplog.text
    assert "555-01" not in caplog.text


def test_the_app_will_not_start_without_a_way_to_check_signatures(tmp_path, rotation_file):
    import pytest
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN is not set"):
        create_app({"HOTLINE_CONFIG": str(rotation_file), "TWILIO_AUTH_TOKENS": [],
                    "HOTLINE_INSECURE_DEV": False, "DATABASE_URL": "sqlite://"},
                   instance_path=str(tmp_path / "i"))
