"""The coordinator dashboard: /dashboard, behind a login.

Server-rendered pages for people who want to look rather than read logs:
Now (who is on call, open contacts as anonymous cards), Schedule (the next
14 days, overrides and gaps, the rotation file's health) and Statistics
(the annual-report figures and chart for any period).

Security, all local to this blueprint so the Twilio webhooks (which carry no
cookie and are checked by signature) are untouched:
- a login per person (accounts.py), a signed Flask session cookie that is
  HttpOnly, SameSite=Lax and Secure when HOTLINE_PUBLIC_URL is https;
- a per-session CSRF token required on every POST of the dashboard;
- sign-out after HOTLINE_DASHBOARD_IDLE_MINUTES without activity (the Now
  page's own auto-refresh does not count as activity);
- no page ever shows a phone number or a message; as a last net, any number
  from the rotation file that somehow reached a page is masked and logged.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import secrets
import threading
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from flask import (Blueprint, Response, abort, current_app, g, redirect, render_template,
                   request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hotline.availability import state as availability
from hotline.records import periods, stats
from hotline.rotation.availability import when
from hotline.rotation.model import CLINICAL_DIRECTOR, Config
from hotline.rotation.source import Loaded, NoRotation
from hotline.rotation.gaps import coverage_gaps
from hotline.schedule import localize
from hotline.store import StatEvent
from hotline.dashboard.accounts import LoginThrottle, User, parse_users, verify
from hotline.dashboard import sessions as dashboard_sessions
from hotline.dashboard.contacts import open_contacts
from hotline.dashboard.unacknowledged import unacknowledged

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard",
               template_folder="templates", static_folder="static")

SCHEDULE_DAYS = 14
COVERAGE_WEEKS = 8  # how far ahead holes are looked for, as `hotline check` does
_WHEN = "%a %d %b %H:%M"
_chart_lock = threading.Lock()  # matplotlib's pyplot is not thread-safe
_mask = "[number]"


# -- set-up ------------------------------------------------------------------------

@bp.record_once
def _setup(state) -> None:
    app = state.app
    if not app.secret_key:
        from hotline.crypto import instance_secret
        secret = app.config.get("HOTLINE_SECRET_KEY") or instance_secret(Path(app.instance_path))
        # Its own key, derived from the one secret, so the session signature and the
        # text line's encryption keys never share key material.
        app.secret_key = hmac.new(secret.encode(), b"hotline-dashboard-session",
                                  hashlib.sha256).hexdigest()
    app.session_interface = _CookieSessions()
    public = (app.config.get("HOTLINE_PUBLIC_URL") or "").lower()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = public.startswith("https://")
    app.config.setdefault("HOTLINE_DASHBOARD_USERS", "")
    app.config.setdefault("HOTLINE_DASHBOARD_IDLE_MINUTES", 30.0)
    app.config.setdefault("HOTLINE_DASHBOARD_MAX_HOURS", 12.0)
    app.extensions["hotline.dashboard.throttle"] = LoginThrottle(
        app.extensions["hotline.sessions"], app.secret_key.encode())
    app.extensions["hotline.dashboard.users"] = (None, {})


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a request without the cookie (every Twilio
    webhook) gets its empty session without building the cookie's signer: that cost a
    fortieth of a call's answer."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def _users() -> dict[str, User]:
    """Parsed once per distinct setting, so tests and reloads can change it."""
    text = current_app.config.get("HOTLINE_DASHBOARD_USERS") or ""
    cached_text, users = current_app.extensions["hotline.dashboard.users"]
    if cached_text != text:
        users = parse_users(text)
        if not users:
            log.warning("no dashboard accounts are configured (HOTLINE_DASHBOARD_USERS)")
        current_app.extensions["hotline.dashboard.users"] = (text, users)
    return users


def _now() -> datetime:
    return current_app.config["HOTLINE_CLOCK"]()


def _idle_limit() -> timedelta:
    return timedelta(minutes=float(current_app.config["HOTLINE_DASHBOARD_IDLE_MINUTES"]))


def _lifetime() -> timedelta:
    """However active, a session ends this long after sign-in."""
    return timedelta(hours=float(current_app.config["HOTLINE_DASHBOARD_MAX_HOURS"]))


def _db():
    return current_app.extensions["hotline.sessions"]


# -- CSRF, login, idle time-out -----------------------------------------------------

def csrf_token() -> str:
    token = session.get("dash_csrf")
    if not token:
        token = session["dash_csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("dash_csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        log.warning("refused a dashboard POST to %s without a valid CSRF token", request.path)
        abort(400, description="This form has expired. Go back, reload the page and try again.")


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the dashboard: never an open redirect."""
    if not target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # CR/LF (or any control character) would split the Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard/") \
            or target.startswith("//") or "\\" in target:
        return None
    return target


