"""A callout in the local simulator: the director's phone starts it, one peer answers by
text, another picks up the phone page and presses 1, the director's phone gets the tally."""
from __future__ import annotations

import pytest

from tests.callout.fixtures import rotation_file  # noqa: F401 - the team rotation
from tests.simulator.test_simulator import Page, simulator_app


@pytest.fixture
def page(tmp_path, rotation_file, database_url, clock):
    app = simulator_app(tmp_path, rotation_file, database_url, clock)
    yield Page(app, clock)
    app.extensions["hotline.engine"].dispose()


def test_a_callout_is_started_and_answered_from_the_simulators_phones(page):
    page.text("clinical_director", "CALLOUT #critical-incident Defusing at District 4, 23:30")
    assert page.thread("clinical_director", "in")[-1].startswith("Callout sent to 3 peers")
    assert page.thread("alice")[-1].startswith("Test PD Peer Support CALLOUT: Defusing")
    assert page.thread("dave") == []
    page.text("alice", "YES 40")
    assert page.thread("alice", "in")[-1].startswith("Thank you: you said YES (40 min away)")
    page.act("forward", seconds=600)  # ten minutes: Bob and Carol are phoned
    assert page.panel("bob")["state"] == "ringing"
    page.button("bob", "answer")
    assert page.panel("bob")["heard"][0].startswith("Peer support line callout. Defusing")
    page.press("bob", "1")
    page.act("forward", seconds=120)  # Carol lets her phone ring out
    assert page.thread("clinical_director", "in")[-1] == \
        "Callout: 2 yes, 0 no, 1 waiting (1 unreachable)."
