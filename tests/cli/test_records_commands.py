"""`hotline stats`, `hotline purge` and `hotline audit`, run as a coordinator runs them,
on a real database (SQLite and PostgreSQL) that the line wrote to."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline.cli import cli
from hotline.store import AuditEvent, InboundMessage, PeerLoad, ProviderRecord, StatEvent, Voicemail
from tests.conftest import CHICAGO, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def hotline(app, monkeypatch):
    """`hotline ...` in a shell whose environment points at the test's database."""
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("HOTLINE_CONFIG", app.config["HOTLINE_CONFIG"])
    monkeypatch.setenv("HOTLINE_INSTANCE", app.instance_path)
    for name in ("HOTLINE_STATS_K", "HOTLINE_RETAIN_HOURS", "HOTLINE_PROVIDER_DELETE"):
        monkeypatch.delenv(name, raising=False)

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return run


def add(app, *rows):
    with app.extensions["hotline.sessions"]() as db, db.begin():
        db.add_all(rows)


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def contacts(app, month, n, channel="voice"):
    add(app, *[StatEvent(hour=datetime(2026, month, 1 + i % 28, 10, tzinfo=CHICAGO),
                         channel=channel, outcome="peer", step=1, seconds_to_human=30,
                         urgent=False) for i in range(n)])


@pytest.fixture
def a_year(app):
    """March: one call (too few to show) and three texts; April: ten calls, four texts;
    May: five of each."""
    for month, calls, texts in ((3, 1, 3), (4, 10, 4), (5, 5, 5)):
        contacts(app, month, calls)
        contacts(app, month, texts, channel="text")


# -- hotline stats ----------------------------------------------------------------------------

def test_stats_prints_a_markdown_report_with_small_counts_hidden(hotline, a_year):
    result = hotline("stats", "--year", "2026")
    assert result.exit_code == 0
    assert result.stdout.startswith("# Test PD Peer Support: contacts\n")
    assert "2026-01-01 to 2026-12-31, both included." in result.stdout
    assert "| 2026-03 | hidden | hidden | 4 |" in result.stdout
    assert "| 2026-04 | 10 | 4 | 14 |" in result.stdout
    assert "| Contacts | 28 |" in result.stdout


def test_stats_as_csv_has_a_row_per_month(hotline, a_year):
    table = list(csv.reader(io.StringIO(hotline("stats", "--year", "2026", "--format",
                                                "csv").stdout)))
    assert table[0] == ["month", "voice", "text", "total"]
    assert ["2026-03", "hidden", "hidden", "4"] in table
    assert ["all", "16", "12", "28"] in table


def test_stats_as_json_carries_the_threshold_and_the_last_day(hotline, a_year):
    report = json.loads(hotline("stats", "--year", "2026", "--format", "json").stdout)
    assert (report["k"], report["last_day"]) == (3, "2026-12-31")
    assert report["totals"] == {"voice": "16", "text": "12", "all": "28"}


def test_stats_chart_writes_a_png(hotline, a_year, tmp_path):
    path = tmp_path / "h1.png"
    result = hotline("stats", "--period", "2026-Q2", "--chart", str(path))
    assert result.exit_code == 0
    assert f"chart written to {path}" in result.stderr
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > len(PNG)


def test_stats_for_a_month_names_the_last_day_included(hotline, a_year):
    result = hotline("stats", "--period", "2026-05")
    assert "2026-05-01 to 2026-05-31, both included." in result.stdout
    assert "2026-06-01" not in result.stdout


def test_stats_for_a_quarter_covers_its_three_months(hotline, a_year):
    result = hotline("stats", "--period", "2026-q2")
    assert "2026-04-01 to 2026-06-30, both included." in result.stdout


def test_stats_refuse_free_ranges_that_could_undo_small_count_hiding(hotline, a_year):
    # March-May minus 2 March-May would be the one day, and its one contact.
    result = hotline("stats", "--from", "2026-03-01", "--to", "2026-05-31")
    assert result.exit_code == 2
    assert "--from" in result.output  # no such option any more


def test_stats_refuse_a_period_that_is_not_a_year_quarter_or_month(hotline):
    result = hotline("stats", "--period", "2026-03-02")
    assert result.exit_code == 2
    assert "a year (2026), a quarter (2026-Q2) or a month (2026-05)" in result.output


def test_stats_threshold_comes_from_hotline_stats_k(hotline, a_year, monkeypatch):
    monkeypatch.setenv("HOTLINE_STATS_K", "6")
    report = json.loads(hotline("stats", "--year", "2026", "--format", "json").stdout)
    assert report["k"] == 6
    april = next(m for m in report["months"] if m["month"] == "2026-04")
    assert april["text"] == "hidden"  # 4, below 6


def test_stats_k_on_the_command_line_wins_over_the_setting(hotline, a_year, monkeypatch):
    monkeypatch.setenv("HOTLINE_STATS_K", "6")
    assert json.loads(hotline("stats", "--year", "2026", "--k", "4",
                              "--format", "json").stdout)["k"] == 4


def test_stats_refuses_a_threshold_below_two(hotline):
    result = hotline("stats", "--year", "2026", "--k", "1")
    assert result.exit_code == 2
    assert "--k" in result.output and ">=2" in result.output


