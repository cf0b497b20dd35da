"""Fault benchmarks: PostgreSQL stopped mid-load or hung, and Twilio REST failing for a while.

    .venv/bin/python bench/faults.py [pg|hung|rest|all] [--write]     (fuzzing: bench/fuzz.py)

pg: a PRIVATE PostgreSQL cluster (initdb into a temp dir as the postgres user, port of
its own; the shared server is never touched) under a mixed voice+text load; it is
stopped with `pg_ctl stop -m fast` mid-run and started again. Every answer is classed:
normal route, emergency route (voice: <Dial> to the clinical director; text: the 988
message), or anything else.
hung: the router's DATABASE_URL points at a server that accepts connections and never
answers (a hung PostgreSQL, a partition, a full disk). Every call must get TwiML within
the webhook budget ringing an on-call peer, every text an answer within the budget.
rest: the fake Twilio REST answers 500 for 10 s, then takes 8 s per request (the
router gives up after 5 s) for 10 s. Every text's notice must arrive once it recovers.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import common as c

HEADING_PG = "## Fault: PostgreSQL stopped mid-load (bench/faults.py pg)"
HEADING_HUNG = "## Fault: a hung database (bench/faults.py hung)"
HEADING_REST = "## Fault: Twilio REST 500s and timeouts (bench/faults.py rest)"
PGBIN = Path("/usr/lib/postgresql/15/bin")


class PrivateCluster:
    """Our own throwaway PostgreSQL 15, owned by the postgres OS user (initdb refuses root)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.port = c.free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PGBIN / args[0]), *args[1:]],
                       check=True, capture_output=True, cwd="/tmp")

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start",
                 "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


def classify(kind: str, status, body: str) -> str:
    if status != 200:
        return f"HTTP {status}"
    if kind == "voice":
        # Normal and fail-safe answers look alike: both ring the on-call peers.
        return "normal" if "/voice/next" in body and any(p in body for p in c.PEERS.values()) else "other"
    if "We cannot connect texts right now" in body or "We cannot reach a peer right now" in body:
        return "emergency"
    return "normal" if "Thanks for reaching out" in body else "other"


def mixed(base: str, n: int, first: int = 0) -> list:
    """Alternating calls and texts; texts from new numbers, each saying which one it is."""
    return [c.signed(base, "/voice/incoming", c.voice_form(i, c.TEXTERS[i])) if i % 2 == 0 else
            c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], f"bench {i:04d} hard day"))
            for i in range(first, first + n)]


def run_pg(rate: float, seconds: float, down_at: float, up_at: float) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    pg = PrivateCluster()
    events: dict[str, float] = {}
    try:
        pg.start()
        with c.fake_rest(tmp / "rest.log") as (rest_port, rest):
            env = c.app_env(tmp, pg.url, rest_port)
            c.prepare_db(pg.url, env)
            clock = c.clock(env, tmp / "clock.log")
            with c.gunicorn("hotline.app:create_app()", env, tmp / "router.log") as base:
                def outage():
                    time.sleep(down_at)
                    events["down"] = time.monotonic()
                    pg.stop()
                    events["stopped"] = time.monotonic()
                    time.sleep(up_at - down_at)
                    events["up"] = time.monotonic()
                    pg.start()
                    events["started"] = time.monotonic()
                threading.Thread(target=outage, daemon=True).start()
                start, results = c.open_loop(base, mixed(base, int(rate * seconds)), rate)
            time.sleep(3)
            clock.stop()
            sent = rest.sent()
    finally:
        pg.remove()
    return report_pg(start, results, events, sent, rate, seconds)


