"""Diagnostic: CPU instructions per webhook request in the router's own process.

    .venv/bin/python bench/instructions.py [--kind voice|sms|bare] [--requests 1000]

Wall-clock and CPU-time figures on a shared 2-CPU machine swing up to twofold within
the hour, which hides a change worth 10%. valgrind counts the instructions a process
executes, whatever the machine's load. This runs the app in one process, without
gunicorn: signed requests go straight into its WSGI callable, on PostgreSQL (a private
schema) as in bench/webhooks.py. It runs twice under valgrind, once with 1 measured
request and once with 1 + N, after the same start-up and warm-up; the difference over N
is one request's instructions: Flask, the signature, the routing, SQLAlchemy or psycopg,
the TwiML. PostgreSQL's work and the kernel's are not counted. Compare two versions of
the code with it; bench/cpu_share.py says where a request's time goes between processes.
Needs valgrind; prints, writes nothing.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import common as c
import webhooks as w

WARM_UP = 200


def count(kind: str, requests: int, prepared: int) -> int:
    """Instructions of start-up, warm-up and `requests` requests, under valgrind."""
    args = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, "--kind", kind, "--inner", str(requests),
            "--prepared", str(prepared)]
    out = subprocess.run(args, capture_output=True, text=True, cwd=Path(__file__).parent)
    found = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if out.returncode != 0 or not found:
        sys.exit(f"the run under valgrind failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return int(found.group(1))


def inner(kind: str, requests: int, prepared: int) -> None:
    """In the process valgrind watches: the app, its warm-up, then the measured requests.
    Both runs sign and build `prepared` requests, so only the app's work differs."""
    tmp = Path(tempfile.mkdtemp(prefix="hotline-instructions-"))
    base = "http://127.0.0.1:8000"
    with c.fake_rest(tmp / "rest.log") as (rest_port, _rest), c.pg_schema() as db:
        env = c.app_env(tmp, db, rest_port, HOTLINE_PUBLIC_URL=base)
        c.prepare_db(db, env)
        os.environ.clear()  # the app reads its settings from these alone
        os.environ.update(env)
        sys.path.insert(0, str(c.ROOT))
        if kind == "bare":
            from bare_app import app
        else:
            from hotline.app import create_app
            app = create_app()
        make = w.sms_reqs if kind == "sms" else w.voice_reqs
        environs = [_environ(r) for r in make(base, WARM_UP + prepared)]
        for environ in environs[:WARM_UP + requests]:
            body = app(environ, lambda *_: None)
            b"".join(body)
            getattr(body, "close", lambda: None)()


def _environ(req) -> dict:
    path, form, headers = req
    body = urlencode(form).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_TWILIO_SIGNATURE": headers["X-Twilio-Signature"],
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=("voice", "sms", "bare"), default="voice")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--prepared", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner is not None:
        return inner(args.kind, args.inner, args.prepared)
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: one per CPU
        one, many = pool.map(lambda n: count(args.kind, n, 1 + args.requests),
                             (1, 1 + args.requests))
    per = (many - one) / args.requests
    what = {"voice": "new calls", "sms": "new texts", "bare": "bare requests"}[args.kind]
    print(f"{per / 1e6:.3f} million instructions per request ({what}; {args.requests} "
          f"measured after {WARM_UP} to warm up)")


if __name__ == "__main__":
    main()
