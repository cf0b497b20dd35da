"""The simulator playing the real router with `voice: bridge: conference`: what a
coordinator sees after `make run` with the example file. The officer waits on hold,
Alice takes the call and meets them in the conference, her `*8` brings in the
clinician as a coach only she hears, her `*7` lets the officer hear them too."""
from __future__ import annotations

import pytest

from tests.conftest import ROTATION
from tests.paging.conftest import CLINICAL
from tests.simulator.test_simulator import Page, simulator_app


@pytest.fixture
def page(tmp_path, database_url, clock):
    rotation = tmp_path / "rotation.yaml"
    rotation.write_text(ROTATION + CLINICAL + "voice: {bridge: conference}\n")
    app = simulator_app(tmp_path, rotation, database_url, clock)
    yield Page(app, clock)
    app.extensions["hotline.engine"].dispose()
    app.extensions["hotline.answer_engine"].dispose()


def alice_takes_the_call(page) -> None:
    page.act("call", phone="officer")
    page.wait(6)  # the greeting and its menu (no key: a peer)
    page.wait(4)  # the peer legs, placed by REST after the answer, ring
    assert page.panel("officer")["state"] == "hold"
    page.button("alice", "answer")
    page.wait(8)  # the whisper is read out
    page.press("alice", "1")
    page.wait(3)  # the officer's next look at the wait loop: Leave, then the conference


def test_the_officer_on_hold_meets_alice_in_the_conference(page):
    alice_takes_the_call(page)
    assert page.panel("officer")["title"] == "Connected to Alice"
    assert page.panel("alice")["state"] == "connected"
    assert page.panel("bob") is None  # his leg was ended once Alice took the call


def test_star_8_brings_in_the_clinician_as_a_coach_only_alice_hears_then_star_7(page):
    alice_takes_the_call(page)
    page.press("alice", "*")
    page.wait(1)
    page.press("alice", "8")
    page.wait(2)
    page.button("kpatel", "answer")
    page.wait(8)
    page.press("kpatel", "1")
    page.wait(2)
    assert page.panel("alice")["coach"] == "coach: Dr. Kiran Patel (only you hear them)"
    assert "coach" not in page.panel("officer")
    page.press("alice", "*")
    page.wait(1)
    page.press("alice", "7")
    page.wait(3)
    assert "coach" not in page.panel("alice")
    assert page.panel("kpatel")["state"] == "connected"