def _to_login(**args):
    nxt = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for(".login", next=_safe_next(nxt), **args))


@bp.before_request
def _guard():
    if request.endpoint == "dashboard.static":
        return None
    if request.method == "POST":
        _check_csrf()
    if request.endpoint == "dashboard.login":
        return None
    try:
        # The page refreshing itself (auto=1) is not the person: it keeps no session alive.
        name, expired = dashboard_sessions.current(
            _db(), session.get("dash_sid"), _now(), _idle_limit(), _lifetime(),
            touch=not request.args.get("auto"))
    except SQLAlchemyError:
        log.exception("dashboard sessions cannot be read")
        abort(503, description="The database cannot be read right now; try again in a minute.")
    user = _users().get(name) if name else None
    if user is None:  # never signed in, signed out, timed out, or the account was removed
        session.clear()
        return _to_login(**({"expired": 1} if expired else {}))
    g.dashboard_user = user
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
    if response.mimetype == "text/html" and not response.direct_passthrough:
        _mask_numbers(response)
    return response


def _mask_numbers(response: Response) -> None:
    """The last net under "never a phone number": the pages are built from names only,
    but should a number from the rotation file ever reach one, it is masked here."""
    loaded = current_app.extensions["hotline.rotation"].last_loaded
    if loaded is None:
        return
    body = response.get_data(as_text=True)
    masked = body
    for pattern in _number_patterns(loaded.config):
        masked = pattern.sub(_mask, masked)
    if masked != body:
        log.error("a phone number reached dashboard page %s and was masked; please report this",
                  request.path)
        response.set_data(masked)


_pattern_cache: dict[int, list[re.Pattern]] = {}


def _number_patterns(config: Config) -> list[re.Pattern]:
    key = id(config)
    if key not in _pattern_cache:
        numbers = {config.program.number, config.clinical_director.phone,
                   *(p.phone for p in config.peers.values())}
        patterns = []
        for e164 in numbers:
            try:
                national = str(phonenumbers.parse(e164).national_number)
            except phonenumbers.NumberParseException:
                national = re.sub(r"\D", "", e164)
            if len(national) >= 6:  # short codes like 988 are not personal numbers
                patterns.append(re.compile(r"[\s().\-]*".join(map(re.escape, national))))
        _pattern_cache.clear()  # only the current rotation's numbers matter
        _pattern_cache[key] = patterns
    return _pattern_cache[key]


@bp.context_processor
def _template_globals():
    source = current_app.extensions["hotline.rotation"]
    return {"csrf_token": csrf_token, "user": g.get("dashboard_user"),
            "rotation_status": source.status,
            "program_name": source.last_loaded.config.program.name if source.last_loaded else None}


