"""Twilio's HTTP client, handing the router's REST requests to the simulator in-process.

With `make run` the router reaches the simulator's API over real HTTP
(TWILIO_API_BASE=http://127.0.0.1:PORT/simulator/api). Tests have no server:
they plug this in as TWILIO_HTTP_CLIENT, so the same requests (same URL, same
form, same Basic auth) reach the same routes through WSGI.
"""
from __future__ import annotations

import base64
from urllib.parse import urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

from hotline.twilio_client import rebase


class InProcessHttpClient(HttpClient):
    def __init__(self, app, base: str = "http://127.0.0.1:5000/simulator/api"):
        super().__init__(logger=None, is_async=False)
        self.app = app
        self.base = base.rstrip("/")

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False) -> Response:
        url = rebase(uri, self.base)
        parts = urlsplit(url)
        sent = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        resp = self.app.test_client().open(parts.path, method=method.upper(),
                                           query_string=params or None, data=data or None,
                                           headers=sent,
                                           base_url=f"{parts.scheme}://{parts.netloc}")
        return Response(resp.status_code, resp.get_data(as_text=True), dict(resp.headers))
