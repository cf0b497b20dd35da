"""Benchmark: a critical-incident burst of 1,000 texts from 1,000 numbers in 10 s.

    .venv/bin/python bench/burst.py [--texts 1000] [--seconds 10] [--rates 10,0] [--write]

Every 10th text says "eat my gun" (an urgent phrase). Run once per HOTLINE_SEND_RATE:
a realistic 10 texts/s (a toll-free or 10DLC number; a US long code is 1/s) holds the
excess in the outbox for the sender to release, urgent first; 0 lets the sender send as
fast as its pool and Twilio go. The webhooks only stage; `hotline sender` sends. Measured: texts lost (no 200 with an auto-reply), texts routed
(a notice to an on-call peer reached the fake REST API), urgent-before-routine order,
and the time until the last notice left.
"""
from __future__ import annotations

import argparse
import tempfile
import sys
import time
from pathlib import Path

import common as c

HEADING = "## Critical-incident burst (bench/burst.py)"


def body(i: int) -> str:
    # The token lets us find each conversation's notice; notices quote the first 90 chars.
    # The urgent one must match a default urgent phrase ("eat my gun"); a bare "gun" no
    # longer does (officers say it every shift).
    return f"bench {i:04d} " + ("I want to eat my gun, cannot do this" if i % 10 == 0
                                else "rough scene tonight, need to talk")


