"""Benchmark: 500 pending text escalations fired by `hotline clock` and sent by `hotline
sender`, with and without kill -9 of both.

    .venv/bin/python bench/timers.py [--conversations 500] [--every 0.5] [--write]

The rotation's first step waits 10 s, so each text opened here comes due 10 s after it
arrived (500 texts at 100/s: 500 timers due within 5 s). Lateness is the time the
step-2 notice reached the fake REST API (BENCH_TWILIO_DELAY, default 150 ms a send)
minus that due time (started_at + 10 s, read from the database). The clock runs with
--no-sender, so the sender process sends every text. The second run kill -9s the sender
once a third of the step-2 notices have gone and the clock once half have, and starts
each again 3 s later: every conversation must get exactly one step-2 notice.
HOTLINE_SEND_RATE=0, so lateness is the clock's and the sender's, not the rate limit's.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

import common as c

HEADING = "## Escalation timers (bench/timers.py)"
WAIT = 10  # seconds, the first step's wait
BACKUP = {c.PEERS["carol"], c.PEERS["dave"]}


def step2(sent: list[dict]) -> list[tuple[int, float]]:
    """(conversation code, time) of each 'an officer has waited' notice to step 2."""
    return [(int(re.search(r"#(\d+)", s["Body"]).group(1)), s["t"]) for s in sent
            if s["To"] in BACKUP and "has waited" in s.get("Body", "")]


def run(n: int, every: float, crash: bool, limit: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-timers-"))
    (tmp / "rotation.yaml").write_text(c.rotation_yaml(first_wait=f"{WAIT}s"))
    with c.fake_rest(tmp / "rest.log") as (rest_port, rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port, send_rate=0)
        c.prepare_db(db, env)
        clock = c.clock(env, tmp / "clock.log", every, send=False)
        send = c.sender(env, tmp / "sender.log")
        crashed_at, restarted_at, sender_killed = None, None, None
        try:
            with c.gunicorn("hotline.app:create_app()", env, tmp / "router.log") as base:
                reqs = [c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], "long week, can we talk"))
                        for i in range(n)]
                _, results = c.open_loop(base, reqs, 100)
            engine = create_engine(db)
            with engine.connect() as conn:  # due times; started_at never changes
                due = {code: (started + timedelta(seconds=WAIT)).timestamp()
                       for code, started in conn.execute(text("SELECT code, started_at FROM conversations"))}
            engine.dispose()
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                fired = step2(rest.sent())
                if crash and sender_killed is None and len(fired) >= n // 3:
                    # While sends are in flight: Twilio has them, the sender has no answer.
                    wait_until = time.monotonic() + 10
                    while rest.inflight() == 0 and time.monotonic() < wait_until:
                        time.sleep(0.005)
                    send.kill9()
                    sender_killed = time.time()
                    time.sleep(3)
                    send = c.sender(env, tmp / "sender2.log")
                if crash and crashed_at is None and len(fired) >= n // 2:
                    clock.kill9()  # mid-run, between any two statements
                    crashed_at = time.time()
                    time.sleep(3)
                    clock = c.clock(env, tmp / "clock2.log", every, send=False)
                    restarted_at = time.time()
                done = not crash or (crashed_at and sender_killed)
                if len({code for code, _ in fired}) >= len(due) and done:
                    break
                time.sleep(0.2)
            # Texts a killed sender had in flight stay leased (30 s); then a sender asks
            # Twilio whether they went. Wait for the outbox to empty, so a duplicate
            # would show up.
            engine = create_engine(db)
            empty_by = time.monotonic() + 90
            while time.monotonic() < empty_by:
                with engine.connect() as conn:
                    if not conn.execute(text("SELECT count(*) FROM outbox")).scalar():
                        break
                time.sleep(1)
            with engine.connect() as conn:
                left = conn.execute(text("SELECT count(*) FROM outbox")).scalar()
            engine.dispose()
            time.sleep(3 * every + 2)  # a late duplicate would show up by now
            fired = step2(rest.sent())
            recovered = sum(open(p).read().count("not sent again")
                            for p in tmp.glob("sender*.log"))
        finally:
            clock.stop()
            send.stop()
    per_conv = Counter(code for code, _ in fired)
    first = {}
    for code, t in fired:
        first[code] = min(t, first.get(code, t))
    late = [first[k] - due[k] for k in first if k in due]
    return {"opened": len(due), "answered": sum(r[2] == 200 for r in results),
            "once": sum(1 for k in due if per_conv.get(k) == 1),
            "never": sum(1 for k in due if k not in per_conv),
            "twice": sum(1 for k in due if per_conv.get(k, 0) > 1),
            "p50": c.percentile(late, 50), "p99": c.percentile(late, 99),
            "max": max(late, default=float("nan")), "min": min(late, default=float("nan")),
            "crash": (crashed_at, restarted_at, sender_killed),
            "left": left, "recovered": recovered,
            "fired_at_crash": n // 3 if crash else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=500)
    ap.add_argument("--every", type=float, default=0.5, help="hotline clock --every (its default)")
    ap.add_argument("--limit", type=float, default=120, help="seconds to wait for the timers")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    plain = run(args.conversations, args.every, False, args.limit)
    crash = run(args.conversations, args.every, True, args.limit)
    rows = []
    n = args.conversations
    for name, r in (("clock and sender run throughout", plain),
                    ("sender, then clock, kill -9 and restarted 3 s later", crash)):
        rows.append([name, f"{n} / {r['opened']}", f"{r['once']}", f"{r['never']}", f"{r['twice']}",
                     f"{r['min']:.2f} / {r['p50']:.2f} / {r['p99']:.2f} / {r['max']:.2f} s"])
    lines = c.table(["run", "texts sent / conversations opened", "fired once", "never",
                     "twice or more", "lateness min / p50 / p99 / max"], rows)
    lines += [""] + c.table(["target", "measured", "result"], [
        ["every timer fires (clock runs)", f"{plain['once']}/{plain['opened']} once",
         c.verdict(plain["once"] == plain["opened"])],
        ["p99 lateness < 2 s (clock and sender run throughout)", f"{plain['p99']:.2f} s",
         c.verdict(plain["p99"] < 2)],
        ["kill -9 of the clock and of the sender mid-run: every timer fires exactly once",
         f"{crash['once']}/{crash['opened']} once, {crash['never']} never, {crash['twice']} twice",
         c.verdict(crash["once"] == crash["opened"])],
        ["texts a killed sender had in flight, found at Twilio and not sent again",
         f"{crash['recovered']}", ""],
        ["outbox empty at the end (both runs)", f"{plain['left']} / {crash['left']} rows left",
         c.verdict(plain["left"] == 0 and crash["left"] == 0)],
        ["every text opens a conversation", f"{plain['opened'] + crash['opened']}/{2 * n}",
         c.verdict(plain["opened"] + crash["opened"] == 2 * n)]])
    print("\n".join(lines))
    if args.write:
        intro = [c.machine(), "",
                 f"Reproduce: `.venv/bin/python bench/timers.py --conversations {n} --every "
                 f"{args.every:g} --write` (part of `make bench`).", "",
                 f"{n} texts from distinct fictional numbers open {n} conversations at 100/s on "
                 "gunicorn (3 sync workers), PostgreSQL 15 schema of its own; the first "
                 f"escalation step waits {WAIT} s, so {n} timers come due over about "
                 f"{n / 100:.0f} s. One `hotline clock --every {args.every:g} --no-sender` "
                 "claims due timers and stages each step-2 notice (no REST call in its jobs); "
                 "one `hotline sender` (16 threads) is woken by NOTIFY and sends. Lateness = "
                 "when the step-2 notice reached the fake REST API minus started_at + wait. In "
                 "the second run the sender is killed with SIGKILL once a third of the notices "
                 "have gone and the clock once half have, each restarted 3 s later; each "
                 "conversation's step-2 notices are counted.", ""]
        print("wrote", c.write_section(HEADING, intro + lines))


if __name__ == "__main__":
    main()
