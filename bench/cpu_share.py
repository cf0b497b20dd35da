"""Diagnostic: CPU time per request, process by process, in a closed-loop run.

    .venv/bin/python bench/cpu_share.py [--seconds 6] [--kind sms|voice|bare]

The same set-up as bench/webhooks.py's closed loops (gunicorn with the Procfile's
web line, `hotline sender`, the fake Twilio REST, a private PostgreSQL schema), with
each process's user+system CPU read from /proc before and after. On a machine whose
cores are the limit, throughput is about cores / (sum of the rows), so this says where
a request's cost lies: the web worker, PostgreSQL, the sender, or the load generator.
`--kind sms` (the default) sends new texts, `voice` new calls, `bare` new calls to the
baseline endpoint of bench/bare_app.py.
Linux only; PostgreSQL's backends are counted when they run on this machine. Prints,
writes nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import common as c
import webhooks as w

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def by_process() -> dict[str, float]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    groups: dict[str, float] = {}
    for line in out.splitlines()[1:]:
        pid, _, args = line.strip().partition(" ")
        if "gunicorn" in args and ("create_app" in args or "bare_app" in args):
            group = "web workers (gunicorn)"
        elif args.endswith("hotline sender"):
            group = "hotline sender"
        elif "fake-rest" in args:
            group = "fake Twilio REST"
        elif args.startswith("postgres"):
            group = "PostgreSQL"
        else:
            continue
        groups[group] = groups.get(group, 0.0) + cpu_seconds(int(pid))
    return groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--kind", choices=("sms", "voice", "bare"), default="sms")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-cpu-"))
    with c.fake_rest(tmp / "rest.log") as (rest_port, _rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port, send_rate=0)
        c.prepare_db(db, env)
        send = c.sender(env, tmp / "sender.log")
        try:
            app = "bare_app:app" if args.kind == "bare" else "hotline.app:create_app()"
            kind = "sms" if args.kind == "sms" else "voice"
            with c.gunicorn(app, env, tmp / "router.log") as router:
                w.run(router, kind, "open", 20, 1)  # warm-up: imports, pools
                w.clear(db)
                before, mine = by_process(), time.process_time()
                r = w.run(router, kind, "closed", 0, args.seconds)
                w.clear(db)  # waits for the sender to finish this run's notices
                after, mine = by_process(), time.process_time() - mine
        finally:
            send.stop()
    n = max(1, r["good"])
    what = "new texts" if args.kind == "sms" else f"{args.kind} calls"
    print(f"{r['rps']:.0f} {what}/s closed loop, {n} requests, p50 {r['p50']:.0f} ms, "
          f"p99 {r['p99']:.0f} ms; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    rows = {g: (after[g] - before.get(g, 0.0)) for g in after}
    rows["load generator"] = mine
    for group, spent in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {group:24s} {1000 * spent / n:6.2f} ms CPU per request")
    print(f"  {'all':24s} {1000 * sum(rows.values()) / n:6.2f} ms CPU per request")


if __name__ == "__main__":
    main()