def run(texts: int, seconds: float, send_rate: int, drain_limit: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-burst-"))
    with c.fake_rest(tmp / "rest.log") as (rest_port, rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port, send_rate=send_rate)
        c.prepare_db(db, env)
        clock = c.clock(env, tmp / "clock.log", send=False)
        send = c.sender(env, tmp / "sender.log")
        try:
            with c.gunicorn("hotline.app:create_app()", env, tmp / "router.log") as base:
                reqs = [c.signed(base, "/sms/incoming", c.sms_form(i, c.TEXTERS[i], body(i)))
                        for i in range(texts)]
                t0 = time.time()
                start, results = c.open_loop(base, reqs, texts / seconds)
                sent_by = time.time() - t0
                # Wait, bounded, until every conversation has a peer notice, or nothing
                # has been sent for 20 s (a lost text never will be).
                deadline, quiet, sent = time.monotonic() + drain_limit, 0, []
                while True:
                    before, sent = len(sent), rest.sent()
                    routed = {int(s["Body"].split("bench ")[1][:4]) for s in sent
                              if s["To"] in c.PEERS.values() and "bench " in s.get("Body", "")}
                    quiet = quiet + 1 if len(sent) == before else 0
                    if len(routed) >= texts or time.monotonic() > deadline or quiet >= 20:
                        break
                    time.sleep(1)
        finally:
            clock.stop()
            send.stop()
    return analyse(texts, seconds, t0, sent_by, start, results, sent)


def analyse(texts, seconds, t0, sent_by, start, results, sent) -> dict:
    lat = [(r[1] - r[0]) * 1000 for r in results]
    answered = sum(r[2] == 200 and "<Message" in r[3] for r in results)
    rate = texts / seconds
    # An urgent text's answer carries a second <Message> (911/988 and "our clinician").
    urgent_reply = sum(r[2] == 200 and "our clinician" in r[3] for r in results
                       if round((r[0] - start) * rate) % 10 == 0)
    notices: dict[int, list[float]] = {}
    director = 0
    for s in sent:
        if "bench " not in s.get("Body", ""):
            continue
        i = int(s["Body"].split("bench ")[1][:4])
        if s["To"] in c.PEERS.values():
            notices.setdefault(i, []).append(s["t"])
        elif s["To"] == c.DIRECTOR:
            director += 1
    first = {i: min(ts) for i, ts in notices.items()}
    due = {i: t0 + i / rate for i in range(texts)}  # when the text arrived
    wait = {i: first[i] - due[i] for i in first}
    urgent = [i for i in first if i % 10 == 0]
    routine = [i for i in first if i % 10]
    # Urgent first: a routine text that arrived after an urgent one must not be sent
    # before it. Count such overtakes (pairs) among everything that was held back.
    passed = [(u, r) for u in urgent for r in routine if due[r] > due[u] and first[r] < first[u]]
    overtakes = len(passed)
    # The router can only hold back for an urgent text it has: one whose webhook had
    # answered (so its staged notice had committed) before the routine notice left.
    # A routine text whose webhook finished first, while the urgent one's was still
    # running, is not held behind it; the count above includes those.
    answered_at = {round((r[0] - start) * rate): t0 + (r[1] - start) for r in results}
    held_pairs = [(u, r) for u, r in passed if u in answered_at and answered_at[u] < first[r]]
    for u, r in held_pairs:
        print(f"overtake: urgent {u} answered {1000 * (first[r] - answered_at[u]):.0f} ms "
              f"before routine {r}'s notice left; urgent's notice {1000 * (first[u] - first[r]):.0f} ms "
              f"after it", file=sys.stderr)
    held = len(held_pairs)
    return {
        "answered": answered, "lost": texts - answered, "urgent_info": urgent_reply,
        "routed": len(first), "dupes": sum(len(v) - 1 for v in notices.values()),
        "director": director, "sent_by": sent_by, "overtakes": overtakes, "held": held,
        "drain": max(first.values(), default=t0) - t0,
        "p50": c.percentile(lat, 50), "p99": c.percentile(lat, 99),
        "urgent_wait": (c.percentile([wait[i] for i in urgent], 50), max((wait[i] for i in urgent), default=0)),
        "routine_wait": (c.percentile([wait[i] for i in routine], 50), max((wait[i] for i in routine), default=0)),
        "errors": sorted({str(r[2]) for r in results if r[2] != 200}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rates", default="10,0", help="HOTLINE_SEND_RATE values, one run each")
    ap.add_argument("--drain-limit", type=float, default=300, help="seconds to wait for routing")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    runs = {int(r): run(args.texts, args.seconds, int(r), args.drain_limit)
            for r in args.rates.split(",")}
    n, urgent_n = args.texts, len(range(0, args.texts, 10))
    rows, checks = [], []
    for rate, r in runs.items():
        label = f"{rate}/s" if rate else "0 (unlimited)"
        rows.append([label, f"{r['sent_by']:.1f} s", f"{r['p50']:.0f} / {r['p99']:.0f}",
                     f"{r['answered']}/{n}", f"{r['urgent_info']}/{urgent_n}", f"{r['routed']}/{n}",
                     f"{r['director']}/{urgent_n}", r["dupes"],
                     f"{r['urgent_wait'][0]:.1f} / {r['urgent_wait'][1]:.1f} s",
                     f"{r['routine_wait'][0]:.1f} / {r['routine_wait'][1]:.1f} s",
                     f"{r['overtakes']} ({r['held']})", f"{r['drain']:.1f} s", " ".join(r["errors"])])
        checks += [[f"rate {label}: 0 lost (200 + auto-reply)", f"{r['lost']} lost", c.verdict(r["lost"] == 0)],
                   [f"rate {label}: all routed", f"{r['routed']}/{n}", c.verdict(r["routed"] == n)],
                   # With no limit nothing is held, so order is only which worker ran first.
                   [f"rate {label}: urgent first (no routine overtakes a held urgent)",
                    f"{r['held']} overtakes of an urgent text already answered "
                    f"({r['overtakes']} counting those whose webhook had not finished)",
                    c.verdict(r["held"] == 0) if rate else "n/a: nothing is held"]]
    lines = c.table(["HOTLINE_SEND_RATE", f"{n:,} sent in", "webhook p50 / p99 ms", "auto-replied",
                     "urgent info in reply", "routed to a peer", "director alerts", "duplicate notices",
                     "urgent notice wait p50 / max", "routine wait p50 / max", "overtakes (of answered urgent)",
                     "drain (last notice)", "errors"], rows)
    lines += [""] + c.table(["target", "measured", "result"], checks)
    print("\n".join(lines))
    if args.write:
        intro = [c.machine(), "",
                 f"Reproduce: `.venv/bin/python bench/burst.py --texts {args.texts} --seconds "
                 f"{args.seconds:g} --rates {args.rates} --write` (part of `make bench`).", "",
                 f"{n:,} texts from {n:,} distinct fictional numbers, sent open loop at "
                 f"{n / args.seconds:.0f}/s to gunicorn (3 sync workers) with `hotline clock "
                 "--every 0.5 --no-sender` and `hotline sender` beside it, PostgreSQL 15 schema "
                 "of its own, fake Twilio REST on loopback. Every 10th text contains \"eat my gun\". A text is *routed* when a notice "
                 "quoting it reached an on-call peer through the REST API; its *wait* is from its "
                 "scheduled arrival to that notice. An *overtake* is a routine text that arrived "
                 "after an urgent one yet whose notice left first; in brackets, and judged, "
                 "those where the urgent text's webhook had already answered (the router had "
                 "it) when the routine notice left. *Drain* is from the first "
                 "text to the last notice. The rate limit counts every text the number sends "
                 "(peer notices and director alerts), so at 10/s about 1,100 sends need at least "
                 "110 s.", ""]
        print("wrote", c.write_section(HEADING, intro + lines))


if __name__ == "__main__":
    main()
