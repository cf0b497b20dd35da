"""The coordinator dashboard through Flask's test client: who may see it, what it shows,
and that it never shows a phone number or a message."""
from __future__ import annotations

import re
from html import unescape
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.security import check_password_hash

from hotline.app import create_app
from hotline.cli import cli
from hotline.dashboard.accounts import LoginThrottle, parse_users
from hotline.store import Call, StatEvent
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import ALICE, CHICAGO, DIRECTOR, OFFICER, PROGRAM, ROTATION, TOKEN
from tests.dashboard_fixtures import (PASSWORD, SCHEDULE_ROTATION, USERS,  # noqa: F401
                                      assert_no_number, dashboard_app, incoming_call)
from tests.sms_fixtures import phones  # noqa: F401 - fixture

PAGES = ["/dashboard/now", "/dashboard/schedule", "/dashboard/statistics",
         "/dashboard/statistics/chart.png"]


def csrf(client, path="/dashboard/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name="jsmith", password=PASSWORD, **extra):
    return client.post("/dashboard/login", data={"csrf_token": csrf(client), "username": name,
                                                 "password": password, **extra})


@pytest.fixture
def client(dashboard_app):
    return dashboard_app.test_client()


@pytest.fixture
def signed_in(client):
    resp = login(client)
    assert resp.status_code == 302 and resp.location.endswith("/dashboard/now")
    return client


def page(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code, resp.location)
    html = resp.get_data(as_text=True)
    assert_no_number(html)
    return html


def text_of(html: str) -> str:
    """The visible words, roughly: enough to assert on what a person reads."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# -- who may see it ----------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES + ["/dashboard/"])
def test_every_page_needs_a_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.location.startswith("/dashboard/login")


def test_login_sends_you_back_where_you_were_going(client):
    first = client.get("/dashboard/schedule")
    assert first.location == "/dashboard/login?next=/dashboard/schedule"
    resp = login(client, next="/dashboard/schedule")
    assert resp.location == "/dashboard/schedule"


def test_login_never_redirects_off_the_dashboard(dashboard_app):
    for target in ("https://evil.example/", "//evil.example/dashboard/now", "/voice/incoming"):
        resp = login(dashboard_app.test_client(), next=target)
        assert resp.location == "/dashboard/now", target


def test_wrong_password_is_refused_with_a_generic_message(client):
    wrong = login(client, password="not the password")
    unknown = login(client, name="nobody", password="not the password")
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert "Wrong name or password." in resp.get_data(as_text=True)
    # same words either way: the page does not say which accounts exist
    assert text_of(wrong.get_data(as_text=True)) == text_of(unknown.get_data(as_text=True))
    assert client.get("/dashboard/now").status_code == 302


def test_names_are_not_case_sensitive_but_passwords_are(client):
    assert login(client, password=PASSWORD.upper()).status_code == 401
    assert login(client, name="JSmith").status_code == 302


def test_clinical_director_account_signs_in_and_is_named(client):
    assert login(client, name="dreyes", password="another long secret").status_code == 302
    html = page(client, "/dashboard/now")
    assert "dreyes · Clinical director" in html


def test_five_wrong_passwords_lock_the_name_for_five_minutes(client, clock):
    for _ in range(5):
        assert login(client, password="guess").status_code == 401
    locked = login(client)  # even the right password
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert login(client, name="dreyes", password="another long secret").status_code == 302, \
        "another account is not locked"
    clock.advance(5 * 60 + 1)
    client.post("/dashboard/logout", data={"csrf_token": csrf(client, "/dashboard/now")})
    assert login(client).status_code == 302


def test_unknown_names_are_limited_too(dashboard_app):
    throttle = LoginThrottle(dashboard_app.extensions["hotline.sessions"], b"k")
    t0 = datetime(2026, 1, 1, tzinfo=CHICAGO)
    for i in range(5):
        assert not throttle.locked("ghost", None, t0)
        throttle.failed("ghost", None, t0 + timedelta(seconds=i))
    assert throttle.locked("GHOST", None, t0 + timedelta(minutes=4))
    assert not throttle.locked("ghost", None, t0 + timedelta(minutes=6))


def from_address(client, address: str, name: str, password: str = "guess"):
    return client.post("/dashboard/login", environ_base={"REMOTE_ADDR": address},
                       data={"csrf_token": csrf(client), "username": name,
                             "password": password})


def test_a_flood_of_made_up_names_does_not_unlock_a_locked_name(client):
    for _ in range(5):
        login(client, password="guess")
    for i in range(60):  # from many addresses, so no address limit gets in the way
        from_address(client, f"192.0.2.{i + 1}", f"made-up-{i}")
    assert login(client).status_code == 429


def test_a_locked_name_stays_locked_for_every_worker_and_after_a_restart(dashboard_app, client):
    for _ in range(5):
        login(client, password="guess")
    other_worker = create_app({k: dashboard_app.config[k] for k in (
        "HOTLINE_CONFIG", "DATABASE_URL", "TWILIO_AUTH_TOKENS", "HOTLINE_CLOCK",
        "HOTLINE_RELOAD_SECONDS", "HOTLINE_INSECURE_DEV", "HOTLINE_DASHBOARD_USERS")},
        instance_path=dashboard_app.instance_path)
    try:
        assert login(other_worker.test_client()).status_code == 429
    finally:
        other_worker.extensions["hotline.engine"].dispose()


def test_one_address_guessing_many_names_is_locked_out(client):
    for i in range(20):
        from_address(client, "198.51.100.7", f"guess-{i}")
    assert from_address(client, "198.51.100.7", "jsmith", PASSWORD).status_code == 429
    assert from_address(client, "198.51.100.8", "jsmith", PASSWORD).status_code == 302


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_the_accounts():
    from werkzeug.security import generate_password_hash

    from hotline.dashboard.accounts import _dummy_hash

    for method in ("scrypt:32768:8:1", "pbkdf2:sha256:600000"):
        users = parse_users("jsmith:coordinator:" + generate_password_hash("x" * 12,
                                                                           method=method))
        assert _dummy_hash(users).split("$", 1)[0] == method


def test_logging_out_revokes_the_session_even_for_a_copied_cookie(dashboard_app, signed_in):
    copied = signed_in.get_cookie("session").value
    signed_in.post("/dashboard/logout", data={"csrf_token": csrf(signed_in, "/dashboard/now")})
    thief = dashboard_app.test_client()
    thief.set_cookie("session", copied)
    resp = thief.get("/dashboard/now")
    assert resp.status_code == 302 and resp.location.startswith("/dashboard/login")


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(signed_in, clock):
    for _ in range(12 * 3):  # a page every 20 minutes: never idle
        clock.advance(20 * 60)
        assert signed_in.get("/dashboard/now").status_code == 200
    clock.advance(20 * 60)
    resp = signed_in.get("/dashboard/now")
    assert resp.status_code == 302 and "expired=1" in resp.location


def test_session_cookies_are_secure_when_the_public_url_is_https(tmp_path, rotation_file,
                                                                 database_url, clock):
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_DASHBOARD_USERS": USERS,
                      "HOTLINE_PUBLIC_URL": "https://hotline.example.org"},
                     instance_path=str(tmp_path / "instance"))
    try:
        resp = login(app.test_client())
        assert resp.status_code == 302
        assert "Secure" in resp.headers["Set-Cookie"]
    finally:
        app.extensions["hotline.engine"].dispose()


@pytest.mark.parametrize("target", ["/dashboard/schedule\r\nSet-Cookie: x=1",
                                    "/dashboard/schedule\nLocation: https://evil.example/"])
def test_a_next_with_a_line_break_is_refused_cleanly(client, target):
    resp = login(client, next=target)
    assert resp.status_code == 302 and resp.location == "/dashboard/now"
    assert "Set-Cookie: x" not in str(resp.headers) and "evil" not in str(resp.headers)
    assert client.get("/dashboard/login", query_string={"next": target}).status_code in (200, 302)


def test_a_post_without_the_csrf_token_is_refused(signed_in):
    resp = signed_in.post("/dashboard/logout")
    assert resp.status_code == 400
    resp = signed_in.post("/dashboard/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert signed_in.get("/dashboard/now").status_code == 200, "still signed in"
    ok = signed_in.post("/dashboard/logout", data={"csrf_token": csrf(signed_in, "/dashboard/now")})
    assert ok.status_code == 302
    assert signed_in.get("/dashboard/now").status_code == 302


def test_login_itself_needs_the_csrf_token(client):
    resp = client.post("/dashboard/login", data={"username": "jsmith", "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/dashboard/now").status_code == 302


def test_twilio_webhooks_need_no_csrf_token(dashboard_app, twilio):
    """The voice and text webhooks carry a Twilio signature, not a session."""
    incoming_call(twilio)
    with dashboard_app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Call)).all()


def test_idle_session_times_out_after_thirty_minutes(signed_in, clock):
    clock.advance(29 * 60)
    assert signed_in.get("/dashboard/schedule").status_code == 200  # activity: the timer restarts
    clock.advance(29 * 60)
    assert signed_in.get("/dashboard/now").status_code == 200
    clock.advance(30 * 60 + 1)
    resp = signed_in.get("/dashboard/now")
    assert resp.status_code == 302 and "expired=1" in resp.location
    assert "signed out after a period without activity" in signed_in.get(resp.location).get_data(
        as_text=True)
    assert signed_in.get("/dashboard/now").status_code == 302


def test_the_now_pages_own_refresh_does_not_keep_a_session_alive(signed_in, clock):
    html = signed_in.get("/dashboard/now").get_data(as_text=True)
    assert 'http-equiv="refresh"' in html and "auto=1" in html
    for _ in range(4):
        clock.advance(10 * 60)
        signed_in.get("/dashboard/now?auto=1")
    assert signed_in.get("/dashboard/now").status_code == 302


def test_session_cookie_is_httponly_and_samesite_and_secure_behind_https(
        tmp_path, rotation_file, database_url, clock):
    for public, secure in ((None, False), ("https://hotline.example.org", True)):
        app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                          "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                          "HOTLINE_PUBLIC_URL": public, "HOTLINE_DASHBOARD_USERS": USERS},
                         instance_path=str(tmp_path / "instance"))
        try:
            resp = app.test_client().get("/dashboard/login")
            cookie = resp.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("Secure" in cookie) is secure
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["Cache-Control"] == "no-store"
        finally:
            app.extensions["hotline.engine"].dispose()


# -- what it shows ---------------------------------------------------------------------

def test_now_shows_who_is_on_call_at_each_step(signed_in):
    html = text_of(page(signed_in, "/dashboard/now"))
    # Monday night: alice on primary, carol on backup, then the clinical director
    assert re.search(r"Step 1 primary .*Alice primary", html)
    assert re.search(r"Step 2 backup .*Carol backup", html)
    assert re.search(r"Step 3 clinical director .*Dr\. Dana Reyes", html)
    assert "Bob" not in html and "Dave" not in html


def test_now_marks_a_peer_who_stepped_out_by_text(signed_in, dashboard_app, clock):
    from hotline.availability import state

    with dashboard_app.extensions["hotline.sessions"]() as db, db.begin():
        state.step_out(db, "alice", "off", clock.now + timedelta(hours=2), clock.now)
    html = text_of(page(signed_in, "/dashboard/now"))
    assert re.search(r"Step 1 primary .*Alice primary stepped out until Tue 01:00", html)
    assert "Carol backup stepped out" not in html


def test_a_live_call_is_an_anonymous_card(signed_in, dashboard_app, twilio, clock):
    sid = incoming_call(twilio)
    clock.advance(125)
    html = page(signed_in, "/dashboard/now")
    [card] = re.findall(r'<article class="card[^"]*" data-channel="voice">.*?</article>', html,
                        re.S)
    words = text_of(card)
    assert re.search(r"V-[0-9A-F]{5} Call", words)
    assert "Step step 1" in words and "Waiting 2 min" in words and "Ringing Alice" in words
    assert sid not in html and sid[-8:] not in html, "Twilio's call ID ties back to the caller"
    assert "URGENT" not in words


def test_an_accepted_call_shows_which_peer_has_it(signed_in, twilio, clock):
    sid = "CA" + "b" * 32
    # Alice presses 1 on the whisper: played with raw signed webhooks, as Twilio would.
    doc = twilio.post("/voice/incoming", {"CallSid": sid, "AccountSid": ACCOUNT_SID,
                                          "From": OFFICER, "To": PROGRAM,
                                          "Direction": "inbound", "CallStatus": "ringing"})
    url = re.search(r'url="([^"]+)"', doc.get_data(as_text=True)).group(1).replace("&amp;", "&")
    leg = {"CallSid": "CA" + "e" * 32, "ParentCallSid": sid, "AccountSid": ACCOUNT_SID,
           "From": PROGRAM, "To": ALICE, "Direction": "outbound-dial",
           "CallStatus": "in-progress"}
    whisper = twilio.post(url, leg).get_data(as_text=True)
    action = re.search(r'<Gather[^>]*action="([^"]+)"', whisper).group(1).replace("&amp;", "&")
    twilio.post(action, {**leg, "Digits": "1"})
    clock.advance(6 * 60)
    words = text_of(page(signed_in, "/dashboard/now"))
    assert "With Alice for 6 min" in words and "Waited 0 min" in words


def test_an_open_text_conversation_is_an_anonymous_card_without_its_words(signed_in, phones,
                                                                         clock):
    phones.text(OFFICER, "i can't stop thinking about the crash on 94")
    clock.advance(3 * 60)
    html = page(signed_in, "/dashboard/now")
    [card] = re.findall(r'<article class="card[^"]*" data-channel="text">.*?</article>', html,
                        re.S)
    words = text_of(card)
    assert "#1 Text" in words and "Waiting 3 min" in words and "Told Alice" in words
    assert "crash" not in html and "thinking" not in html
    phones.text(OFFICER, "I have my gun out, I want to end it")
    words = text_of(page(signed_in, "/dashboard/now"))
    assert "URGENT" in words and "gun" not in words
    phones.text(ALICE, "yes")
    words = text_of(page(signed_in, "/dashboard/now"))
    assert "With Alice" in words


def test_an_unacknowledged_page_is_shown_first_until_somebody_presses_1(signed_in, phones,
                                                                       clock):
    phones.text(OFFICER, "I want to end it tonight")
    clock.advance(3 * 60)
    html = page(signed_in, "/dashboard/now")
    assert html.index("Pages not acknowledged") < html.index("On call, in escalation order")
    words = text_of(html)
    assert "#1 paging Dr. Dana Reyes , page 1 of 3 (urgent words), waiting 3 min" in words
    assert "end it" not in words
    phones.text(DIRECTOR, "ack 1")
    assert "Pages not acknowledged" not in page(signed_in, "/dashboard/now")


def test_the_now_page_says_whom_urgent_pages_reach(signed_in):
    words = text_of(page(signed_in, "/dashboard/now"))
    assert "Urgent pages go to the clinician on call: Dr. Dana Reyes." in words


def test_a_page_nobody_acknowledged_says_so(signed_in, phones, clock):
    phones.text(OFFICER, "I want to end it tonight")
    for _ in range(3):
        phones.tick(120)
    words = text_of(page(signed_in, "/dashboard/now"))
    assert "#1 NOBODY acknowledged after every page" in words


def test_no_page_shows_a_phone_number(signed_in, dashboard_app, twilio, phones):
    incoming_call(twilio)
    phones.text(OFFICER, "hello, anyone there")
    for path in PAGES[:3]:
        page(signed_in, path)
    page(dashboard_app.test_client(), "/dashboard/login")
    refused = login(dashboard_app.test_client(), password="wrong")
    assert_no_number(refused.get_data(as_text=True))


def test_a_number_that_reaches_a_page_is_masked(signed_in, dashboard_app, rotation_file):
    """The net under the rule: a peer named with their number is shown masked."""
    rotation_file.write_text(ROTATION.replace("name: Alice,", 'name: "Alice 262-555-0101",'))
    dashboard_app.extensions["hotline.rotation"].refresh(force=True)
    html = page(signed_in, "/dashboard/now")
    assert "Alice [number]" in html


# -- schedule ---------------------------------------------------------------------------



def test_schedule_shows_fourteen_days_with_overrides_and_gaps(signed_in, dashboard_app,
                                                              rotation_file):
    assert "sun" not in SCHEDULE_ROTATION.split("active")[1].split("}")[0]
    rotation_file.write_text(SCHEDULE_ROTATION)
    dashboard_app.extensions["hotline.rotation"].refresh(force=True)
    html = page(signed_in, "/dashboard/schedule")
    words = text_of(html)
    assert "Mon 23 Nov 2026 to Sun 06 Dec 2026" in words
    assert "Rotation: primary" in words and "Rotation: backup" in words
    # Sundays primary is off by design: calm rows, in the coverage table (8 weeks) and in
    # the rotation's own table (the fortnight); no red hole anywhere
    assert words.count("Sun 29 Nov 00:00 Mon 30 Nov 00:00 1d") == 2
    assert "1 Sun 29 Nov 00:00 Mon 30 Nov 00:00 1d primary off by design" in words
    assert len(re.findall(r'<tr class="designed">', html)) == 8 + 2
    assert '<tr class="gap">' not in html and '<tr class="nobody">' not in html
    assert "No holes" in words
    assert re.search(r'<tr class="override">.*?Dave.*?line \d+, covers for Carol', html, re.S)
    assert "Wed 25 Nov 08:00 Thu 26 Nov 08:00 1d Dave" in words


def test_schedule_shows_a_peer_on_two_steps_at_once_as_a_red_hole(signed_in, dashboard_app,
                                                                   rotation_file):
    # Alice, on primary this week, is also written in as backup for Wednesday
    rotation_file.write_text(ROTATION + """overrides:
  - {rotation: backup, peer: alice, from: "2026-11-25 08:00", to: "2026-11-26 08:00"}
""")
    dashboard_app.extensions["hotline.rotation"].refresh(force=True)
    html = page(signed_in, "/dashboard/schedule")
    words = text_of(html)
    assert "1 hole below" in words
    assert len(re.findall(r'<tr class="gap">', html)) == 1
    assert ("2 Wed 25 Nov 08:00 Thu 26 Nov 08:00 1d Alice (backup) already rung at step 1: "
            "contacts skip step 2") in words


def test_schedule_shows_the_last_reload_and_a_refused_file_with_its_line(signed_in, dashboard_app,
                                                                        rotation_file):
    words = text_of(page(signed_in, "/dashboard/schedule"))
    assert "valid" in words and "Last loaded" in words and str(rotation_file) in words
    rotation_file.write_text(ROTATION.replace("shift: 1w, peers: [alice, bob]",
                                              "shfit: 1w, peers: [alice, bob]"))
    dashboard_app.extensions["hotline.rotation"].refresh(force=True)
    html = page(signed_in, "/dashboard/schedule")
    words = text_of(html)
    assert "refused" in words and "still serving the last good version" in words
    assert re.search(rf"{re.escape(str(rotation_file))}:\d+:\d+: unknown key 'shfit'", words)
    assert "Rotation: primary" in words, "the last good rotation is still shown"
    assert "rotation file has problems" in text_of(page(signed_in, "/dashboard/now"))


# -- statistics ------------------------------------------------------------------------------

def add_events(app, *events):
    with app.extensions["hotline.sessions"]() as db, db.begin():
        for month, channel, outcome in events:
            db.add(StatEvent(hour=datetime(2026, month, 10, 14, tzinfo=CHICAGO), channel=channel,
                             outcome=outcome, step=1 if outcome == "peer" else None,
                             seconds_to_human=30 if outcome == "peer" else None, urgent=False))


def test_statistics_default_to_this_year_with_small_cells_suppressed(signed_in, dashboard_app):
    add_events(dashboard_app, (3, "voice", "peer"),
               *[(4, "voice", "peer")] * 10, *[(4, "text", "peer")] * 2)
    html = page(signed_in, "/dashboard/statistics")
    words = text_of(html)
    assert "2026: 2026-01-01 to 2026-12-31" in words
    assert "2026-03 hidden 0 hidden" in words  # one call in March: never shown as 1
    assert "2026-04 hidden hidden hidden" in words  # hidden with it, or subtraction finds it
    assert "Contacts 13" in words and "Answered by a person 100%" in words
    assert 'src="/dashboard/statistics/chart.png?period=2026"' in html


def test_statistics_for_a_chosen_month(signed_in, dashboard_app):
    add_events(dashboard_app, *[(3, "voice", "peer")] * 4, *[(5, "voice", "peer")] * 7)
    words = text_of(page(signed_in, "/dashboard/statistics?period=2026-05"))
    assert "2026-05 7 0 7" in words and "2026-03 4 0 4" not in words
    bad = text_of(page(signed_in, "/dashboard/statistics?period=2026-13"))
    assert "Could not use that period" in bad and "2026: 2026-01-01 to 2026-12-31" in bad


def test_statistics_refuse_two_free_ranges_that_could_be_subtracted(signed_in, dashboard_app):
    # 1 March-31 May minus 2 March-31 May would isolate 1 March and its single contact.
    add_events(dashboard_app, (3, "voice", "peer"), *[(4, "voice", "peer")] * 5)
    words = text_of(page(signed_in, "/dashboard/statistics?from=2026-03-01&to=2026-05-31"))
    assert "by year, quarter or month only" in words
    assert "2026: 2026-01-01 to 2026-12-31" in words  # this year, not the range asked for


def test_the_statistics_chart_takes_the_same_fixed_periods(signed_in, dashboard_app):
    add_events(dashboard_app, *[(6, "voice", "peer")] * 5)
    assert signed_in.get("/dashboard/statistics/chart.png?period=2026-Q2").status_code == 200


def test_statistics_chart_is_a_png(signed_in, dashboard_app):
    add_events(dashboard_app, *[(6, "voice", "peer")] * 5)
    resp = signed_in.get("/dashboard/statistics/chart.png?period=2026")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(b"\x89PNG\r\n\x1a\n")


# -- accounts ---------------------------------------------------------------------------------

def test_dashboard_user_command_prints_a_line_with_a_hash():
    result = CliRunner().invoke(cli, ["dashboard-user", "mgarcia", "coordinator"],
                                input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert "a long enough password" not in line
    users = parse_users(line)
    assert users["mgarcia"].role == "coordinator"
    assert check_password_hash(users["mgarcia"].password_hash, "a long enough password")


def test_dashboard_user_redirected_to_a_file_writes_only_the_account_line():
    """`hotline dashboard-user NAME ROLE > line.txt`: the prompts go to the terminal
    (stderr), so the file holds the one line to paste and nothing else."""
    result = CliRunner().invoke(cli, ["dashboard-user", "mgarcia", "coordinator"],
                                input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert "Password for the dashboard" in result.stderr
    assert "Repeat for confirmation" in result.stderr
    # click's test runner stands in for the terminal's hidden input by writing a newline
    # to stdout after each prompt; a real terminal gets that newline, not the file.
    written = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(written) == 1 and written[0].startswith("mgarcia:coordinator:"), result.stdout
    assert "mgarcia" in parse_users(written[0])


def test_dashboard_user_command_refuses_short_passwords_and_unknown_roles():
    short = CliRunner().invoke(cli, ["dashboard-user", "x", "coordinator"], input="short\nshort\n")
    assert short.exit_code != 0 and "12 characters" in short.output
    role = CliRunner().invoke(cli, ["dashboard-user", "x", "admin"], input="")
    assert role.exit_code != 0


def test_bad_account_entries_are_skipped_not_fatal(caplog):
    good = USERS.split(";")[0]
    users = parse_users(f"{good};broken;eve:admin:pbkdf2:sha256:1$a$b;mallory:coordinator:plain")
    assert list(users) == ["jsmith"]
    assert "plain" not in caplog.text and "pbkdf2" not in caplog.text
