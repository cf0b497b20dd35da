"""The simulator shows a clinician's page ringing, the acknowledgement and a consult,
on the example-style rotation with two clinicians (Kiran on call)."""
from __future__ import annotations

import pytest

from tests.conftest import ROTATION
from tests.paging.conftest import CLINICAL
from tests.simulator.test_simulator import Page, simulator_app


@pytest.fixture
def page(tmp_path, database_url, clock):
    rotation = tmp_path / "rotation.yaml"
    rotation.write_text(ROTATION + CLINICAL)
    app = simulator_app(tmp_path, rotation, database_url, clock)
    yield Page(app, clock)
    app.extensions["hotline.engine"].dispose()


def test_the_clinicians_have_phones_on_the_page(page):
    phones = {p["id"]: p for p in page.state()["phones"]}
    assert phones["kpatel"]["role"] == "clinician" and phones["lchen"]["name"] == "Dr. Lee Chen"


def test_an_urgent_text_rings_the_clinician_who_presses_1_to_acknowledge(page):
    page.text("officer", "I want to end it tonight")
    assert page.thread("kpatel", "in")[0].startswith("URGENT peer line #1:")
    page.state()  # the page call rings at the carrier's next beat
    assert page.panel("kpatel")["state"] == "ringing"
    page.button("kpatel", "answer")
    assert "needs the clinician now" in page.panel("kpatel")["heard"][-1]
    page.press("kpatel", "1")
    assert page.thread("kpatel", "in")[-1].startswith("Thank you. Nobody has taken "
                                                     "conversation 1 yet")
    page.wait(10 * 60)
    assert page.panel("kpatel") is None and page.thread("lchen") == []


def test_a_peer_consults_and_the_clinician_sees_the_conversation(page):
    page.text("officer", "rough night")
    page.text("alice", "YES")
    page.text("alice", "CONSULT #1")
    assert page.thread("kpatel", "in")[-1].startswith("Peer line consult: Alice asks you")
    page.text("officer", "I can't sleep")
    assert page.thread("kpatel", "in")[-1] == "#1: I can't sleep"
    page.text("kpatel", "PEER 1 ask about his sleep this week")
    assert page.thread("alice", "in")[-1].endswith("ask about his sleep this week")
