"""A newcomer's first command works on a bare machine: no settings, no database."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HOTLINE = Path(sys.executable).with_name("hotline")


def bare(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`hotline ARGS` with none of the production settings in the environment."""
    return subprocess.run([str(HOTLINE), *args], cwd=cwd, env={"PATH": "/usr/bin:/bin",
                          "HOME": str(cwd)}, capture_output=True, text=True, timeout=60)


# A bare `hotline` is click's "usage" case: the same help, with exit code 2.
@pytest.mark.parametrize("args,code", [(["--help"], 0), ([], 2)], ids=["help", "bare"])
def test_help_lists_the_commands_without_a_traceback(args, code, tmp_path):
    result = bare(*args, cwd=tmp_path)
    assert result.returncode == code
    assert "Traceback" not in result.stdout + result.stderr
    assert "TWILIO_AUTH_TOKEN" not in result.stdout + result.stderr
    shown = result.stdout if code == 0 else result.stderr  # click sends usage to stderr
    for command in ("check", "oncall", "schedule", "doctor", "purge", "clock", "run"):
        assert f"  {command} " in shown


def test_a_mistyped_command_gets_a_usage_error_not_a_traceback(tmp_path):
    result = bare("chek", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such command 'chek'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_that_serves_still_refuses_to_start_without_a_token(tmp_path):
    """Help needs no settings, but the router itself must still fail loudly at start-up."""
    result = bare("routes", cwd=tmp_path)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.stderr
