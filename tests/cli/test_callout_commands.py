"""`hotline callout start | status | close | stats` as a coordinator types them at 2 a.m.,
on the database the line uses; the clock process sends what the command decided."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from tests.callout.fixtures import NOTICE, Callout, CalloutStat, rotation_file, rows  # noqa: F401
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR
from tests.sms_fixtures import phones  # noqa: F401 - fixture


@pytest.fixture
def hotline(app, phones, monkeypatch):
    """`hotline ...` in a shell pointed at the test's database. The command reads the real
    time, so the line's fake clock is set to it first."""
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("HOTLINE_CONFIG", app.config["HOTLINE_CONFIG"])
    monkeypatch.setenv("HOTLINE_INSTANCE", app.instance_path)
    monkeypatch.setenv("HOTLINE_SEND_RATE", "1")
    phones.clock.now = datetime.now(timezone.utc)

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return run


def test_start_queues_the_notices_and_the_clock_sends_them(hotline, phones, app):
    result = hotline("callout", "start", "Defusing at District 4, 23:30", "--tag",
                     "critical-incident")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Callout sent to 3 peers (about 3 s to text them all")
    assert "Tally by text to Dr. Dana Reyes" in result.output
    assert phones.sent_count() == 0  # the command itself sends nothing
    phones.tick(5)
    for peer in (ALICE, BOB, CAROL):
        assert phones.inbox(peer) == [NOTICE]
    assert phones.inbox(DAVE) == []


def test_status_shows_the_tally_by_name(hotline, phones, app):
    hotline("callout", "start", "Defusing at District 4, 23:30", "--tag", "critical-incident")
    phones.tick(5)
    phones.text(ALICE, "YES 40")
    phones.text(BOB, "no")
    out = hotline("callout", "status").output
    assert "Callout: Defusing at District 4, 23:30" in out
    assert "Callout: 1 yes, 1 no, 1 waiting." in out
    assert "Yes: Alice (40 min)" in out and "No: Bob" in out and "Waiting: Carol" in out


def test_bad_input_is_an_error_and_changes_nothing(hotline, app):
    result = hotline("callout", "start", "Debrief", "--tag", "swat")
    assert result.exit_code == 1
    assert "Unknown tag 'swat'. Tags in the rotation file: critical-incident, family." in \
        result.output
    assert rows(app, Callout) == []
    hotline("callout", "start", "Debrief", "--everyone")
    again = hotline("callout", "start", "Second one", "--everyone")
    assert again.exit_code == 1 and "A callout is already open" in again.output


def test_close_thanks_the_yes_peers_and_leaves_counts_for_the_year(hotline, phones, app):
    hotline("callout", "start", "Hospital vigil", "--by", "dave")
    phones.tick(5)
    phones.text(CAROL, "yes")
    result = hotline("callout", "close", "--note", "Meet at the ER entrance.")
    assert result.output.strip() == "Callout closed: 1 yes, 0 no, 2 no answer."
    phones.tick(5)
    assert phones.last(CAROL).endswith("Meet at the ER entrance.")
    assert phones.last(DAVE) == "Callout closed: 1 yes, 0 no, 2 no answer."
    assert phones.inbox(DIRECTOR) == []  # Dave started it: the tally is his
    assert rows(app, Callout) == [] and len(rows(app, CalloutStat)) == 1
    out = hotline("callout", "stats").output
    assert "Callouts in 20" in out and "Peers asked: 3" in out and "Answered yes: 1" in out
    assert hotline("callout", "status").output.strip() == "No callout is open."
