"""Operational checks shared by /health and `hotline doctor`: the database (a quick
SELECT 1 with a time limit, and the schema revision) and the clock's heartbeat;
and the Twilio number's webhook settings (doctor and `hotline twilio configure`).
"""
from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select, text

from hotline.ops import migrations
from hotline.twilio_client import client

DB_TIMEOUT = 2.5  # seconds; a platform health check usually gives up after 5
CLOCK_STALE = 30  # seconds without a finished poll before the clock counts as stale


def probe_database(app, timeout: float = DB_TIMEOUT) -> dict:
    """{"ok": bool, "error": str, "detail": str, "heads": tuple, "last_poll_at": datetime}.
    Runs in a thread so a hung connection (or an exhausted pool) cannot hold the
    health check longer than `timeout`."""
    from hotline.store import ClockHeartbeat

    engine = app.extensions["hotline.engine"]
    result: dict = {}

    def probe():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                heads = migrations.current(conn)
                try:
                    last = conn.execute(select(ClockHeartbeat.last_poll_at)
                                        .where(ClockHeartbeat.id == 1)).scalar()
                except Exception:  # noqa: BLE001 - an old schema without the table
                    conn.rollback()
                    last = None
            result.update(ok=True, heads=heads, last_poll_at=last)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            result.update(ok=False, error=type(exc).__name__, detail=str(exc).strip())

    worker = threading.Thread(target=probe, name="hotline-health-db", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return {"ok": False, "error": f"no answer within {timeout:g} s",
                "detail": f"SELECT 1 did not return within {timeout:g} s"}
    return result


def database_section(probe: dict, verbose: bool = False) -> dict:
    if not probe.get("ok"):
        out = {"status": "error", "error": probe.get("error")}
        if verbose:
            out["detail"] = probe.get("detail")
        return out
    heads, need = probe["heads"], migrations.head()
    out = {"status": "ok", "schema": migrations.describe(heads), "schema_needed": need}
    if set(heads) != {need}:
        out["status"] = "schema"
        out["error"] = migrations.out_of_date_message(heads)
    return out


def clock_section(probe: dict, now: datetime) -> dict:
    if not probe.get("ok"):
        return {"status": "unknown"}  # the database is what is wrong
    last = probe.get("last_poll_at")
    if last is None:
        return {"status": "never", "last_poll_at": None, "age_seconds": None}
    age = max(0.0, (now - last).total_seconds())
    return {"status": "stale" if age > CLOCK_STALE else "ok",
            "last_poll_at": last.isoformat(), "age_seconds": round(age, 1)}


# -- the Twilio number's webhooks --------------------------------------------------

def wanted_webhooks(app) -> dict[str, str]:
    """What the program number's settings should say for this deployment."""
    import os

    base = (app.config.get("HOTLINE_PUBLIC_URL") or "").rstrip("/")
    if not base:
        raise RuntimeError("HOTLINE_PUBLIC_URL is not set: it is the address Twilio calls, "
                           "e.g. https://hotline.example.org")
    wanted = {"voice_url": f"{base}/voice/incoming", "voice_method": "POST",
              "status_callback": f"{base}/voice/status", "status_callback_method": "POST",
              "sms_url": f"{base}/sms/incoming", "sms_method": "POST"}
    # Hosted apart from the app (TwiML Bins): Twilio turns to them when the app is down.
    for kind in ("voice", "sms"):
        fallback = os.environ.get(f"HOTLINE_{kind.upper()}_FALLBACK_URL")
        if fallback:
            wanted.update({f"{kind}_fallback_url": fallback, f"{kind}_fallback_method": "POST"})
    return wanted


def find_number(app, number: str):
    # The filter also matches partial numbers: keep the exact one.
    found = [r for r in client(app).incoming_phone_numbers.list(phone_number=number, limit=20)
             if r.phone_number == number]
    if not found:
        raise LookupError(f"the Twilio account {app.config.get('TWILIO_ACCOUNT_SID')} has no "
                          f"number {number} (the program number in the rotation file)")
    return found[0]


def compare_webhooks(app, record) -> list[tuple[str, str | None, str | None, bool]]:
    """[(setting, what Twilio has, what this deployment wants, matches)] for doctor."""
    wanted = wanted_webhooks(app)
    rows = []
    for key in ("voice_url", "voice_method", "voice_fallback_url", "status_callback",
                "sms_url", "sms_method", "sms_fallback_url"):
        have = getattr(record, key, None)
        if key.endswith("_fallback_url") and key not in wanted:
            # No HOTLINE_*_FALLBACK_URL here: any fallback hosted apart from the app is
            # right, one pointing at the app itself is not (it is down when it is needed).
            base = wanted["voice_url"].rsplit("/voice/", 1)[0]
            ok = bool(have) and not have.startswith(base)
            rows.append((key, have, "a URL hosted apart from the app (TwiML Bin)", ok))
            continue
        want = wanted.get(key)
        ok = (have or "").upper() == want.upper() if key.endswith("method") else have == want
        rows.append((key, have, want, ok))
    return rows
