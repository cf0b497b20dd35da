"""The coordinator dashboard in a real browser: sign-in, and what each page shows
(on-call names, an anonymous open contact) and never shows (a phone number).
Each page's screenshot is saved in test-artifacts/."""
from __future__ import annotations

from datetime import datetime

import pytest

from hotline.store import StatEvent
from tests.conftest import CHICAGO, OFFICER
from tests.dashboard_fixtures import (PASSWORD, SCHEDULE_ROTATION,  # noqa: F401
                                      assert_no_number, dashboard_app, incoming_call)
from tests.sms_fixtures import phones  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def sign_in(page, base, name="jsmith", password=PASSWORD):
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def check_no_number(page):
    assert_no_number(page.content())
    assert_no_number(page.inner_text("body"))


def test_login_is_required_and_a_wrong_password_refused(dashboard_app, live_server, page,
                                                         screenshot):
    page.goto(f"{live_server}/dashboard/now")
    assert page.url == f"{live_server}/dashboard/login?next=/dashboard/now"
    assert page.is_visible("#password")
    screenshot("dashboard-login")

    sign_in(page, live_server, password="not the password")
    assert page.inner_text("#login-error") == "Wrong name or password."
    assert "/dashboard/login" in page.url
    screenshot("dashboard-login-refused")
    check_no_number(page)

    page.goto(f"{live_server}/dashboard/schedule")
    assert "/dashboard/login" in page.url, "a refused login gives no access"


def test_dashboard_shows_on_call_peers_and_an_anonymous_contact_never_a_number(
        dashboard_app, live_server, page, screenshot, twilio, phones, clock, rotation_file):
    rotation_file.write_text(SCHEDULE_ROTATION)  # with an override and Sunday gaps
    dashboard_app.extensions["hotline.rotation"].refresh(force=True)
    incoming_call(twilio)  # a call ringing Alice
    phones.text(OFFICER, "tough shift, need to talk")  # a text waiting for a peer
    with dashboard_app.extensions["hotline.sessions"]() as db, db.begin():
        for month, n in ((1, 4), (2, 1), (3, 6), (4, 9), (5, 2), (6, 7), (7, 5), (8, 3),
                         (9, 8), (10, 6), (11, 4)):
            for i in range(n):
                db.add(StatEvent(hour=datetime(2026, month, 3 + i, 21, tzinfo=CHICAGO),
                                 channel="voice" if i % 3 else "text", outcome="peer", step=1,
                                 seconds_to_human=25 + 5 * i, urgent=False))
    clock.advance(4 * 60)

    page.goto(f"{live_server}/dashboard/now")
    sign_in(page, live_server)
    assert page.url == f"{live_server}/dashboard/now"
    steps = page.locator("li.step")
    assert steps.count() == 3
    assert "Alice" in steps.nth(0).inner_text()
    assert "Carol" in steps.nth(1).inner_text()
    assert "Dr. Dana Reyes" in steps.nth(2).inner_text()
    voice = page.locator("article.card[data-channel=voice]")
    text = page.locator("article.card[data-channel=text]")
    assert voice.count() == 1 and text.count() == 1
    assert "Alice" in voice.inner_text() and "step 1" in voice.inner_text()
    assert "#1" in text.inner_text() and "Waiting\n4 min" in text.inner_text()
    assert "tough shift" not in page.content()
    check_no_number(page)
    screenshot("dashboard-now")

    page.click("nav >> text=Schedule")
    page.wait_for_url("**/dashboard/schedule")
    assert page.locator("section.rotation").count() == 2
    assert "Alice" in page.inner_text("section.rotation >> nth=0")
    # Sundays off by design: calm rows (8 weeks of coverage, 2 in the fortnight), no red
    assert page.locator("tr.designed").count() == 8 + 2 and page.locator("tr.gap").count() == 0
    assert page.locator("tr.override").count() == 1
    check_no_number(page)
    screenshot("dashboard-schedule")

    page.click("nav >> text=Statistics")
    page.wait_for_url("**/dashboard/statistics")
    page.wait_for_function("() => { const i = document.querySelector('img.chart');"
                           " return i && i.complete; }")
    assert page.locator("table.numbers").count() == 3  # months, figures, menu choices
    assert "hidden" in page.inner_text("table.numbers >> nth=0")  # February's one contact
    assert "No menu choice" in page.inner_text("table.numbers >> nth=2")
    loaded = page.eval_on_selector("img.chart", "img => img.complete && img.naturalWidth")
    assert loaded and loaded > 500, "the chart image did not load"
    check_no_number(page)
    screenshot("dashboard-statistics")

    page.click("text=Sign out")
    page.wait_for_load_state()
    assert "/dashboard/login" in page.url
    page.goto(f"{live_server}/dashboard/now")
    assert "/dashboard/login" in page.url