def report_pg(start, results, events, sent, rate, seconds) -> list[str]:
    phases = {"before": [], "during": [], "after": []}
    for due, done, status, body in results:
        i = round((due - start) * rate)
        kind = "voice" if i % 2 == 0 else "sms"
        phase = ("before" if due < events["down"] else "during" if due < events["started"] else "after")
        phases[phase].append((kind, classify(kind, status, body), (done - due) * 1000, i, due))
    noticed = {int(s["Body"].split("bench ")[1][:4]) for s in sent
               if s["To"] in c.PEERS.values() and "bench " in s.get("Body", "")}
    rows, recovered = [], None
    for phase, rs in phases.items():
        for kind in ("voice", "sms"):
            sel = [r for r in rs if r[0] == kind]
            counts = {}
            for r in sel:
                counts[r[1]] = counts.get(r[1], 0) + 1
            routed = sum(r[3] in noticed for r in sel if r[1] == "normal") if kind == "sms" else ""
            rows.append([phase, kind, len(sel), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
                         routed, f"{c.percentile([r[2] for r in sel], 99):.0f}",
                         f"{max((r[2] for r in sel), default=0):.0f}"])
    after = sorted(phases["after"], key=lambda r: r[4])
    bad_after = [r for r in after if r[1] != "normal"]
    last_bad = max((r[4] for r in bad_after), default=events["started"])
    recovered = last_bad - events["started"]
    down_bad = [r for r in phases["during"] if r[1] not in ("emergency", "normal")]
    director = sum(1 for s in sent if s["To"] == c.DIRECTOR)
    lines = c.table(["phase", "webhook", "requests", "answers", "texts routed to a peer",
                     "p99 ms", "max ms"], rows)
    lines += ["", f"Outage: `pg_ctl stop -m fast` took {events['stopped'] - events['down']:.1f} s, "
              f"start {events['started'] - events['up']:.1f} s; the database was away for "
              f"{events['started'] - events['down']:.1f} s. Texts sent to the clinical director "
              f"through the REST API during the whole run: {director}.", ""]
    lines += c.table(["target", "measured", "result"], [
        ["every answer during the outage is TwiML: normal or emergency route",
         f"{len(down_bad)} other", c.verdict(not down_bad)],
        ["calls during the outage ring an on-call peer (from memory when the database is away)",
         f"{sum(r[1] == 'normal' for r in phases['during'] if r[0] == 'voice')} of "
         f"{sum(r[0] == 'voice' for r in phases['during'])}",
         c.verdict(all(r[1] == 'normal' for r in phases['during'] if r[0] == 'voice'))],
        ["after restart, new contacts route normally",
         f"last non-normal answer {recovered:.1f} s after restart; {len(bad_after)} of {len(after)} not normal",
         c.verdict(recovered < 5)],
        ["clinical director alerted (once per web worker per 5 min) about texts on the emergency route",
         f"{director} alerts for {sum(r[1] == 'emergency' for r in phases['during'] if r[0] == 'sms')} texts",
         c.verdict(director >= 1 or not any(r[1] == 'emergency' for r in phases['during']))]])
    return lines


