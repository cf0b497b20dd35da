"""Helpers shared by the load, burst, timer and fault benchmarks.

Everything runs on loopback: gunicorn with the Procfile's settings, a fake Twilio
REST server in its own process (so its work does not steal the load generator's
GIL), a private PostgreSQL schema, signed webhooks, percentiles and the writer
for our sections of docs/benchmarks.md. Run `python bench/common.py fake-rest PORT`
to start the fake by hand.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "0" * 32
PROGRAM, DIRECTOR = "+12625550100", "+12625550199"
PEERS = {"alice": "+12625550101", "bob": "+12625550102", "carol": "+12625550103",
         "dave": "+12625550104"}
SHARED_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-bench-secret-key-0123456789"
# Fictional numbers only: 555-0100..0199 is reserved for fiction in every NANP area
# code. 0100-0109 and 0199 are left out so no texter is mistaken for the program, a
# peer or the director. Numbers go area code by area code: 89 per code, ~60,000 in all.
TEXTERS = [f"+1{ac}555{n:04d}" for ac in range(201, 990) if ac % 100 != 11 and ac % 10 != 0
           for n in range(110, 199)]


def rotation_yaml(first_wait: str = "10m", second_wait: str = "10m") -> str:
    """Two peers a week on each step from 2026-01-05, so somebody is always on call."""
    return f"""
program: {{name: Bench PD Peer Support, number: "{PROGRAM}", timezone: America/Chicago}}
clinical_director: {{name: Dr. Dana Reyes, phone: "{DIRECTOR}"}}
peers:
{chr(10).join(f'  - {{id: {i}, name: {i.title()}, phone: "{p}"}}' for i, p in PEERS.items())}
rotations:
  primary: {{start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob]}}
  backup:  {{start: "2026-01-05 08:00", shift: 1w, peers: [carol, dave]}}
escalation:
  steps:
    - {{notify: primary, ring: 20s, wait: {first_wait}}}
    - {{notify: backup, ring: 20s, wait: {second_wait}}}
    - {{notify: clinical_director, ring: 30s, wait: 10m}}
  max_wait: 3m
  fallback: {{forward: "988", message: "Connecting you to 988."}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 30, ok_status: tuple = ()) -> None:
    """Until `url` answers a GET (with 2xx, or one of `ok_status`)."""
    from urllib.error import HTTPError
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urlopen(url, timeout=2).read()
            return
        except HTTPError as exc:
            if exc.code in ok_status:
                return
            time.sleep(0.2)
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


@contextmanager
def pg_schema(base_url: str = SHARED_PG):
    """A private schema (never the shared public one), dropped afterwards."""
    from sqlalchemy import create_engine, text
    name = f"bench_{os.getpid()}_{int(time.time())}"
    engine = create_engine(base_url)
    with engine.begin() as c:
        c.execute(text(f"CREATE SCHEMA {name}"))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{name}"
    finally:
        with engine.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        engine.dispose()


def prepare_db(url: str, env: dict) -> None:
    """Tables before any worker starts, so three workers do not race create_all.
    Uses `hotline db upgrade` once migrations exist, else the models' create_all."""
    r = subprocess.run([str(BIN / "hotline"), "db", "upgrade"], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.path.insert(0, str(ROOT))
        from hotline.store import create_schema, make_engine
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()


def app_env(tmp: Path, db_url: str, rest_port: int, send_rate: int = 0, **extra) -> dict:
    rot = tmp / "rotation.yaml"
    if not rot.exists():
        rot.write_text(rotation_yaml())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_"))}
    env.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID=ACCOUNT, HOTLINE_CONFIG=str(rot),
               DATABASE_URL=db_url, TWILIO_API_BASE=f"http://127.0.0.1:{rest_port}",
               HOTLINE_SEND_RATE=str(send_rate), HOTLINE_INSTANCE=str(tmp / "instance"),
               HOTLINE_SECRET_KEY=SECRET, PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    """A child process we started; stopped by its own pid, never by name."""

    def __init__(self, args: list[str], env: dict | None, log: Path):
        self.log = log
        self.p = subprocess.Popen(args, env=env, cwd=ROOT, stdout=open(log, "ab"),
                                  stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self) -> None:
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self, timeout: float = 10) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()


def procfile_web(app: str, port: int) -> list[str]:
    """The Procfile's web line, as the platform runs it, on loopback and serving `app`:
    benchmarks then follow whatever workers/timeouts/logging the Procfile sets."""
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    line = re.sub(r"\$\{WEB_CONCURRENCY:-(\d+)\}", r"\1", line[4:])
    args = shlex.split(line.replace("0.0.0.0:$PORT", f"127.0.0.1:{port}"))
    assert args[0] == "gunicorn" and "$" not in " ".join(args), args
    return [str(BIN / "gunicorn"), *args[1:-1], "--pythonpath", str(ROOT / "bench"), app]


