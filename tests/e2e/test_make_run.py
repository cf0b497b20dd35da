"""`make run` without Twilio credentials, end to end: one real `hotline run` process
with the phone simulator, its real-time line's clock (OffsetClock) and the clock work
running in-process (Beat: `hotline.clock.main_loop` plus the carrier's timeouts).

Every other simulator test turns the background beat off and drives a FakeClock; this
one starts the process with the environment the Makefile's `run` target sets in its
simulator branch (read from the Makefile itself, so the two cannot drift apart), on a
free port of 127.0.0.1, a temporary instance folder and SQLite file, and the tests'
rotation starting today. It then uses the simulator's own HTTP API, as the page does:
the officer texts, the step-1 peer's phone shows the notice; a fast-forward past
step 1's wait brings the notice to step 2; a fast-forward that stops short of step 2's
wait leaves the last few seconds to the in-process clock thread alone, which must
escalate to the clinical director on the line's (fast-forwarded) time.

Waits are bounded polls; nothing asserts how long anything took.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import requests  # the twilio library's own HTTP client, so always installed

from tests import waiting
from tests.conftest import CHICAGO, ROTATION

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BOUND = 20.0  # seconds any awaited thing may take
START_BOUND = 60.0  # seconds for the process to come up (imports, schema creation)
ACTION = {"X-Hotline-Simulator": "1"}  # what the page's fetch() sends with its JSON
WAIT = 5 * 60  # seconds: step 1's and step 2's `wait` in the tests' rotation
SHORT_OF_IT = 10  # seconds left to the in-process clock after the last fast-forward


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def makefile_simulator_env(port: int, rotation: Path) -> dict[str, str]:
    """The variables `make run` sets before `exec hotline run` when TWILIO_ACCOUNT_SID is
    unset, as `HOTLINE_CONFIG=<rotation> PORT=<port> make run` would set them."""
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    branch = recipe.rsplit("fi;", 1)[1]  # after the branch that has Twilio credentials
    assert "exec $(BIN)/hotline run --host 127.0.0.1 --port $$port" in branch, \
        "the Makefile's simulator branch no longer runs `hotline run` as this test does"
    sim_sid = re.search(r"^SIM_SID := (\S+)$", make, re.M).group(1)
    user = {"HOTLINE_CONFIG": str(rotation)}  # what the person typing `make run` set
    env = {}
    for name, value in re.findall(r"^\s*([A-Z_]+)=(\S+) \\$", branch, re.M):
        value = value.replace("$(SIM_SID)", sim_sid).replace("$$port", str(port))
        env[name] = re.sub(r"\$\$\{(\w+):-([^}]*)\}",
                           lambda m: user.get(m.group(1), m.group(2)), value)
    assert {"HOTLINE_SIMULATOR", "HOTLINE_CONFIG", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID",
            "TWILIO_API_BASE"} <= env.keys(), f"could not read the Makefile's branch: {env}"
    return env


def rotation_from_today(tmp_path) -> Path:
    # Shifts that begin today, so alice is step 1 and carol step 2 whatever the week.
    today = datetime.now(CHICAGO).strftime("%Y-%m-%d")
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION.replace('"2026-01-05 08:00"', f'"{today} 00:00"'))
    return path


def wait_for(what: str, check, log: Path, bound: float = BOUND):
    return waiting.wait_for(what, check, bound, every=0.2, log=log)


class Line:
    """The simulator page's side of the conversation, over HTTP."""

    def __init__(self, base: str, log: Path):
        self.base = base
        self.log = log
        self.http = requests.Session()

    def act(self, action: str, **payload) -> None:
        resp = self.http.post(f"{self.base}/simulator/do/{action}", json=payload,
                              headers=ACTION, timeout=BOUND)
        assert resp.status_code == 200, resp.text

    def thread(self, ident: str) -> list[str]:
        state = self.http.get(f"{self.base}/simulator/state", timeout=BOUND).json()
        phone = next(p for p in state["phones"] if p["id"] == ident)
        return [m["text"] for m in phone["thread"] if m["kind"] == "in"]

    def on_call(self) -> dict[str, str]:
        state = self.http.get(f"{self.base}/simulator/state", timeout=BOUND).json()
        return {p["id"]: p["on_call"] for p in state["phones"] if p["on_call"]}

    def receives(self, ident: str, starting: str) -> str:
        return wait_for(f"{ident}'s phone shows a text starting {starting!r}",
                        lambda: next((t for t in self.thread(ident) if t.startswith(starting)),
                                     None), self.log)

    def health(self) -> dict:
        try:
            return self.http.get(f"{self.base}/health", timeout=2).json()
        except (requests.RequestException, ValueError):
            return {}


