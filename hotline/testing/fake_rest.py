"""Twilio's REST API as the twilio library sees it, for tests.

Plugged in as the `http_client` of `twilio.rest.Client`, so the router's real
sending code runs unchanged down to the HTTP request. It records every
Messages.json POST, answers with the JSON Twilio returns (sid "SM..."), and
can fail the next N requests with a 500, refuse the next sends with a given error
code, or refuse opted-out recipients (21610). It lists the texts it took, newest
first, for a Messages.json GET without a date bound (the sender asking whether a text
went before its sender was killed), and can "kill" the sender before or after a send
reaches it (crash_next, crash_after_next).
"""
from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from twilio.http import HttpClient
from twilio.http.response import Response


class ProcessKilled(BaseException):
    """Raised into the router where a send was in flight: the process died there.
    A BaseException, so no `except Exception` in the router can swallow it."""


@dataclass
class Placed:
    """An outbound call the router asked Twilio to place."""

    to: str
    from_: str
    url: str
    sid: str
    status_callback: str | None = None
    timeout: int = 60  # seconds it rings before no-answer (Twilio's default: 60)


@dataclass
class Sent:
    to: str
    from_: str
    body: str
    sid: str | None  # None for a TwiML <Message> reply (recorded by the test harness)
    status_callback: str | None = None
    media: tuple[str, ...] = ()  # MediaUrl of an MMS: a texter's picture relayed
    at: datetime | None = None  # date_created, by the fake's clock


