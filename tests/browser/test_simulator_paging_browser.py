"""The simulator page in Chromium: an urgent text rings the clinician on call, who
answers, hears the page and presses 1; then a peer's consult reaches them."""
from __future__ import annotations

import pytest

from tests.browser.test_simulator_browser import (app, expect_message, phone, send,  # noqa: F401
                                                  simulator)
from tests.conftest import ROTATION
from tests.paging.conftest import CLINICAL

pytestmark = pytest.mark.browser


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION + CLINICAL)
    return path


def test_a_page_its_acknowledgement_and_a_consult_in_the_page(simulator, screenshot):
    from playwright.sync_api import expect
    page = simulator
    send(page, "officer", "I want to end it tonight")
    expect_message(page, "kpatel", "URGENT peer line #1:")
    kiran = phone(page, "kpatel").locator(".call-panel")
    expect(kiran).to_have_attribute("data-state", "ringing")
    screenshot("simulator-page-ringing")
    kiran.locator("button[data-action=answer]").click()
    expect(kiran.locator(".heard")).to_contain_text("needs the clinician now")
    kiran.locator("button[data-key='1']").click()
    expect_message(page, "kpatel", "Thank you. Nobody has taken conversation 1 yet")
    screenshot("simulator-page-acknowledged")

    send(page, "alice", "YES 1")
    send(page, "alice", "CONSULT #1")
    expect_message(page, "alice", "Dr. Kiran Patel (clinician) is asked to join #1")
    send(page, "officer", "I can't sleep")
    expect_message(page, "kpatel", "#1: I can't sleep")
    screenshot("simulator-consult")
