"""Browser tests: the real app served on 127.0.0.1 in a thread, driven by Playwright
with Debian's Chromium (/usr/bin/chromium; never a downloaded browser).

Without Chromium or the playwright package these tests skip, saying which is missing.
CI installs Chromium with apt (see docs/dashboard.md)."""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("HOTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (f"{CHROMIUM} not found: install Debian's Chromium "
                "(apt-get install -y chromium) to run the browser tests")
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def database_url(tmp_path):
    """The browser tests check pages, not SQL: SQLite only (the client tests cover both)."""
    return f"sqlite:///{tmp_path / 'hotline.sqlite'}"


@pytest.fixture(scope="session")
def chromium():
    reason = _missing()
    if reason and os.environ.get("HOTLINE_REQUIRE_BROWSER"):
        pytest.fail(f"CI requires the browser tests: {reason}")
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so `page` can tell a failure at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:  # what the page showed when it went wrong
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"),
                            full_page=True)
        context.close()


@pytest.fixture
def live_server(app):
    """The app on a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take
