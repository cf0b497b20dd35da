"""The Callout page: a coordinator starts a callout only after a confirmation naming who
will be texted, everyone signed in follows the tally by name, and no page shows a number."""
from __future__ import annotations

import re

import pytest

from tests.callout.fixtures import NOTICE, Callout, rotation_file, rows  # noqa: F401
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR
from tests.dashboard.test_views import csrf, login, page, text_of
from tests.dashboard_fixtures import dashboard_app  # noqa: F401
from tests.sms_fixtures import phones  # noqa: F401 - fixture


@pytest.fixture
def coordinator(dashboard_app, phones):
    client = dashboard_app.test_client()
    login(client)
    return client


def post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf(client, "/dashboard/callout"), **form})


def test_a_coordinator_confirms_before_anyone_is_texted(coordinator, phones, app):
    review = post(coordinator, "/dashboard/callout/start", message="Defusing at District 4, 23:30",
                  tag="critical-incident", initiator="clinical_director")
    words = text_of(review.get_data(as_text=True))
    assert "Send this callout?" in words and "3 peers (Alice, Bob, Carol)" in words
    assert rows(app, Callout) == [] and phones.sent_count() == 0
    done = post(coordinator, "/dashboard/callout/start", message="Defusing at District 4, 23:30",
                tag="critical-incident", initiator="clinical_director", confirm="yes")
    assert done.status_code == 302
    for peer in (ALICE, BOB, CAROL):
        assert phones.inbox(peer) == [NOTICE]
    assert phones.inbox(DAVE) == []


def test_the_page_shows_the_tally_by_name_and_no_number(coordinator, phones):
    phones.text(DIRECTOR, "CALLOUT #critical-incident Defusing at District 4, 23:30")
    phones.text(ALICE, "YES 40")
    phones.text(BOB, "no")
    words = text_of(page(coordinator, "/dashboard/callout"))
    assert "1 yes, 1 no, 1 waiting" in words
    assert re.search(r"Yes Alice 40 min away No Bob Waiting Carol", words)


def test_closing_from_the_page_asks_first_then_thanks_the_yes_peers(coordinator, phones, app):
    phones.text(DIRECTOR, "CALLOUT #critical-incident Defusing at District 4, 23:30")
    phones.text(CAROL, "yes")
    review = post(coordinator, "/dashboard/callout/close", note="Meet at D4 front desk.")
    assert "Close the callout?" in text_of(review.get_data(as_text=True))
    assert len(rows(app, Callout)) == 1
    post(coordinator, "/dashboard/callout/close", note="Meet at D4 front desk.", confirm="yes")
    assert rows(app, Callout) == []
    assert phones.last(CAROL).endswith("Meet at D4 front desk.")


def test_a_refused_start_is_shown_and_changes_nothing(coordinator, phones, app):
    phones.text(DIRECTOR, "CALLOUT Debrief at 9")
    resp = post(coordinator, "/dashboard/callout/start", message="Second", tag="",
                initiator="clinical_director", confirm="yes")
    words = text_of(coordinator.get(resp.location).get_data(as_text=True))
    assert "A callout is already open" in words
    assert len(rows(app, Callout)) == 1


def test_the_clinical_director_follows_but_cannot_start_from_the_page(dashboard_app, phones, app):
    client = dashboard_app.test_client()
    login(client, "dreyes", "another long secret")
    assert "Coordinators can start a callout here" in text_of(page(client, "/dashboard/callout"))
    resp = post(client, "/dashboard/callout/start", message="x", tag="", confirm="yes",
                initiator="clinical_director")
    assert resp.status_code == 403 and rows(app, Callout) == []
