"""Fault benchmark: fuzzed webhook bodies, signed and forged, through every Twilio endpoint.

    .venv/bin/python bench/fuzz.py [--cases 12000] [--write]

In-process with Flask's test client (the HTTP layer adds nothing to this question),
SQLite in a temp dir, texts sent into hotline.testing.fake_rest. Hypothesis generates
forms mixing plausible and arbitrary values (peer commands from peers' phones, urgent
words, 1,600-character bodies, control characters, junk SIDs and statuses). A correctly
signed request must get 200 and XML whose root is <Response>; a forged one must get 403.
Every case is counted; failures are listed, not shrunk (the count is the point).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import common as c

sys.path.insert(0, str(c.ROOT))
from hotline.app import create_app  # noqa: E402
from hotline.testing.fake_rest import FakeRest  # noqa: E402

HEADING = "## Fault: fuzzed webhooks (bench/fuzz.py)"
BASE = "http://localhost"
ENDPOINTS = ["/voice/incoming", "/voice/menu", "/voice/next?attempt=0", "/voice/next?attempt=x",
             "/voice/whisper?call=CA1&attempt=0&person=alice", "/voice/screen?call=CA1&attempt=1&person=bob",
             "/voice/screen", "/voice/status", "/voice/emergency-done", "/voice/bridge?conv=1&peer=alice",
             "/sms/incoming", "/sms/incoming", "/sms/incoming", "/sms/status"]
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
numbers = st.sampled_from([*c.PEERS.values(), c.DIRECTOR, c.PROGRAM, *c.TEXTERS[:20], "anonymous",
                           "+1 (262) 555-0101", "2625550102", "", "+", "+999"])
words = st.sampled_from(["YES", "yes #1", "Y", "PASS", "PASS #2", "DONE", "DONE #1", "CALL", "CALL #1",
                         "REVEAL #1", "HELP", "STOP", "START", "NEW PEER", "#1 hello", "#999 hi",
                         "I have a gun", "goodbye", "rough night", "YES #0", "yes #-1", "#1"])
form = st.fixed_dictionaries({}, optional={
    "CallSid": st.one_of(st.just("CA1"), st.just("CA2"), junk),
    "MessageSid": st.one_of(st.sampled_from([f"SM{i}" for i in range(30)]), junk),
    "AccountSid": st.just(c.ACCOUNT), "From": st.one_of(numbers, junk), "To": st.just(c.PROGRAM),
    "Body": st.one_of(words, junk, st.text(max_size=1600), words.map(lambda w: w + "\x00\u202e")),
    "Digits": st.one_of(st.sampled_from(["1", "2", "3", "", "#", "11"]), junk),
    "CallStatus": st.sampled_from(["ringing", "in-progress", "completed", "busy", "canceled", "x"]),
    "DialCallStatus": st.sampled_from(["completed", "busy", "no-answer", "failed", "canceled", ""]),
    "DialCallDuration": st.one_of(st.sampled_from(["0", "30", "-5", "1e9"]), junk),
    "ParentCallSid": st.one_of(st.just("CA1"), junk),
    "MessageStatus": st.one_of(st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed"]), junk),
    "ErrorCode": st.one_of(st.sampled_from(["30003", "30005", "21610"]), junk),
    "NumMedia": st.sampled_from(["0", "1", "x"]),
})


FULL_RUN = 10_000  # cases: the target of docs/benchmarks.md, met by `make bench` (12,000)


def judge(cases: int, total: int, five: int, bad: int) -> list[list[str]]:
    """The target rows. A run asked for fewer cases than the full target (`make bench-quick`
    asks for 1,000) is judged on running all it asked for, not on the full run's size."""
    target = min(cases, FULL_RUN)
    return [[f">= {target:,} cases", f"{total:,}", c.verdict(total >= target)],
            ["no 5xx", f"{five}", c.verdict(five == 0)],
            ["signed: 200 + <Response>; forged: 403", f"{bad} not as expected", c.verdict(bad == 0)]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=12000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-fuzz-"))
    (tmp / "rotation.yaml").write_text(c.rotation_yaml())
    app = create_app({"HOTLINE_CONFIG": str(tmp / "rotation.yaml"),
                      "DATABASE_URL": f"sqlite:///{tmp / 'fuzz.sqlite'}",
                      "TWILIO_AUTH_TOKENS": [c.TOKEN], "HOTLINE_SECRET_KEY": c.SECRET,
                      "TWILIO_HTTP_CLIENT": FakeRest(), "TWILIO_ACCOUNT_SID": c.ACCOUNT,
                      "HOTLINE_SEND_RATE": 0, "HOTLINE_INSECURE_DEV": False,
                      "HOTLINE_PUBLIC_URL": None}, instance_path=str(tmp / "instance"))
    client = app.test_client()
    outcomes: Counter = Counter()
    failures: list = []

    @settings(max_examples=args.cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(endpoint=st.sampled_from(ENDPOINTS), data=form, forged=st.integers(0, 3),
           bad_sig=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                           max_size=40))
    def case(endpoint, data, forged, bad_sig):
        forged = forged == 0  # some forged; most of the interest is past the signature
        _, _, headers = c.signed(BASE, endpoint, data)
        if forged:
            headers = {"X-Twilio-Signature": bad_sig} if bad_sig else {}
        resp = client.post(endpoint, data=data, headers=headers)
        kind = "forged" if forged else "signed"
        try:
            root = ET.fromstring(resp.get_data()).tag if resp.status_code == 200 else None
        except ET.ParseError:
            root = "unparseable"
        ok = (resp.status_code == 403) if forged else (resp.status_code == 200 and root == "Response")
        outcomes[(kind, endpoint.split("?")[0].split("/")[1], resp.status_code, ok)] += 1
        if not ok and len(failures) < 10:
            failures.append((kind, endpoint, resp.status_code, dict(data)))

    logging.disable(logging.CRITICAL)  # the router logs every refused signature
    t = time.perf_counter()
    case()
    logging.disable(logging.NOTSET)
    took = time.perf_counter() - t
    app.extensions["hotline.engine"].dispose()
    total = sum(outcomes.values())
    bad = sum(v for k, v in outcomes.items() if not k[3])
    five = sum(v for k, v in outcomes.items() if k[2] >= 500)
    rows = [[k[0], f"/{k[1]}/*", k[2], "yes" if k[3] else "NO", f"{v:,}"] for k, v in sorted(outcomes.items())]
    lines = c.table(["signature", "endpoints", "HTTP status", "as expected", "cases"], rows)
    lines += ["", f"{total:,} cases in {took:.0f} s across {len(set(ENDPOINTS))} endpoints."]
    lines += [""] + c.table(["target", "measured", "result"], judge(args.cases, total, five, bad))
    print("\n".join(lines))
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    if args.write:
        intro = [c.machine().split(";")[0] + ".", "",
                 f"Reproduce: `.venv/bin/python bench/fuzz.py --cases {args.cases} --write` "
                 "(part of `make bench`).", "",
                 "Hypothesis (generate phase only, no example database) drives Flask's test client "
                 "in-process on SQLite with the fake REST client; state builds up across cases (texts "
                 "open conversations, peers' numbers send commands), as it would in production. "
                 "Some cases carry a missing or random signature (counts below).", ""]
        print("wrote", c.write_section(HEADING, intro + lines))


if __name__ == "__main__":
    main()
