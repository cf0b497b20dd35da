"""FakeRest behind a real HTTP port, for processes the test does not own (gunicorn
workers, `hotline clock`, `hotline doctor`): point TWILIO_API_BASE at `url`.

    with RestServer() as server:      # server.rest is the FakeRest that records
        env["TWILIO_API_BASE"] = server.url
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from hotline.testing.fake_rest import FakeRest


class RestServer:
    def __init__(self, rest: FakeRest | None = None, host: str = "127.0.0.1"):
        self.rest = rest or FakeRest()
        rest_ = self.rest

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                url = f"https://api.twilio.com{parts.path}"  # as the twilio library sees it
                data: dict = {}
                for key, value in parse_qsl(body):  # MediaUrl repeats: one per picture
                    if key == "MediaUrl":
                        data.setdefault(key, []).append(value)
                    else:
                        data[key] = value
                resp = rest_.request(self.command, url, params=dict(parse_qsl(parts.query)),
                                     data=data)
                payload = (resp.text or "").encode()
                self.send_response(resp.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args):  # quiet: the test reads rest.sent instead
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-twilio-rest")

    def start(self) -> "RestServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "RestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
