"""Benchmark: signed /voice/incoming and /sms/incoming under load, against a bare endpoint.

    .venv/bin/python bench/webhooks.py [--seconds 12] [--write]

Both servers are gunicorn with the Procfile's settings (3 sync workers) on loopback,
the router on a private schema of the PostgreSQL at 127.0.0.1:5432, with `hotline
sender` beside it sending through a fake Twilio REST (HOTLINE_SEND_RATE=0: the rate
limit is bench/burst.py's subject). Last, texts at --notice-rate/s measure how soon
each one's peer notice leaves (issue 11: p99 under 1 s at 20 texts/s).
The baseline is bench/bare_app.py: fixed TwiML, no signature, no database. Closed loop
measures the most each can do; open loop sends at a fixed rate and counts latency from
each request's scheduled time, so a stall is charged to every request it delayed.
Only ratios travel between machines; targets are reported PASS or MISS, never enforced.
"""
from __future__ import annotations

import argparse
import itertools
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

import common as c

HEADING = "## Webhook load (bench/webhooks.py)"
CONCURRENCY = 6  # closed loop: two clients per worker keeps every worker busy
ids = itertools.count(1)  # CallSids, MessageSids and texters are never reused in a run


def voice_reqs(base: str, n: int) -> list:
    # A caller's number is only read (never stored), so a few suffice.
    return [c.signed(base, "/voice/incoming", c.voice_form(i, c.TEXTERS[i % 89]))
            for i in itertools.islice(ids, n)]


def sms_reqs(base: str, n: int) -> list:
    # Every text from a new number, so every request opens a conversation.
    return [c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], "rough night, can someone talk?"))
            for i in itertools.islice(ids, n)]


def notice_reqs(base: str, n: int) -> list:
    """Texts whose notices can be told apart: each body carries its request's number."""
    return [c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], f"notice {i:06d} rough night"))
            for i in itertools.islice(ids, n)]


def notice_delay(base: str, rest, rate: float, seconds: float) -> dict:
    """Texts at `rate`/s: seconds from each text's scheduled arrival to its peer notice
    reaching the fake REST API (the sender process, woken by NOTIFY, sends it)."""
    reqs = notice_reqs(base, int(rate * seconds))
    wanted = {r[1]["Body"].split()[1] for r in reqs}
    offset = time.time() - time.monotonic()  # open_loop times are monotonic; the fake's epoch
    start, results = c.open_loop(base, reqs, rate)
    due = {reqs[i][1]["Body"].split()[1]: start + offset + i / rate for i in range(len(reqs))}
    deadline, first = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        first = {}
        for s in rest.sent():
            m = re.search(r"notice (\d{6})", s.get("Body", ""))
            if m and m.group(1) in wanted and s["To"] in c.PEERS.values():
                first[m.group(1)] = min(s["t"], first.get(m.group(1), s["t"]))
        if len(first) >= len(wanted):
            break
        time.sleep(0.5)
    waits = [first[k] - due[k] for k in first]
    return {"n": len(reqs), "noticed": len(first), "p50": c.percentile(waits, 50),
            "p99": c.percentile(waits, 99), "max": max(waits, default=float("nan")),
            "answered": sum(r[2] == 200 for r in results)}


def ok(kind: str, status, body: str) -> bool:
    """A 200 that does what the caller needs: a Dial to a peer, or an auto-reply."""
    if status != 200:
        return False
    return "<Dial" in body if kind == "voice" else "<Message" in body


