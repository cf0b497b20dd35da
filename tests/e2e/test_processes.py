"""End to end on PostgreSQL, as deployed: `hotline db upgrade` (the release phase), then
`gunicorn -w 2` serving the app and one `hotline clock --every 0.5` process, with
Twilio's REST API faked over HTTP (TWILIO_API_BASE). Signed webhooks go in with
`requests`; texts come out at the fake.

Two workers plus one clock must behave like one process: the auto-reply and the
first notice once, the escalation timer fired once, one winner for two YES at the
same instant, and after `kill -9` of the clock an overdue escalation fires once
when it is restarted. Waits are bounded polls (no sleeps of fixed length and no
timing assertions beyond "within the bound").
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests  # the twilio library's own HTTP client, so always installed
from sqlalchemy import create_engine, text

from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.testing.rest_server import RestServer
from tests import waiting
from tests.conftest import ALICE, CAROL, PROGRAM, TOKEN

pytestmark = pytest.mark.e2e


BIN = Path(sys.executable).parent
BOUND = 15.0  # seconds any awaited thing may take
OFFICER_1, OFFICER_2 = "+12625550142", "+12625550143"


def rotation(today: str) -> str:
    return f"""
program: {{name: E2E PD Peer Support, number: "+1 262 555 0100", timezone: UTC}}
clinical_director: {{name: Dr. Dana Reyes, phone: "262-555-0199"}}
peers:
  - {{id: alice, name: Alice, phone: "262-555-0101"}}
  - {{id: carol, name: Carol, phone: "262-555-0103"}}
rotations:
  primary: {{start: "{today} 00:00", shift: 1w, peers: [alice]}}
  backup:  {{start: "{today} 00:00", shift: 1w, peers: [carol]}}
escalation:
  steps:
    - {{notify: primary, ring: 20s, wait: 2s}}
    - {{notify: backup, ring: 20s, wait: 10m}}
    - {{notify: clinical_director, ring: 30s, wait: 10m}}
  max_wait: 3m
  fallback: {{forward: "988", message: "Connecting you to 988."}}
"""


def wait_for(what, check, bound=BOUND):
    return waiting.wait_for(what, check, bound)


@pytest.fixture(scope="module")
def pg_url():
    """A private schema for this module's processes."""
    base = os.environ.get("HOTLINE_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"hotline_e2e_{os.getpid()}"
    try:
        engine = create_engine(base, connect_args={"connect_timeout": 2})
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("HOTLINE_REQUIRE_POSTGRES"):
            raise RuntimeError(f"PostgreSQL is required here but unreachable: {exc}") from exc
        pytest.skip(f"end-to-end test needs PostgreSQL ({base} unreachable: {exc}); "
                    "set HOTLINE_TEST_POSTGRES_URL")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployment:
    def __init__(self, tmp: Path, pg_url: str, rest_url: str):
        self.tmp = tmp
        self.port = free_port()
        self.public = f"http://127.0.0.1:{self.port}"
        config = tmp / "rotation.yaml"
        config.write_text(rotation(datetime.now(timezone.utc).strftime("%Y-%m-%d")))
        self.env = dict(os.environ, DATABASE_URL=pg_url, TWILIO_AUTH_TOKEN=TOKEN,
                        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_API_BASE=rest_url,
                        HOTLINE_CONFIG=str(config), HOTLINE_PUBLIC_URL=self.public,
                        HOTLINE_SECRET_KEY="e2e-secret-key-long-enough-for-hkdf",
                        HOTLINE_INSTANCE=str(tmp / "instance"), HOTLINE_SEND_RATE="0",
                        PYTHONUNBUFFERED="1")
        self.env.pop("HOTLINE_INSECURE_DEV", None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.engine = create_engine(pg_url)

    def run(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "hotline"), *args], env=self.env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=60)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=self.env, cwd=self.tmp, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_web(self) -> None:
        self.start("web", [str(BIN / "gunicorn"), "--workers", "2", "--timeout", "20",
                           "--bind", f"127.0.0.1:{self.port}", "hotline.app:create_app()"])

        def up():
            try:
                return requests.get(f"{self.public}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_for("gunicorn answering /health", up, bound=30)

    def start_clock(self) -> subprocess.Popen:
        return self.start("clock", [str(BIN / "hotline"), "clock", "--every", "0.5"])

    def kill(self, name: str, sig=signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # its own session: gunicorn and its workers
        except ProcessLookupError:
            return
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.engine.dispose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.tmp.glob("*.log")))

    # -- Twilio's side ---------------------------------------------------------------

    def text(self, sender: str, body: str, sid: str) -> list[str]:
        """A signed inbound-SMS webhook, as Twilio posts it; returns the TwiML replies."""
        from twilio.request_validator import RequestValidator

        url = f"{self.public}/sms/incoming"
        params = {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": PROGRAM,
                  "Body": body, "NumMedia": "0", "NumSegments": "1"}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        resp = requests.post(url, data=params, headers={"X-Twilio-Signature": signature},
                             timeout=15)
        assert resp.status_code == 200, resp.text
        return [m.text or "" for m in ET.fromstring(resp.content).iter("Message")]

    def heartbeat(self):
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT last_poll_at FROM clock_heartbeat")).scalar()

    def polls_pass(self, n: int = 3) -> None:
        """Let the clock finish `n` more polls (so a duplicate would have shown up)."""
        for _ in range(n):
            seen = self.heartbeat()
            wait_for("a clock poll", lambda: self.heartbeat() != seen)

    def escalate_at(self, code: int):
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT escalate_at FROM conversations WHERE code = :c"),
                                {"c": code}).scalar()