@bp.route("/login", methods=["GET", "POST"])
def login():
    users = _users()
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        name, _ = dashboard_sessions.current(_db(), session.get("dash_sid"), _now(),
                                             _idle_limit(), _lifetime(), touch=False)
        if name in users:
            return redirect(nxt or url_for(".now"))
        return render_template("dashboard/login.html", error=None, next=nxt,
                               expired=bool(request.args.get("expired")), no_accounts=not users)
    name = request.form.get("username", "")[:100]
    password = request.form.get("password", "")[:1024]
    now = _now()
    throttle: LoginThrottle = current_app.extensions["hotline.dashboard.throttle"]
    address = request.remote_addr
    if throttle.locked(name, address, now):
        # Not even a right password gets in until the lock ends. The name is not logged:
        # people type passwords into the name field.
        log.warning("dashboard login refused: too many failures for that name")
        minutes = int(throttle.lockout.total_seconds() // 60)
        return render_template("dashboard/login.html", next=nxt, expired=False,
                               no_accounts=not users,
                               error=f"Too many failed attempts. Wait {minutes} minutes and "
                                     "try again."), 429
    user = verify(users, name, password)
    if user is None:
        throttle.failed(name, address, now)
        log.warning("dashboard login refused: wrong name or password")
        return render_template("dashboard/login.html", next=nxt, expired=False,
                               no_accounts=not users, error="Wrong name or password."), 401
    throttle.succeeded(name)
    dashboard_sessions.end(_db(), session.get("dash_sid"))
    session.clear()  # a fresh session (and CSRF token) for the signed-in person
    session["dash_sid"] = dashboard_sessions.start(_db(), user.name, now)
    csrf_token()
    log.info("dashboard login: %s (%s)", user.name, user.role)
    return redirect(nxt or url_for(".now"))


@bp.post("/logout")
def logout():
    dashboard_sessions.end(_db(), session.get("dash_sid"))  # revoked, not just forgotten
    session.clear()
    return redirect(url_for(".login"))


# -- pages ---------------------------------------------------------------------------

def _rotation() -> tuple[Loaded | None, str | None]:
    try:
        return current_app.extensions["hotline.rotation"].current(), None
    except NoRotation:
        return None, ("No valid rotation file could be read, and there is no last good copy. "
                      "See the Schedule page for the problems.")


def _local(dt: datetime | None, tz, fmt: str = _WHEN) -> str:
    return dt.astimezone(tz).strftime(fmt) if dt else "-"


def _notify_label(config: Config, name: str) -> str:
    if name in config.rotations:
        return name
    if name == CLINICAL_DIRECTOR:
        return "clinical director"
    person = config.peers.get(name)
    return person.name if person else name


def _duration(td: timedelta) -> str:
    seconds = int(td.total_seconds())
    if seconds % 60 or seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def _away(at: datetime) -> dict:
    """Peers stepped out by text (OFF, BUSY), or nothing when the database is down: the
    rotation pages still show the file's own coverage then."""
    try:
        with current_app.extensions["hotline.sessions"]() as db:
            return availability.away(db, at)
    except SQLAlchemyError:
        log.exception("dashboard could not read who has stepped out")
        return {}


def _stepped_out(away: dict, pid: str, tz, at: datetime) -> str:
    if pid not in away:
        return ""
    return "stepped out until " + ("ON" if away[pid] is None else when(away[pid], tz, at))


@bp.get("/")
def index():
    return redirect(url_for(".now"))


@bp.get("/now")
def now():
    loaded, problem = _rotation()
    at = _now()
    tz = loaded.config.program.timezone if loaded else timezone.utc
    steps = []
    away = _away(at)
    if loaded:
        config = loaded.config
        for plan in loaded.schedule.plan(at):
            steps.append({
                "number": plan.number,
                "notify": " + ".join(_notify_label(config, n) for n in plan.step.notify),
                "ring": _duration(plan.step.ring), "wait": _duration(plan.step.wait),
                "reach": [{"name": r.person.name, "override": r.override,
                           "via": "" if r.via in ("peer", CLINICAL_DIRECTOR) else r.via,
                           "away": _stepped_out(away, r.person.id, tz, at)}
                          for r in plan.reach],
                "already": [p.name for p in plan.already_tried]})
    # Whom an urgent page reaches now, in order: coordinators check it like the steps.
    clinical = ([p.name for p in loaded.schedule.clinical_chain(at)], loaded.config.clinical.title) \
        if loaded else None
    db_error = None
    try:
        cards = open_contacts(current_app.extensions["hotline.sessions"],
                              loaded.config if loaded else None, at, current_app.secret_key)
        paged = unacknowledged(current_app.extensions["hotline.sessions"],
                               loaded.config if loaded else None, at)
    except SQLAlchemyError:
        log.exception("dashboard could not read open contacts")
        cards, paged, db_error = [], [], ("The database cannot be read right now, so open contacts "
                               "are not shown. Calls still route to the clinical director.")
    return render_template("dashboard/now.html", steps=steps, cards=cards, problem=problem,
                           paged=paged, clinical=clinical,
                           db_error=db_error, at=_local(at, tz, "%A %d %B %Y, %H:%M"),
                           tz=getattr(tz, "key", "UTC"),
                           fallback=loaded.config.escalation.fallback if loaded else None,
                           repeat=loaded.config.escalation.repeat if loaded else 0)


@bp.get("/schedule")
def schedule():
    loaded, problem = _rotation()
    source = current_app.extensions["hotline.rotation"]
    status = source.status
    last = source.last_loaded
    tz = last.config.program.timezone if last else timezone.utc
    rotations, gaps, start, end = [], [], None, None
    if loaded:
        config, sched = loaded.config, loaded.schedule
        today = _now().astimezone(tz).date()
        start = localize(datetime.combine(today, time()), tz)
        end = localize(datetime.combine(today + timedelta(days=SCHEDULE_DAYS), time()), tz)
        for name, rot in config.rotations.items():
            rows = []
            for seg in sched.segments(name, start, end):
                o = seg.override
                rows.append({
                    "start": _local(seg.start, tz), "end": _local(seg.end, tz),
                    "length": _span(seg.end - seg.start),
                    "who": config.peers[seg.peer].name if seg.peer else None,
                    "designed": seg.peer is None and sched.off_by_design(name, seg.start),
                    "override": o is not None,
                    "override_line": o.line if o else None,
                    "replaces": (config.peers[o.replaces].name
                                 if o and o.replaces in config.peers else None)})
            window = ""
            if rot.active:
                days = ", ".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d]
                                 for d in sorted(rot.active.days))
                window = f"active {days} {rot.active.start:%H:%M}-{rot.active.end:%H:%M}"
            rotations.append({"name": name, "rows": rows, "shift": _span(rot.shift),
                              "peers": [config.peers[p].name for p in rot.peers],
                              "window": window})
        horizon = localize(datetime.combine(today + timedelta(weeks=COVERAGE_WEEKS), time()), tz)
        gaps = [{"start": _local(g.start, tz), "end": _local(g.end, tz), "step": g.step,
                 "length": _span(g.end - g.start), "designed": g.designed, "detail": g.detail}
                for g in coverage_gaps(sched, start, horizon, _away(at=_now()))]
    return render_template(
        "dashboard/schedule.html", problem=problem, rotations=rotations, gaps=gaps,
        holes=[g for g in gaps if not g["designed"]], weeks=COVERAGE_WEEKS,
        start=_local(start, tz, "%a %d %b %Y") if start else "-",
        end=_local(end - timedelta(seconds=1), tz, "%a %d %b %Y") if end else "-",
        tz=getattr(tz, "key", "UTC"), status=status,
        checked_at=_local(status.checked_at, tz, "%a %d %b %Y %H:%M:%S"),
        loaded_at=_local(last.loaded_at, tz, "%a %d %b %Y %H:%M:%S") if last else None,
        serving=last.origin if last else None)


