"""The dashboard's Callout page in a real browser: a coordinator reviews, confirms and
watches the tally fill in by name; no phone number on any page."""
from __future__ import annotations

import pytest

from tests.browser.test_dashboard_browser import check_no_number, sign_in
from tests.callout.fixtures import NOTICE, rotation_file  # noqa: F401 - the team rotation
from tests.conftest import ALICE, BOB, CAROL
from tests.dashboard_fixtures import dashboard_app  # noqa: F401
from tests.sms_fixtures import phones  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_a_coordinator_starts_a_callout_after_review_and_sees_who_can_come(
        dashboard_app, live_server, page, screenshot, phones):
    page.goto(f"{live_server}/dashboard/callout")
    sign_in(page, live_server)
    assert "No callout is open." in page.inner_text("main")
    page.fill("input[name=message]", "Defusing at District 4, 23:30")
    page.select_option("select[name=tag]", "critical-incident")
    page.click("text=Review…")
    assert "3 peers (Alice, Bob, Carol)" in page.inner_text("main")
    assert phones.inbox(ALICE) == []  # nothing is sent before the confirmation
    screenshot("dashboard-callout-review")
    page.click("text=Yes, send it")
    assert [phones.inbox(p) for p in (ALICE, BOB, CAROL)] == [[NOTICE]] * 3

    phones.text(ALICE, "YES 40")
    phones.text(BOB, "no")
    page.goto(f"{live_server}/dashboard/callout")
    main = page.inner_text("main")
    assert "Callout: 1 yes, 1 no, 1 waiting." in main
    assert "Alice 40 min away" in main
    check_no_number(page)
    screenshot("dashboard-callout-open")