class HungServer:
    """Accepts connections and never answers (in this process, on a thread)."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return


def run_hung(rate: float, seconds: float, budget: float = 2.0) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-hung-"))
    hung = HungServer()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{hung.port}/hung"
    with c.fake_rest(tmp / "rest.log") as (rest_port, rest):
        env = c.app_env(tmp, url, rest_port, HOTLINE_WEBHOOK_BUDGET=budget)
        port = c.free_port()
        # Not c.gunicorn(): its wait is on /health, which reads the hung database. The
        # router still needs the address the load generator signs for (ops/safety.py).
        env["HOTLINE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        proc = c.Proc(c.procfile_web("hotline.app:create_app()", port), env, tmp / "router.log")
        try:
            base = f"http://127.0.0.1:{port}"
            c.wait_http(base + "/voice/incoming", seconds=60, ok_status=(405,))
            start, results = c.open_loop(base, mixed(base, int(rate * seconds)), rate, timeout=30)
        finally:
            proc.stop()
        sent = rest.sent()
    rows, ok = [], True
    for kind in ("voice", "sms"):
        sel = [((done - due), classify(kind, status, body)) for due, done, status, body in results
               if (round((due - start) * rate) % 2 == 0) == (kind == "voice")]
        good = "normal" if kind == "voice" else "emergency"
        within = sum(d <= budget and k == good for d, k in sel)
        ok &= within == len(sel)
        rows.append([kind, len(sel), f"{within} ({100 * within / max(1, len(sel)):.1f}%)",
                     f"{c.percentile([d * 1000 for d, _ in sel], 50):.0f}",
                     f"{c.percentile([d * 1000 for d, _ in sel], 99):.0f}",
                     f"{max((d * 1000 for d, _ in sel), default=0):.0f}"])
    director = sum(1 for s in sent if s["To"] == c.DIRECTOR)
    lines = c.table(["webhook", "requests", f"right answer within {budget:.0f} s",
                     "p50 ms", "p99 ms", "max ms"], rows)
    lines += ["", "Right answer: a call's TwiML rings an on-call peer (the fail-safe route from "
              "the rotation in memory); a text gets the \"call this number\" message. Texts "
              f"to the clinical director during the run: {director} (one per web worker per 5 "
              "minutes).", ""]
    lines += c.table(["target", "measured", "result"], [
        ["100% of calls and texts answered right within the budget",
         " / ".join(f"{r[0]} {r[2]}" for r in rows), c.verdict(ok)]])
    return lines


def run_rest(rate: float, fail_s: float, slow_s: float, limit: float) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    n = int(rate * (10 + fail_s + slow_s + 10))  # 10 s healthy before and after
    with c.fake_rest(tmp / "rest.log") as (rest_port, rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port)
        c.prepare_db(db, env)
        clock = c.clock(env, tmp / "clock.log")
        try:
            with c.gunicorn("hotline.app:create_app()", env, tmp / "router.log") as base:
                def faults():
                    time.sleep(10)
                    rest.set(fail=time.time() + fail_s)
                    time.sleep(fail_s)
                    rest.set(sleep=time.time() + slow_s, sleep_for=8.0)
                reqs = [c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], f"bench {i:04d} hard day"))
                        for i in range(n)]
                threading.Thread(target=faults, daemon=True).start()
                t0 = time.time()
                start, results = c.open_loop(base, reqs, rate, timeout=60)
                deadline = time.monotonic() + limit
                while time.monotonic() < deadline:
                    got = {int(s["Body"].split("bench ")[1][:4]) for s in rest.sent()
                           if s["outcome"] in ("201", "late") and "bench " in s.get("Body", "")}
                    if len(got) >= n:
                        break
                    time.sleep(2)
                drained = time.time() - t0
                time.sleep(5)
                sent = rest.sent()
        finally:
            clock.stop()
    delivered: dict[int, int] = {}
    for s in sent:
        if s["outcome"] in ("201", "late") and "bench " in s.get("Body", "") and s["To"] in c.PEERS.values():
            i = int(s["Body"].split("bench ")[1][:4])
            delivered[i] = delivered.get(i, 0) + 1
    lat = {"healthy": [], "500s": [], "slow": []}
    for due, done, status, body in results:
        t = due - start
        lat["500s" if 10 <= t < 10 + fail_s else "slow" if 10 + fail_s <= t < 10 + fail_s + slow_s
            else "healthy"].append((done - due, status, body))
    rows = [[k, len(v), f"{c.percentile([x[0] for x in v], 50):.2f} s", f"{c.percentile([x[0] for x in v], 99):.2f} s",
             sum(x[0] > 15 for x in v), sum(x[1] != 200 or "<Message" not in x[2] for x in v)]
            for k, v in lat.items()]
    lost = n - len(delivered)
    dupes = sum(v - 1 for v in delivered.values())
    outcomes = {o: sum(s["outcome"] == o for s in sent) for o in ("201", "500", "late")}
    lines = c.table(["texts arriving while REST is", "texts", "webhook p50", "webhook p99",
                     "over Twilio's 15 s", "no auto-reply"], rows)
    lines += ["", f"REST requests seen by the fake: {outcomes['201']} answered 201, {outcomes['500']} "
              f"answered 500, {outcomes['late']} accepted but answered after 8 s (the router had given "
              f"up after 5 s: Twilio would have sent these). All notices delivered "
              f"{drained:.0f} s after the first text.", ""]
    lines += c.table(["target", "measured", "result"], [
        ["no notice lost once REST recovers", f"{lost} of {n} lost", c.verdict(lost == 0)],
        ["no duplicate notices", f"{dupes} duplicates (timeouts Twilio had accepted)", c.verdict(dupes == 0)],
        ["webhooks answer within Twilio's 15 s",
         f"{sum(r[4] for r in rows)} over 15 s", c.verdict(sum(r[4] for r in rows) == 0)]])
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="?", default="all", choices=["pg", "hung", "rest", "all"])
    ap.add_argument("--seconds", type=float, default=30, help="hung: seconds of load")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.which in ("pg", "all"):
        lines = run_pg(rate=20, seconds=30, down_at=10, up_at=20)
        print("\n".join(lines))
        if args.write:
            intro = [c.machine(), "", "Reproduce: `.venv/bin/python bench/faults.py pg --write` "
                     "(part of `make bench`; needs root for `runuser -u postgres`).", "",
                     "20 requests/s for 30 s, alternating signed /voice/incoming and /sms/incoming "
                     "(each text from a new number), on gunicorn (3 sync workers) with `hotline clock` "
                     "and a private PostgreSQL 15 cluster; stopped at 10 s, started at 20 s. Phases "
                     "go by each request's scheduled time.", ""]
            print("wrote", c.write_section(HEADING_PG, intro + lines))
    if args.which in ("hung", "all"):
        lines = run_hung(rate=20, seconds=args.seconds)
        print("\n".join(lines))
        if args.write:
            intro = [c.machine(), "", "Reproduce: `.venv/bin/python bench/faults.py hung --write` "
                     "(part of `make bench`).", "",
                     f"20 requests/s for {args.seconds:.0f} s, alternating signed /voice/incoming "
                     "and /sms/incoming, on gunicorn (3 sync workers) whose DATABASE_URL is a "
                     "TCP server that accepts and never answers; webhook budget 2 s.", ""]
            print("wrote", c.write_section(HEADING_HUNG, intro + lines))
    if args.which in ("rest", "all"):
        lines = run_rest(rate=2, fail_s=10, slow_s=10, limit=300)
        print("\n".join(lines))
        if args.write:
            intro = [c.machine(), "", "Reproduce: `.venv/bin/python bench/faults.py rest --write` "
                     "(part of `make bench`).", "",
                     "2 texts/s for 40 s from new numbers (one peer notice each), gunicorn (3 sync "
                     "workers), `hotline clock --every 0.5`, PostgreSQL 15 schema of its own, "
                     "`HOTLINE_SEND_RATE=0`. The fake REST API is healthy for 10 s, answers 500 "
                     "for 10 s, then holds each request 8 s for 10 s (the router's send timeout is "
                     "5 s), then is healthy again.", ""]
            print("wrote", c.write_section(HEADING_REST, intro + lines))


if __name__ == "__main__":
    main()