@contextmanager
def running(tmp_path):
    """`make run` in its simulator mode, on the instance folder and SQLite file of tmp_path:
    entered twice, a stop and a start on the same data."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "TWILIO_")) and k not in ("DATABASE_URL", "PORT")}
    env.update(makefile_simulator_env(port, rotation_from_today(tmp_path)),
               HOTLINE_INSTANCE=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'hotline.sqlite'}",
               PYTHONUNBUFFERED="1")
    log = tmp_path / "make-run.log"
    # As the Makefile does first: bring the database's schema up to date.
    subprocess.run([str(BIN / "hotline"), "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(BIN / "hotline"), "run", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        line = Line(f"http://127.0.0.1:{port}", log)
        wait_for("hotline run answering /health", lambda: line.health().get("config"), log,
                 bound=START_BOUND)
        yield line
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: only what it started
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def make_run(tmp_path):
    with running(tmp_path) as line:
        yield line


def test_make_run_text_escalates_on_fast_forward_and_on_the_in_process_clock(make_run):
    line = make_run
    assert line.on_call() == {"alice": "step 1", "carol": "step 2",
                              "clinical_director": "step 3"}
    # Before anyone acts, the clock work already runs in this process: its poll has
    # written the heartbeat /health reads (only a clock's run_due writes it).
    wait_for("the in-process clock's first poll",
             lambda: line.health().get("clock", {}).get("status") == "ok", line.log)

    line.act("text", phone="officer", body="rough night, can someone talk?")
    line.receives("officer", "Thanks for reaching out.")
    line.receives("alice", "Peer line #1: rough night, can someone talk? - reply YES to take #1")
    assert line.thread("carol") == [], "step 2 waits its turn"

    line.act("forward", seconds=WAIT + 1)
    line.receives("carol", "Peer line #1: an officer has waited 5 min for a peer.")
    assert line.thread("clinical_director") == []

    # Stop short of step 2's wait: only the clock thread, reading the line's clock, can
    # take it the rest of the way.
    line.act("forward", seconds=WAIT - SHORT_OF_IT)
    line.receives("clinical_director", "Peer line #1: an officer has waited 10 min for a peer.")


def test_after_a_fast_forward_and_a_restart_the_next_text_still_reaches_the_peer(tmp_path):
    """Text the line, fast-forward an hour, stop `make run`, start it again, text from
    another officer: the peer's notice must arrive. (It used to wait in the outbox with
    0 attempts: the restarted line's clock was an hour behind the send-rate record.)"""
    with running(tmp_path) as line:
        line.act("text", phone="officer", body="rough night, can someone talk?")
        line.receives("alice", "Peer line #1: rough night")
        line.act("forward", seconds=3600)
        # Step 2's notice goes out on the line's clock, an hour ahead of real time.
        line.receives("carol", "Peer line #1: an officer has waited")
    with running(tmp_path) as line:
        assert line.http.get(f"{line.base}/simulator/state", timeout=BOUND).json()["ahead"] \
            .startswith("1:00:"), "the line's clock carries on from where it was"
        line.act("officer", number="+1 262 555 0143")
        line.act("text", phone="officer", body="need to talk")
        line.receives("officer", "Thanks for reaching out.")
        wait_for("alice's phone shows the second officer's notice",
                 lambda: any("need to talk" in t for t in line.thread("alice")), line.log)


@pytest.mark.parametrize("half", [{"TWILIO_ACCOUNT_SID": "AC" + "3f9a" * 8},
                                  {"TWILIO_AUTH_TOKEN": "0c1d" * 8}],
                         ids=["account-without-token", "token-without-account"])
def test_make_run_with_half_the_credentials_stops_instead_of_using_the_public_token(half):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")} | half
    # -o: never rebuild .venv here; the check comes before anything starts.
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "set both (a real line), or neither (the simulator)" in done.stderr
    assert "Router on" not in done.stdout