@contextmanager
def gunicorn(app: str, env: dict, log: Path, health: str = "/health"):
    """The Procfile's web line on a free loopback port."""
    port = free_port()
    # The router refuses to start under gunicorn without the address Twilio signs
    # (ops/safety.py); here that is the loopback port the load generator signs for.
    env = {**env, "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    proc = Proc(procfile_web(app, port), env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}{health}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def clock(env: dict, log: Path, every: float = 0.5, send: bool = True) -> Proc:
    """`hotline clock`; send=False: `--no-sender`, the texts are a `sender` process's."""
    return Proc([str(BIN / "hotline"), "clock", "--every", str(every),
                 *([] if send else ["--no-sender"])], env, log)


def sender(env: dict, log: Path) -> Proc:
    """The Procfile's sender line: `hotline sender`."""
    return Proc([str(BIN / "hotline"), "sender"], env, log)


# -- the fake Twilio REST API ----------------------------------------------------------
class FakeRestHandler(BaseHTTPRequestHandler):
    records: list = []
    # fail/sleep: until this epoch time. delay: every POST answers after this many seconds,
    # as the real Twilio does (tens to hundreds of ms); BENCH_TWILIO_DELAY, default 150 ms.
    mode = {"fail": 0.0, "sleep": 0.0, "sleep_for": 8.0, "delay": 0.150}
    lock = threading.Lock()
    inflight = 0
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path.endswith("/Messages.json"):  # the sender asking whether a text went
            return self._list(parse_qs(query))
        if path == "/_inflight":  # sends taken and not yet answered: a kill now loses answers
            with self.lock:
                return self._send(200, {"inflight": self.inflight})
        with self.lock:  # the benchmark reads what was sent
            self._send(200, self.records)

    def _list(self, query: dict) -> None:
        """Twilio's Messages list, newest first, filtered by To and From, all on one page
        (Twilio pages by 50 or 100; the router's client follows next_page_uri)."""
        to, from_ = query.get("To", [None])[0], query.get("From", [None])[0]
        with self.lock:
            found = [r for r in reversed(self.records)
                     if r["kind"] == "text" and r["outcome"] != "500"
                     and to in (None, r.get("To")) and from_ in (None, r.get("From"))]
        stamp = lambda t: time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))  # noqa: E731
        self._send(200, {"messages": [{"sid": r["sid"], "to": r.get("To"), "from": r.get("From"),
                                       "body": r.get("Body"), "status": "queued",
                                       "date_created": stamp(r["t"]), "account_sid": ACCOUNT}
                                      for r in found],
                         "page": 0, "page_size": 50, "start": 0, "end": len(found),
                         "first_page_uri": self.path, "next_page_uri": None,
                         "previous_page_uri": None, "uri": self.path})

    def do_DELETE(self):  # the router deletes settled records at Twilio (retention)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.path == "/_mode":
            with self.lock:
                self.mode.update(json.loads(raw))
                if self.mode.pop("reset", False):
                    self.records.clear()
            return self._send(200, self.mode)
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        if "To" not in form:  # a request cut off by a killed sender: Twilio takes nothing
            return self._send(400, {"code": 21604, "message": "'To' is required", "status": 400})
        now, kind = time.time(), "call" if self.path.endswith("/Calls.json") else "text"
        if now < self.mode["fail"]:
            with self.lock:
                self.records.append({"t": now, "kind": kind, "outcome": "500", **form})
            return self._send(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        with self.lock:
            FakeRestHandler.inflight += 1
            # Taken now, as Twilio does before it answers: a sender killed while it waits
            # for the answer has sent it.
            # Random, as Twilio's are: a count here once matched the load generator's
            # inbound SIDs (SM + its count), and the sender rightly took a text found
            # under a SID it had recorded for an inbound message as somebody else's.
            sid = f"{'CA' if kind == 'call' else 'SM'}{uuid.uuid4().hex}"
            late = now < self.mode["sleep"]
            self.records.append({"t": now, "kind": kind, "outcome": "late" if late else "201",
                                 "sid": sid, **form})
        try:
            if self.mode["delay"] > 0:
                time.sleep(self.mode["delay"])
            if late:  # Twilio took it but answered after the client gave up: still sent
                time.sleep(self.mode["sleep_for"])
        finally:
            with self.lock:
                FakeRestHandler.inflight -= 1
        self._send(201, {"sid": sid, "status": "queued", "to": form.get("To"),
                         "from": form.get("From"), "body": form.get("Body"),
                         "account_sid": ACCOUNT, "direction": "outbound-api"})


def twilio_delay() -> float:
    """Seconds the fake REST API takes to answer: BENCH_TWILIO_DELAY (default 0.150)."""
    return float(os.environ.get("BENCH_TWILIO_DELAY", "0.150"))


def fake_rest_main(port: int, delay: float) -> None:
    FakeRestHandler.mode["delay"] = delay
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 512
    ThreadingHTTPServer(("127.0.0.1", port), FakeRestHandler).serve_forever()


@contextmanager
def fake_rest(log: Path):
    port = free_port()
    proc = Proc([sys.executable, __file__, "fake-rest", str(port), str(twilio_delay())], None,
                log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/")
        yield port, FakeRestClient(base)
    finally:
        proc.stop()


class FakeRestClient:
    def __init__(self, base: str):
        self.base = base

    def sent(self) -> list[dict]:
        return json.loads(urlopen(self.base + "/", timeout=30).read())

    def inflight(self) -> int:
        return json.loads(urlopen(self.base + "/_inflight", timeout=5).read())["inflight"]

    def set(self, **mode) -> None:
        urlopen(Request(self.base + "/_mode", json.dumps(mode).encode(), method="POST"), timeout=5)


# -- signed webhooks and load ----------------------------------------------------------
def signed(base: str, path: str, form: dict) -> tuple[str, dict, dict]:
    from twilio.request_validator import RequestValidator
    sig = RequestValidator(TOKEN).compute_signature(base + path, form)
    return path, form, {"X-Twilio-Signature": sig}


def sms_form(n: int, sender: str, body: str) -> dict:
    return {"MessageSid": f"SM{n:032x}", "AccountSid": ACCOUNT, "From": sender, "To": PROGRAM,
            "Body": body, "NumMedia": "0", "NumSegments": "1"}


def voice_form(n: int, caller: str) -> dict:
    return {"CallSid": f"CA{n:032x}", "AccountSid": ACCOUNT, "From": caller, "To": PROGRAM,
            "Direction": "inbound", "CallStatus": "ringing"}


async def _post(session, base, req, t_sched, out, timeout):
    import aiohttp
    path, form, headers = req
    try:
        async with session.post(base + path, data=form, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            body = await r.text()
            out.append((t_sched, time.monotonic(), r.status, body))
    except Exception as exc:  # noqa: BLE001 - a lost request is a result, not a crash
        out.append((t_sched, time.monotonic(), type(exc).__name__, ""))


async def _open_loop(base, reqs, rate, timeout):
    """Open loop: request i is due at start + i/rate whatever happened before, and its
    latency counts from that due time, so a stall is not hidden (coordinated omission)."""
    import aiohttp
    out: list = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        start = time.monotonic() + 0.1
        tasks = []
        for i, req in enumerate(reqs):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(_post(session, base, req, due, out, timeout)))
        await asyncio.gather(*tasks)
    return start, out


def open_loop(base: str, reqs: list, rate: float, timeout: float = 20):
    """Returns (start monotonic, [(due, done, status, body)]) in completion order."""
    return asyncio.run(_open_loop(base, reqs, rate, timeout))


async def _closed_loop(base, reqs, concurrency, seconds):
    import aiohttp
    out: list = []
    it = iter(reqs)
    end = time.monotonic() + seconds

    async def worker(session):
        for req in it:
            if time.monotonic() >= end:
                return
            await _post(session, base, req, time.monotonic(), out, 20)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        t0 = time.monotonic()
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return out, time.monotonic() - t0


def closed_loop(base: str, reqs: list, concurrency: int, seconds: float):
    """As fast as `concurrency` clients can go, bounded by `seconds` and len(reqs)."""
    return asyncio.run(_closed_loop(base, reqs, concurrency, seconds))


def percentile(values, p: float) -> float:
    """Nearest rank; nan for an empty list."""
    vs = sorted(values)
    if not vs:
        return float("nan")
    return vs[min(len(vs), max(1, math.ceil(p / 100 * len(vs)))) - 1]


# -- the write-up --------------------------------------------------------------------
def machine() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = (re.findall(r"^model name\s*:\s*(.+)$", info, re.M) or [platform.processor()])[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"Measured {date.today().isoformat()} on {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GB, "
            f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
            f"PostgreSQL 15 on loopback; the fake Twilio REST API answers after "
            f"{twilio_delay() * 1000:.0f} ms (BENCH_TWILIO_DELAY); load generator, fake Twilio REST, gunicorn and "
            "PostgreSQL share these CPUs. Load average when written: "
            f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min; other processes "
            "on a shared machine move absolute numbers and, less, the ratios).")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def write_section(heading: str, lines: list[str]) -> Path:
    """Replace our section (up to the next '## ') of docs/benchmarks.md, or append it."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    section = "\n".join([heading, "", *lines, "", ""])
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return path.relative_to(ROOT)


def table(header: list[str], rows: list[list]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


if __name__ == "__main__" and sys.argv[1:2] == ["fake-rest"]:
    fake_rest_main(int(sys.argv[2]), float(sys.argv[3]) if sys.argv[3:] else twilio_delay())