def test_stats_refuses_a_hotline_stats_k_below_two(hotline, monkeypatch):
    monkeypatch.setenv("HOTLINE_STATS_K", "1")
    result = hotline("stats", "--year", "2026")
    assert result.exit_code == 2
    assert "HOTLINE_STATS_K must be a whole number of at least 2" in result.output


def test_stats_refuses_a_year_and_a_period_together(hotline):
    result = hotline("stats", "--year", "2026", "--period", "2026-03")
    assert result.exit_code == 2
    assert "either --year or --period, not both" in result.output


def test_stats_workload_honours_the_format_and_hides_small_counts(hotline, app):
    add(app, PeerLoad(peer_id="alice", month="2026-11", contacts=7),
        PeerLoad(peer_id="carol", month="2026-11", contacts=1))
    table = list(csv.reader(io.StringIO(hotline("stats", "--year", "2026", "--workload",
                                                "--format", "csv").stdout)))
    assert table == [["month", "peer", "contacts"], ["2026-11", "alice", "7"],
                     ["2026-11", "carol", "hidden"]]
    report = json.loads(hotline("stats", "--year", "2026", "--workload", "--format",
                                "json").stdout)
    assert report["rows"][0] == {"month": "2026-11", "peer": "alice", "contacts": "7"}


# -- hotline purge ----------------------------------------------------------------------------

def test_purge_dry_run_counts_then_purge_deletes_and_is_audited(hotline, app):
    now = datetime.now(timezone.utc)
    add(app, InboundMessage(message_sid="SM" + "a" * 32, received_at=now - timedelta(days=2)),
        InboundMessage(message_sid="SM" + "b" * 32, received_at=now),
        ProviderRecord(sid="CA" + "c" * 32, kind="call", attempts=3, next_try_at=now),
        Voicemail(recording_sid="RE" + "d" * 32, created_at=now, attempts=1, next_try_at=now))

    dry = hotline("purge", "--dry-run")
    assert dry.exit_code == 0
    assert "would delete      1  duplicate-check message ids" in dry.stdout
    assert "waiting      1  Twilio records awaiting deletion there" in dry.stdout
    assert "waiting      1  voicemails waiting for the clinical director" in dry.stdout
    assert len(rows(app, InboundMessage)) == 2 and rows(app, AuditEvent) == []

    done = hotline("purge")
    assert "deleted      1  duplicate-check message ids" in done.stdout
    assert [r.message_sid for r in rows(app, InboundMessage)] == ["SM" + "b" * 32]
    assert len(rows(app, ProviderRecord)) == 1  # still being retried: kept
    [entry] = rows(app, AuditEvent)
    assert (entry.action, entry.actor) == ("purge", "coordinator")


def test_purge_with_nothing_to_delete_leaves_the_audit_trail_alone(hotline, app):
    assert hotline("purge").exit_code == 0
    assert rows(app, AuditEvent) == []


# -- hotline audit ----------------------------------------------------------------------------

@pytest.fixture
def a_trail(app):
    def at(day, hour):
        return datetime(2026, 11, day, hour, tzinfo=CHICAGO)
    add(app,
        AuditEvent(at=at(2, 9), action="config_reload", actor="rotation file",
                   detail="config/rotation.yaml: 4 peers"),
        AuditEvent(at=at(3, 3), action="reveal", actor="clinical_director",
                   detail="urgent conversation"),
        AuditEvent(at=at(4, 10), action="purge", actor="clock", detail="1 live call rows"))


def test_audit_lists_reloads_reveals_and_purges_oldest_first(hotline, a_trail):
    result = hotline("audit")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["| at | what | who | detail |", "| --- | --- | --- | --- |"]
    assert lines[2:] == [
        "| 2026-11-02T09:00:00-06:00 | rotation file reloaded | rotation file | "
        "config/rotation.yaml: 4 peers |",
        "| 2026-11-03T03:00:00-06:00 | REVEAL: a texter's number shown | clinical_director | "
        "urgent conversation |",
        "| 2026-11-04T10:00:00-06:00 | old operational rows deleted | clock | 1 live call rows |"]


def test_audit_for_a_day_shows_only_that_day(hotline, a_trail):
    entries = json.loads(hotline("audit", "--from", "2026-11-03", "--to", "2026-11-03",
                                 "--format", "json").stdout)
    assert entries == [{"at": "2026-11-03T03:00:00-06:00", "action": "reveal",
                        "what": "REVEAL: a texter's number shown", "actor": "clinical_director",
                        "detail": "urgent conversation"}]


def test_audit_as_csv_has_a_row_per_entry(hotline, a_trail):
    table = list(csv.reader(io.StringIO(hotline("audit", "--format", "csv").stdout)))
    assert table[0] == ["at", "action", "what", "actor", "detail"]
    assert [row[1] for row in table[1:]] == ["config_reload", "reveal", "purge"]


def test_audit_of_an_empty_period_says_so(hotline, a_trail):
    result = hotline("audit", "--from", "2026-12-01")
    assert result.stdout == "No audit entries in this period.\n"


def test_a_reveal_in_the_audit_names_no_number_and_no_conversation(hotline, app, phones):
    phones.text(OFFICER, "I have my pills lined up")
    phones.text(DIRECTOR, "REVEAL 1")
    assert OFFICER in phones.text(DIRECTOR, "REVEAL 1 CONFIRM")[0]
    trail = hotline("audit").stdout
    assert "REVEAL: a texter's number shown" in trail
    assert "555" not in trail and "#1" not in trail
