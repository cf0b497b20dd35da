"""The texter's number leaves no trace once a conversation closes, and the
REST base URL can point at a simulator."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from sqlalchemy import text

from hotline.records.retention import delete_at_provider
from hotline.store import Base
from hotline.text import sender
from hotline.text.outbox import Text, send_all
from hotline.twilio_client import RebasingHttpClient
from tests.conftest import ALICE, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

# OFFICER is +12625550142 in every way people write it.
FORMATS = ["+12625550142", "12625550142", "2625550142", "(262) 555-0142", "262-555-0142",
           "262.555.0142", "555-0142", "5550142"]


def _database_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # + -wal, -shm


def test_no_trace_of_the_texter_after_close(phones, app, caplog, database_url):
    caplog.set_level(logging.DEBUG)
    phones.text(OFFICER, "my number is 262-555-0142, call me?")  # even in the body
    phones.text(ALICE, "yes")
    phones.text(OFFICER, "it's (262) 555-0142")
    phones.text(ALICE, "DONE")
    phones.text("+12625550143", "another one")
    phones.tick(25 * 3600)  # idle close for the second
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for fmt in FORMATS:
        assert fmt not in logged, fmt
    if database_url.startswith("sqlite"):
        app.extensions["hotline.engine"].dispose()
        data = _database_bytes(database_url)
        assert data
        for fmt in FORMATS:
            assert fmt.encode() not in data, fmt
    else:  # every row of every table, as PostgreSQL prints it
        with app.extensions["hotline.engine"].connect() as conn:
            rows = [str(r) for table in Base.metadata.sorted_tables
                    for r in conn.execute(text(f"SELECT t::text FROM {table.name} t"))]
        assert rows  # statistics and the audit trail are there
        for fmt in FORMATS:
            assert not [r for r in rows if fmt in r], fmt


class _Twilio(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        _Twilio.seen.append((self.path, self.rfile.read(length).decode()))
        payload = json.dumps({"sid": "SM" + "1" * 32, "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_twilio_api_base_points_the_real_client_at_a_simulator(app, clock):
    _Twilio.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Twilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config.update(TWILIO_ACCOUNT_SID="AC" + "0" * 32,
                          TWILIO_HTTP_CLIENT=RebasingHttpClient(
                              f"http://127.0.0.1:{server.server_port}"))
        refused = send_all(app, "+12625550100", [Text(ALICE, "hello")], clock.now)
        sender.drain(app)  # the sender hands it to Twilio
    finally:
        server.shutdown()
    assert refused == []
    [(path, body)] = _Twilio.seen
    assert path == "/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"
    assert "Body=hello" in body


def test_twilio_deletes_its_copy_of_our_replies_too(phones, app):
    # The welcome and 988 replies go back as TwiML; their records at Twilio hold the
    # texter's number just as the REST sends do.
    replies = phones.text(OFFICER, "I have my pills lined up")
    assert len(replies) == 2 and len(phones.reply_sids) == 2
    phones.tick(11 * 60)  # Twilio's records settle, then the clock's housekeeping runs
    delete_at_provider(app, phones.clock.now)
    assert set(phones.reply_sids) <= set(phones.rest.deleted)


def test_a_concern_report_leaves_no_trace_of_the_colleague_named(phones, app, caplog,
                                                                 database_url):
    caplog.set_level(logging.DEBUG)
    phones.text(OFFICER, "WORRIED")
    phones.text(OFFICER, "It's Sgt Wojciechowski, he has been drinking on shift")
    assert "Wojciechowski" in phones.last(ALICE)  # the peer deciding sees it, relayed
    phones.text(ALICE, "yes")
    phones.text(OFFICER, "Wojciechowski again today")
    phones.text(ALICE, "DONE")
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "Wojciechowski" not in logged
    if database_url.startswith("sqlite"):
        app.extensions["hotline.engine"].dispose()
        assert b"Wojciechowski" not in _database_bytes(database_url)
    else:
        with app.extensions["hotline.engine"].connect() as conn:
            rows = [str(r) for table in Base.metadata.sorted_tables
                    for r in conn.execute(text(f"SELECT t::text FROM {table.name} t"))]
        assert any("concern" in r for r in rows)  # the anonymous count is there
        assert not [r for r in rows if "Wojciechowski" in r]