@pytest.fixture
def deployment(tmp_path, pg_url):
    """Every process it starts is stopped at the end, whatever happened."""
    with RestServer() as server:
        dep = Deployment(tmp_path, pg_url, server.url)
        dep.rest = server.rest
        try:
            yield dep
        finally:
            dep.stop()


def notices(rest, phone: str, code: int) -> list[str]:
    return [s.body for s in rest.sent if s.to == phone and f"#{code}" in s.body]


def code_of(body: str) -> int:
    return int(re.search(r"#(\d+)", body).group(1))


def test_two_workers_and_a_clock_act_exactly_once(deployment):
    dep, rest = deployment, deployment.rest
    release = dep.run("db", "upgrade")  # the Procfile's release phase
    assert release.returncode == 0, release.stderr + release.stdout
    dep.start_web()
    dep.start_clock()
    try:
        _play(dep, rest)
    except BaseException:
        print(dep.logs())
        raise


def _play(dep: Deployment, rest) -> None:
    # 1. An officer texts: the auto-reply comes back at once, the primary gets one notice.
    replies = dep.text(OFFICER_1, "rough night, can someone talk?", "SM" + "1" * 32)
    assert len(replies) == 1 and "A trained peer will reply here shortly" in replies[0]
    first = wait_for("the primary's notice", lambda: [s for s in rest.sent if s.to == ALICE])
    one = code_of(first[0].body)
    assert notices(rest, ALICE, one) == [f"Peer line #{one}: rough night, can someone talk? "
                                         f"- reply YES to take #{one}"]
    assert notices(rest, CAROL, one) == []

    # 2. Nobody accepts: after the step's 2 s wait the clock notifies the backup, once.
    wait_for("the backup's notice", lambda: notices(rest, CAROL, one))
    dep.polls_pass(4)
    assert len(notices(rest, CAROL, one)) == 1
    assert len(notices(rest, ALICE, one)) == 1

    # 3. kill -9 the clock while a second conversation's timer is pending.
    dep.text(OFFICER_2, "just a bad call today", "SM" + "2" * 32)
    two = wait_for("the second notice", lambda: [code_of(s.body) for s in rest.sent
                                                 if s.to == ALICE and "bad call" in s.body])[0]
    assert two != one
    dep.kill("clock", signal.SIGKILL)
    due = dep.escalate_at(two)
    assert due is not None
    wait_for("the timer to be overdue",
             lambda: datetime.now(timezone.utc) > due + timedelta(seconds=1))
    assert notices(rest, CAROL, two) == []  # nobody fires it while the clock is dead
    dep.start_clock()
    wait_for("the overdue escalation after the restart", lambda: notices(rest, CAROL, two))
    dep.polls_pass(4)
    assert len(notices(rest, CAROL, two)) == 1

    # 4. Alice and Carol both say YES to the second conversation at the same instant.
    barrier = threading.Barrier(2)
    answers: dict[str, list[str]] = {}

    def say_yes(phone, sid):
        barrier.wait()
        answers[phone] = dep.text(phone, f"YES #{two}", sid)

    threads = [threading.Thread(target=say_yes, args=(ALICE, "SM" + "a" * 32)),
               threading.Thread(target=say_yes, args=(CAROL, "SM" + "c" * 32))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [p for p, r in answers.items() if r and r[0].startswith(f"You have #{two}.")]
    lost = [p for p, r in answers.items() if r == [f"#{two} was already taken. Thank you."]]
    assert len(won) == 1 and len(lost) == 1, answers
    with dep.engine.connect() as conn:
        owner = conn.execute(text("SELECT owner FROM conversations WHERE code = :c"),
                             {"c": two}).scalar()
    assert owner == {ALICE: "alice", CAROL: "carol"}[won[0]]
    joined = wait_for("the texter told a peer is here",
                      lambda: [s for s in rest.sent if s.to == OFFICER_2])
    dep.polls_pass(2)
    assert [s.body for s in rest.sent if s.to == OFFICER_2] == [joined[0].body]
    assert joined[0].body.startswith("A peer is here now")

    # 5. /health over HTTP: database ok, clock ok, 200.
    body = requests.get(f"{dep.public}/health", timeout=5).json()
    assert (body["status"], body["database"]["status"], body["clock"]["status"]) == \
        ("ok", "ok", "ok")