def _span(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) or "0m"


def _period(tz) -> tuple[periods.Period, datetime, datetime, str | None]:
    """The form's period: a year, a quarter or a month (records/periods.py); default
    this year. Free ranges are refused: two that overlap would undo small-count hiding."""
    today = _now().astimezone(tz).date()
    chosen, error = periods.this_year(today), None
    if request.args.get("from") or request.args.get("to"):
        error = ("Statistics come by year, quarter or month only (free ranges could be "
                 "subtracted to reveal a hidden count); showing this year instead.")
    elif request.args.get("period"):
        try:
            chosen = periods.parse(request.args["period"])
        except ValueError as exc:
            error = f"Could not use that period ({exc}); showing this year instead."
    start = localize(datetime.combine(chosen.first, time()), tz)
    end = localize(datetime.combine(chosen.end, time()), tz)
    return chosen, start, end, error


def _report(tz, start: datetime, end: datetime) -> stats.Report:
    with current_app.extensions["hotline.sessions"]() as db:
        events = db.scalars(select(StatEvent).where(StatEvent.hour >= start,
                                                    StatEvent.hour < end)).all()
    # The same threshold as `hotline stats`, so the page and the report agree.
    return stats.build(events, start, end, tz, stats.configured_k(current_app.config))


@bp.get("/statistics")
def statistics():
    source = current_app.extensions["hotline.rotation"]
    last = source.last_loaded
    tz = last.config.program.timezone if last else timezone.utc
    chosen, start, end, error = _period(tz)
    report, db_error = None, None
    try:
        report = _report(tz, start, end)
    except SQLAlchemyError:
        log.exception("dashboard could not read statistics")
        db_error = "The database cannot be read right now; try again in a minute."
    return render_template("dashboard/statistics.html", report=report, error=error,
                           db_error=db_error, period=chosen,
                           last=(chosen.end - timedelta(days=1)).isoformat(),
                           choices=periods.choices(_now().astimezone(tz).date()),
                           tz=getattr(tz, "key", "UTC"))


@bp.get("/statistics/chart.png")
def statistics_chart():
    source = current_app.extensions["hotline.rotation"]
    last = source.last_loaded
    tz = last.config.program.timezone if last else timezone.utc
    chosen, start, end, _ = _period(tz)
    try:
        report = _report(tz, start, end)
    except SQLAlchemyError:
        log.exception("dashboard could not read statistics for the chart")
        abort(503)
    name = last.config.program.name if last else "Peer support line"
    buf = io.BytesIO()
    with _chart_lock:
        stats.chart(report, buf, f"{name}: contacts by month, {chosen.label}")
    return Response(buf.getvalue(), mimetype="image/png")