def clear(db_url: str) -> None:
    """Each phase starts from no open contacts, so one phase's rows do not slow the next.
    The sender may still be sending the last phase's notices: their outbox rows are left
    to it (deleting them under it deadlocks with its batch record), up to 30 s."""
    engine = create_engine(db_url)
    end = time.monotonic() + 30
    with engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM outbox")).scalar() and \
                time.monotonic() < end:
            conn.rollback()
            time.sleep(0.2)
    with engine.begin() as conn:
        for table in ("calls", "conversations", "notices", "inbound_messages", "outbox"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def summarize(results, start: float) -> dict:
    good = [r for r in results if ok(r[4], r[2], r[3])]
    lat = [(r[1] - r[0]) * 1000 for r in results]
    span = max((r[1] for r in results), default=start) - start
    return {"n": len(results), "good": len(good), "rps": len(good) / span if span else 0,
            "p50": c.percentile(lat, 50), "p99": c.percentile(lat, 99),
            "errors": sorted({str(r[2]) for r in results if r[2] != 200})}


def run(base: str, kind: str, mode: str, rate: float, seconds: float) -> dict:
    make = voice_reqs if kind == "voice" else sms_reqs
    if mode == "closed":
        results, span = c.closed_loop(base, make(base, int(seconds * 800)), CONCURRENCY, seconds)
        results = [r + (kind,) for r in results]
        good = sum(ok(kind, r[2], r[3]) for r in results)
        lat = [(r[1] - r[0]) * 1000 for r in results]
        return {"n": len(results), "good": good, "rps": good / span, "p50": c.percentile(lat, 50),
                "p99": c.percentile(lat, 99), "errors": sorted({str(r[2]) for r in results if r[2] != 200})}
    start, results = c.open_loop(base, make(base, int(rate * seconds)), rate)
    return summarize([r + (kind,) for r in results], start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12, help="per open-loop rate")
    ap.add_argument("--closed-seconds", type=float, default=10)
    ap.add_argument("--rates", default="50,100,200")
    ap.add_argument("--notice-rate", type=float, default=20,
                    help="texts/s for the notice-delay measure (0: skip it)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    res: dict = {}
    with c.fake_rest(tmp / "rest.log") as (rest_port, rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port, send_rate=0)
        c.prepare_db(db, env)
        send = c.sender(env, tmp / "sender.log")  # the Procfile's sender line
        with c.gunicorn("bare_app:app", env, tmp / "bare.log") as bare, \
                c.gunicorn("hotline.app:create_app()", env, tmp / "router.log") as router:
            targets = [("bare", bare, "voice"), ("voice", router, "voice"), ("sms", router, "sms")]
            for name, base, kind in targets:  # warm-up: imports, connection pools
                run(base, kind, "open", 20, 1)
            # Both servers are up throughout; alternating rounds keep a noisy neighbour
            # from favouring one side. Best of two rounds for the closed loop.
            for _ in range(2):
                for name, base, kind in targets:
                    clear(db)
                    r = run(base, kind, "closed", 0, args.closed_seconds)
                    if r["rps"] > res.get((name, "max"), {"rps": -1})["rps"]:
                        res[(name, "max")] = r
            for rate in rates:
                for name, base, kind in targets:
                    clear(db)
                    res[(name, rate)] = run(base, kind, "open", rate, args.seconds)
            if args.notice_rate:
                clear(db)
                rest.set(reset=True)
                res["notice"] = notice_delay(router, rest, args.notice_rate, args.seconds)
        send.stop()
    report(res, rates, args)


def report(res: dict, rates: list[float], args) -> None:
    b = res[("bare", "max")]["rps"]
    rows = []
    for name in ("bare", "voice", "sms"):
        m = res[(name, "max")]
        rows.append([name, "closed loop, 6 clients", f"{m['rps']:,.0f}/s", f"{m['rps'] / b:.0%}",
                     f"{m['p50']:.1f}", f"{m['p99']:.1f}", "", f"{m['n'] - m['good']}",
                     " ".join(m["errors"])])
        for rate in rates:
            r, base = res[(name, rate)], res[("bare", rate)]
            rows.append([name, f"open loop {rate:.0f}/s", f"{r['rps']:,.0f}/s", "",
                         f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                         f"{r['p50'] / base['p50']:.1f}x / {r['p99'] / base['p99']:.1f}x",
                         f"{r['n'] - r['good']}", " ".join(r["errors"])])
    lines = c.table(["endpoint", "load", "throughput", "of bare max", "p50 ms", "p99 ms",
                     "p50 / p99 vs bare", "not OK", "errors"], rows)
    # The targets: voice near the no-database ceiling (about half the bare
    # endpoint on 2 cores); texts counted in new conversations per second.
    checks = []
    voice_share = res[("voice", "max")]["rps"] / b
    checks.append(["voice: max throughput >= 40% of bare", f"{voice_share:.0%}",
                   c.verdict(voice_share >= 0.4)])
    sms_max = res[("sms", "max")]["rps"]
    checks.append(["sms: >= 150 new conversations/s (3 workers)", f"{sms_max:,.0f}/s",
                   c.verdict(sms_max >= 150)])
    for name, limit in (("voice", 50), ("sms", 100)):
        if 100.0 in rates:
            p99 = res[(name, 100.0)]["p99"]
            checks.append([f"{name}: p99 < {limit} ms at 100 req/s", f"{p99:.1f} ms",
                           c.verdict(p99 < limit)])
        lost = sum(res[(name, k)]["n"] - res[(name, k)]["good"] for k in ["max", *rates])
        checks.append([f"{name}: every answer OK (Dial / auto-reply)", f"{lost} not OK", c.verdict(lost == 0)])
    if "notice" in res:
        n = res["notice"]
        checks.append([f"sms: peer notice within 1 s (p99) of the text at {args.notice_rate:g} texts/s",
                       f"p50 {n['p50']:.2f} s, p99 {n['p99']:.2f} s, max {n['max']:.2f} s; "
                       f"{n['noticed']}/{n['n']} noticed",
                       c.verdict(n["p99"] < 1 and n["noticed"] == n["n"])])
    lines += [""] + c.table(["target", "measured", "result"], checks)
    print("\n".join(lines))
    if args.write:
        intro = [c.machine(), "",
                 f"Reproduce: `.venv/bin/python bench/webhooks.py --seconds {args.seconds:g} "
                 f"--closed-seconds {args.closed_seconds:g} --rates {args.rates} --write` "
                 "(part of `make bench`).", "",
                 "gunicorn 23 started from the Procfile's web line (3 sync workers, access log on) for both the router and "
                 "`bench/bare_app.py` (fixed TwiML, no signature check, no database), both up "
                 "throughout and measured in alternating rounds. Router: PostgreSQL 15 schema of "
                 "its own on loopback, fake Twilio REST on loopback (BENCH_TWILIO_DELAY a send), "
                 "`HOTLINE_SEND_RATE=0`, one `hotline sender` process beside gunicorn. Every "
                 "voice request has a new CallSid (creates a Call row); every text comes from a "
                 "new fictional number (opens a conversation and stages one notice to the "
                 "on-call peer, which the sender sends after the answer). Open and live rows are deleted between phases. "
                 "Latency is from each request's scheduled send time (open loop) to the end of "
                 "its response; gunicorn's sync workers close the connection after each "
                 "request, so every request includes a TCP connect. \"not OK\" counts answers "
                 "that were not 200 with a `<Dial>` (voice) or a `<Message>` auto-reply (sms).", ""]
        caveat = ["", "No webhook waits for the REST API: texts are staged and sent by the "
                  "sender process, so the fake's delay shows in the notice delay, not in the "
                  "webhook latency."]
        print("wrote", c.write_section(HEADING, intro + lines + caveat))


if __name__ == "__main__":
    main()