class FakeRest(HttpClient):
    def __init__(self, clock=None):
        """`clock`: what time "Twilio" stamps on the texts it takes (a callable returning
        an aware datetime; default the real time), as a test's fake clock reads."""
        super().__init__(logger=None, is_async=False)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.sent: list[Sent] = []  # every text that left the program number, in order
        self.calls: list[Placed] = []  # every call the router placed
        # calls(sid).update(...): (CallSid, the form posted: Status=completed, Url=...)
        self.call_updates: list[tuple[str, dict]] = []
        # conferences(CF).participants(CA).update(...): (ConferenceSid, CallSid, form)
        self.participant_updates: list[tuple[str, str, dict]] = []
        self.deleted: list[str] = []  # SIDs of Calls/Messages/Recordings deleted at "Twilio"
        self.numbers: dict[str, dict] = {}  # the account's phone numbers, by PN sid
        self.number_updates: list[tuple[str, dict]] = []  # (PN sid, settings posted)
        self._fail_deletes = 0
        self.requests: list[tuple[str, str]] = []  # (method, url)
        self.opted_out: set[str] = set()
        self._fail = 0
        self._crash = 0
        self._crash_after = 0
        self._time_out_after = 0
        self._refuse: list[int] = []  # error codes for the next sends, refused with a 400
        # Apart from FakeTwilio's SIDs (which also count from 1): an inbound text and an
        # outbound notice must never share a MessageSid, as they never do at Twilio.
        self._sids = itertools.count(1 << 64)
        self._lock = threading.Lock()
        # Records "Twilio" keeps that the router never saw (texts and calls made while
        # its database was down): the provider sweep lists and deletes these.
        self.kept: list[dict] = []

    def fail_deletes(self, n: int = 1) -> None:
        """The next `n` DELETE requests get a 500 (sends are unaffected)."""
        self._fail_deletes = n

    def fail_next(self, n: int = 1) -> None:
        """The next `n` requests get a 500, as during a Twilio incident."""
        self._fail = n

    def refuse_next(self, code: int, n: int = 1) -> None:
        """The next `n` sends are refused with a 400 and this error code (21617 too
        long, 21211 an invalid 'To', ...), as Twilio refuses a text for good."""
        self._refuse.extend([code] * n)

    def crash_next(self, n: int = 1) -> None:
        """The next `n` sends never reach Twilio: the sending process is killed (-9)
        while the request is in flight."""
        self._crash = n

    def crash_after_next(self, n: int = 1) -> None:
        """The next `n` sends reach Twilio, which takes them, and then the sending process
        is killed (-9) before it hears the answer."""
        self._crash_after = n

    def time_out_after_next(self, n: int = 1) -> None:
        """The next `n` sends reach Twilio, which takes them, but the answer comes after
        the router's REST timeout: the router sees a timeout."""
        self._time_out_after = n

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False) -> Response:
        with self._lock:
            self.requests.append((method.upper(), uri))
            if method.upper() == "DELETE":
                return self._delete(uri)
            if "/IncomingPhoneNumbers" in uri:  # hotline doctor / twilio configure
                return self._numbers(method.upper(), uri, params or {}, data or {})
            if method.upper() == "GET" and uri.split("?")[0].endswith(("/Messages.json",
                                                                       "/Calls.json")):
                return self._list(uri, params or {})
            if method.upper() == "POST" and uri.endswith("/Calls.json") and not self._fail:
                sid = f"CA{next(self._sids):032x}"
                self.calls.append(Placed(data["To"], data["From"], data["Url"], sid,
                                         data.get("StatusCallback"),
                                         int(data.get("Timeout") or 60)))
                return _json(201, {"sid": sid, "to": data["To"], "from": data["From"],
                                   "status": "queued", "direction": "outbound-api",
                                   "account_sid": uri.split("/Accounts/")[1].split("/")[0]})
            path = uri.split("?")[0]
            if method.upper() == "POST" and "/Calls/" in path and not self._fail:
                sid = path.rsplit("/", 1)[-1].removesuffix(".json")
                self.call_updates.append((sid, dict(data or {})))
                return _json(200, {"sid": sid, "status": (data or {}).get("Status", "in-progress"),
                                   "account_sid": uri.split("/Accounts/")[1].split("/")[0]})
            if method.upper() == "POST" and "/Participants/" in path and not self._fail:
                conference = path.split("/Conferences/")[1].split("/")[0]
                call = path.rsplit("/", 1)[-1].removesuffix(".json")
                self.participant_updates.append((conference, call, dict(data or {})))
                return _json(200, {"call_sid": call, "conference_sid": conference,
                                   "coaching": (data or {}).get("Coaching") == "true",
                                   "account_sid": uri.split("/Accounts/")[1].split("/")[0]})
            if not (method.upper() == "POST" and uri.split("?")[0].endswith(("/Messages.json",
                                                                             "/Calls.json"))):
                return _json(404, {"code": 20404, "message": "not in the fake", "status": 404})
            if self._crash:
                self._crash -= 1
                raise ProcessKilled("killed while sending")
            if self._fail:
                self._fail -= 1
                return _json(500, {"code": 20500, "message": "Internal Server Error",
                                   "more_info": "https://www.twilio.com/docs/errors/20500",
                                   "status": 500})
            if self._refuse:
                return _json(400, {"code": self._refuse.pop(0), "message": "refused",
                                   "status": 400})
            to, from_, body = data["To"], data["From"], data["Body"]
            if len(body) > 1600:  # as Twilio: refused, not truncated
                return _json(400, {"code": 21617,
                                   "message": "The concatenated message body exceeds the "
                                              "1600 character limit", "status": 400})
            if to in self.opted_out:
                return _json(400, {"code": 21610,
                                   "message": "Attempt to send to unsubscribed recipient",
                                   "more_info": "https://www.twilio.com/docs/errors/21610",
                                   "status": 400})
            media = data.get("MediaUrl") or ()
            media = (media,) if isinstance(media, str) else tuple(media)
            if len(media) > 10:  # as Twilio: at most ten pictures a message
                return _json(400, {"code": 21623, "message": "Too many media", "status": 400})
            sid = f"{'MM' if media else 'SM'}{next(self._sids):032x}"
            at = self.clock().astimezone(timezone.utc)
            self.sent.append(Sent(to, from_, body, sid, data.get("StatusCallback"), media, at))
            if self._crash_after:
                self._crash_after -= 1
                raise ProcessKilled("killed after Twilio took the text")
            if self._time_out_after:
                self._time_out_after -= 1
                import requests
                raise requests.Timeout("read timed out")
            account = uri.split("/Accounts/")[1].split("/")[0]
            stamp = at.strftime("%a, %d %b %Y %H:%M:%S +0000")
            return _json(201, {
                "account_sid": account, "api_version": "2010-04-01", "body": body,
                "date_created": stamp, "date_sent": None, "date_updated": stamp,
                "direction": "outbound-api", "error_code": None, "error_message": None,
                "from": from_, "messaging_service_sid": None, "num_media": str(len(media)),
                "num_segments": str(1 + len(body) // 153), "price": None, "price_unit": "USD",
                "sid": sid, "status": "queued", "subresource_uris": {},
                "to": to, "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"})

    def _delete(self, uri: str) -> Response:
        if self._fail_deletes:
            self._fail_deletes -= 1
            return _json(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        sid = uri.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
        if sid in self.deleted:
            return _json(404, {"code": 20404, "message": "not found", "status": 404})
        self.deleted.append(sid)
        return Response(204, "", {})

    def keep(self, kind: str, to: str, from_: str, at: datetime) -> str:
        """A Message ("message") or Call ("call") record Twilio holds; returns its SID."""
        sid = f"{'SM' if kind == 'message' else 'CA'}{next(self._sids):032x}"
        self.kept.append({"kind": kind, "sid": sid, "to": to, "from": from_,
                          "at": at.astimezone(timezone.utc)})
        return sid

    def _list(self, uri: str, params: dict) -> Response:
        """Messages.json / Calls.json GET with To, From and DateSent< / StartTime<."""
        path = uri.split("?")[0]
        kind, key = (("message", "messages") if path.endswith("/Messages.json")
                     else ("call", "calls"))
        before = params.get("DateSent<") or params.get("StartTime<")
        bound = datetime.fromisoformat(before.replace("Z", "+00:00")) if before else None
        account = uri.split("/Accounts/")[1].split("/")[0]
        found = [{"sid": r["sid"], "to": r["to"], "from": r["from"], "account_sid": account,
                  "status": "delivered" if kind == "message" else "completed"}
                 for r in self.kept
                 if r["kind"] == kind and r["sid"] not in self.deleted
                 and params.get("To", r["to"]) == r["to"]
                 and params.get("From", r["from"]) == r["from"]
                 and (bound is None or r["at"] < bound)]
        if kind == "message" and bound is None:  # the sender's check: the texts it sent
            found += [{"sid": m.sid, "to": m.to, "from": m.from_, "body": m.body,
                       "account_sid": account, "status": "queued", "direction": "outbound-api",
                       "date_created": m.at.strftime("%a, %d %b %Y %H:%M:%S +0000")}
                      for m in reversed(self.sent) if m.sid and m.at is not None
                      and params.get("To", m.to) == m.to
                      and params.get("From", m.from_) == m.from_]
        return _json(200, {key: found, "page": 0, "page_size": 50, "start": 0,
                           "end": max(0, len(found) - 1), "first_page_uri": path,
                           "next_page_uri": None, "previous_page_uri": None, "uri": path})

    # -- the account's phone numbers (IncomingPhoneNumbers) ------------------------------

    def add_number(self, phone_number: str, **settings) -> str:
        """A number the fake account owns; `settings` in Twilio's snake_case (voice_url=...)."""
        sid = f"PN{len(self.numbers) + 1:032x}"
        self.numbers[sid] = {"sid": sid, "phone_number": phone_number,
                             "friendly_name": phone_number, "voice_method": "POST",
                             "sms_method": "POST", "status_callback_method": "POST",
                             "voice_fallback_method": "POST", "sms_fallback_method": "POST",
                             **settings}
        return sid

    def _numbers(self, method: str, uri: str, params: dict, data: dict) -> Response:
        import re

        numbers = self.numbers
        account = uri.split("/Accounts/")[1].split("/")[0]
        path = uri.split("?")[0]
        if method == "GET" and path.endswith("/IncomingPhoneNumbers.json"):
            wanted = params.get("PhoneNumber")
            found = [dict(n, account_sid=account) for n in numbers.values()
                     if not wanted or n["phone_number"] == wanted]
            return _json(200, {"incoming_phone_numbers": found, "page": 0, "page_size": 50,
                               "start": 0, "end": max(0, len(found) - 1),
                               "first_page_uri": path, "next_page_uri": None,
                               "previous_page_uri": None, "uri": path})
        sid = path.rsplit("/", 1)[-1].removesuffix(".json")
        if method == "POST" and sid in numbers:
            # VoiceUrl -> voice_url, StatusCallbackMethod -> status_callback_method
            update = {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): v for k, v in data.items()}
            numbers[sid].update(update)
            self.number_updates.append((sid, update))
            return _json(200, dict(numbers[sid], account_sid=account))
        return _json(404, {"code": 20404, "message": "not in the fake", "status": 404})

    def inbox(self, number: str) -> list[str]:
        return [s.body for s in self.sent if s.to == number]


def _json(status: int, payload: dict) -> Response:
    return Response(status, json.dumps(payload), {"Content-Type": "application/json"})
