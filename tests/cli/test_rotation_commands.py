"""The coordinator's commands, run on the example rotation in config/."""
from __future__ import annotations

import json

from click.testing import CliRunner
from icalendar import Calendar

from hotline.cli import cli

EXAMPLE = "config/rotation.yaml"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_check_accepts_the_example_and_summarises_it():
    result = run("check", EXAMPLE)
    assert result.exit_code == 0
    assert result.output.startswith("OK  config/rotation.yaml")
    assert "Peers:      8" in result.output
    assert "nights: every 1d" in result.output


def test_check_says_who_may_start_a_callout_and_whom_it_reaches():
    assert ("Callout:    by text from clinical_director, tnguyen; reaches 3 peers "
            "(critical-incident); phones after 10m, 2x") in run("check", EXAMPLE).output


def test_check_shows_what_callers_and_texters_can_choose():
    result = run("check", EXAMPLE)
    assert "Menu:       2 Spanish (peer), 3 family member (family)" in result.output
    assert "Services:   5 resource line(s), office set, ask by name allowed" in result.output


def test_check_refuses_a_broken_file_with_file_line_and_reason(tmp_path):
    broken = tmp_path / "rotation.yaml"
    broken.write_text(open(EXAMPLE).read().replace("shift: 1w", "shift: 1 week", 1))
    result = run("check", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:26:" in result.output
    assert "bad duration '1 week'" in result.output


def test_oncall_on_christmas_morning_shows_the_override_by_step():
    result = run("oncall", "--config", EXAMPLE, "--at", "2026-12-25 09:00")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    step1 = lines.index("Step 1: primary (ring 25s, wait 5m)")
    assert lines[step1 + 1] == "  Tom Nguyen (tnguyen)  +12625550102  [primary]  OVERRIDE"
    assert "Dr. Dana Reyes (clinical_director)  +12625550199" in result.output


def test_oncall_json_is_the_documented_shape():
    result = run("oncall", "--config", EXAMPLE, "--at", "2026-12-23 23:00", "--json")
    report = json.loads(result.output)
    assert report["at"] == "2026-12-23T23:00:00-06:00"
    assert [s["step"] for s in report["steps"]] == [1, 2, 3]
    assert [r["id"] for r in report["steps"][1]["reach"]] == ["jsmith", "akim"]
    assert set(report["steps"][0]["reach"][0]) == {"id", "name", "phone", "via", "override"}
    assert report["fallback"]["forward"] == "988"


def test_schedule_lists_shifts_with_overrides_and_says_there_are_no_gaps():
    result = run("schedule", "--config", EXAMPLE, "--from", "2026-12-21", "--days", "14")
    assert result.exit_code == 0
    assert ("Thu 2026-12-24 18:00 -> Sat 2026-12-26 08:00  Tom Nguyen (tnguyen)  "
            "OVERRIDE line 37, replaces mgarcia") in result.output
    assert "No holes: every step reaches someone new" in result.output
    assert "!!!" not in result.output


def test_schedule_shows_a_windowed_rotations_off_hours_calmly_not_as_a_hole(tmp_path):
    gappy = tmp_path / "rotation.yaml"
    text = open(EXAMPLE).read().replace(
        "    - {notify: primary, ring: 25s, wait: 5m}", "    - {notify: nights, ring: 25s, wait: 5m}")
    gappy.write_text(text)
    result = run("schedule", "--config", str(gappy), "--from", "2026-12-21", "--days", "2")
    assert ("    designed step 1  Mon 2026-12-21 00:00 -> Mon 2026-12-21 18:00  "
            "nights off by design (active hours)") in result.output
    assert "  Mon 2026-12-21 00:00 -> Mon 2026-12-21 18:00     off by design" in result.output
    assert "!!!" not in result.output and "-- nobody --" not in result.output


# The example as a new coordinator first found it: a backup list one longer than primary's,
# so in the week of 28 December David Okafor is primary and backup at once.
SAME_PEER_TWICE = open(EXAMPLE).read().replace(
    "peers: [dokafor, mgarcia, jsmith, tnguyen]}",
    "peers: [jsmith, dokafor, mgarcia, tnguyen, lrossi]}")


def test_check_warns_weeks_ahead_when_one_peer_is_primary_and_backup(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(SAME_PEER_TWICE)
    result = run("check", str(path), "--from", "2026-12-14 09:00")
    assert result.exit_code == 0  # the file is valid; the warning is about coverage
    assert ("!!! HOLE     step 2  Sat 2027-01-02 06:00 -> Mon 2027-01-04 08:00  David Okafor "
            "(backup) already rung at step 1: contacts skip step 2") in result.output
    assert "WARNING: 6 hole(s)" in result.output


def test_schedule_reports_the_same_hole_for_the_coming_weeks(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(SAME_PEER_TWICE)
    result = run("schedule", "--config", str(path), "--from", "2026-12-21", "--days", "1")
    assert "Coverage, 8 week(s) from Mon 2026-12-21 00:00:" in result.output
    assert "!!! HOLE     step 2  Mon 2026-12-28 08:00 -> Mon 2026-12-28 18:00" in result.output


def test_a_hole_beyond_the_weeks_asked_for_is_not_reported(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(SAME_PEER_TWICE)
    result = run("check", str(path), "--from", "2026-12-14 09:00", "--weeks", "1")
    assert "No holes" in result.output and "HOLE" not in result.output


def test_check_on_the_example_is_clean_for_a_newcomer():
    result = run("check", EXAMPLE, "--from", "2026-12-03 09:00", "--weeks", "52")
    assert "No holes: every step reaches someone new" in result.output
    assert "!!!" not in result.output and "WARNING" not in result.output


def test_a_rotation_not_started_yet_is_a_hole_not_a_design(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(open(EXAMPLE).read().replace(
        'backup:  {start: "2026-01-05 08:00"', 'backup:  {start: "2027-01-11 08:00"').replace(
        "    - {notify: [backup, nights], ring: 25s, wait: 5m}",
        "    - {notify: backup, ring: 25s, wait: 5m}"))
    result = run("check", str(path), "--from", "2027-01-04 08:00", "--weeks", "1")
    assert ("!!! HOLE     step 2  Mon 2027-01-04 08:00 -> Mon 2027-01-11 08:00  nobody on call "
            "in backup") in result.output


def test_ics_feed_holds_only_the_chosen_peers_shifts_in_local_time(tmp_path):
    out = tmp_path / "pshah.ics"
    result = run("ics", "--config", EXAMPLE, "--peer", "pshah", "--from", "2026-12-28",
                 "--days", "7", "--output", str(out))
    assert result.exit_code == 0
    cal = Calendar.from_ical(out.read_bytes())
    events = [e for e in cal.walk("VEVENT")]
    assert [str(e["summary"]) for e in events] == ["On call (nights): Priya Shah"] * 2
    starts = sorted(e.decoded("dtstart") for e in events)
    assert [s.strftime("%Y-%m-%d %H:%M %Z") for s in starts] == [
        "2026-12-29 18:00 CST", "2026-12-31 18:00 CST"]


def test_ics_rejects_an_unknown_peer():
    result = CliRunner().invoke(cli, ["ics", "--config", EXAMPLE, "--peer", "nobody"])
    assert result.exit_code == 2
    assert "no peer with id 'nobody'" in result.output


def test_ics_shows_a_shift_already_running_whole_so_the_event_never_changes():
    # dokafor's primary week runs Mon 2026-11-30 08:00 to Mon 2026-12-07 08:00.
    feeds = [run("ics", "--config", EXAMPLE, "--peer", "dokafor", "--from", day, "--days", "1")
             for day in ("2026-12-02", "2026-12-03")]
    events = [Calendar.from_ical(f.output.encode()).walk("VEVENT") for f in feeds]
    assert [[str(e["uid"]) for e in evs] for evs in events] == [
        ["primary-20261130T0800-dokafor@hotline"]] * 2
    [event] = events[0]
    assert event.decoded("dtstart").strftime("%a %Y-%m-%d %H:%M") == "Mon 2026-11-30 08:00"
    assert event.decoded("dtend").strftime("%a %Y-%m-%d %H:%M") == "Mon 2026-12-07 08:00"


def test_oncall_prints_a_wait_under_a_minute_as_seconds(tmp_path):
    quick = tmp_path / "rotation.yaml"
    quick.write_text(open(EXAMPLE).read().replace("ring: 25s, wait: 5m}", "ring: 25s, wait: 90s}", 1))
    result = run("oncall", "--config", str(quick), "--at", "2026-12-25 09:00")
    assert "Step 1: primary (ring 25s, wait 90s)" in result.output


def test_the_config_comes_from_the_option_then_the_environment_then_config_dir(tmp_path,
                                                                              monkeypatch):
    other = tmp_path / "other.yaml"
    other.write_text(open(EXAMPLE).read().replace("Example PD Peer Support", "Other PD", 1))
    monkeypatch.setenv("HOTLINE_CONFIG", str(other))
    assert "Other PD" in run("oncall").output
    assert "Example PD" in run("oncall", "--config", EXAMPLE).output
    assert run("check", "--config", EXAMPLE).output.startswith("OK  config/rotation.yaml")
    monkeypatch.delenv("HOTLINE_CONFIG")
    assert "Example PD" in run("oncall").output


def test_check_explains_the_clinical_model_and_the_page_order():
    result = run("check", EXAMPLE)
    assert "Clinical:   clinician model" in result.output
    assert "every 2m up to 3 times per person" in result.output
    assert "callers press 9 for the clinician" in result.output


def test_check_explains_the_team_coordinator_model(tmp_path):
    edited = tmp_path / "rotation.yaml"
    edited.write_text(open(EXAMPLE).read().replace("model: clinician ", "model: team_coordinator "))
    result = run("check", str(edited))
    assert result.exit_code == 0, result.output
    assert "team coordinator model: no licensed clinician" in result.output
    assert "callers press 9 for the team coordinator" in result.output
def test_oncall_marks_a_peer_who_stepped_out_by_text(tmp_path, monkeypatch):
    from datetime import datetime

    from hotline.availability import state
    from hotline.store import create_schema, make_engine, make_sessions
    from tests.conftest import CHICAGO

    url = f"sqlite:///{tmp_path / 'hotline.sqlite'}"
    engine = make_engine(url)
    create_schema(engine)
    with make_sessions(engine)() as db, db.begin():
        now = datetime(2026, 12, 25, 8, 0, tzinfo=CHICAGO)
        state.step_out(db, "tnguyen", "off", datetime(2026, 12, 25, 18, 0, tzinfo=CHICAGO), now)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    result = run("oncall", "--config", EXAMPLE, "--at", "2026-12-25 09:00")
    assert ("  Tom Nguyen (tnguyen)  +12625550102  [primary]  OVERRIDE  STEPPED OUT until "
            "Fri 2026-12-25 18:00 (skipped)") in result.output
    report = json.loads(run("oncall", "--config", EXAMPLE, "--at", "2026-12-25 09:00",
                            "--json").output)
    assert report["stepped_out"] == {"tnguyen": "2026-12-25T18:00:00-06:00"}


def test_check_says_whether_texters_pictures_are_passed_on(tmp_path):
    assert "Pictures:   not passed on; the texter is told" in run("check", EXAMPLE).output
    relaying = tmp_path / "rotation.yaml"
    relaying.write_text(open(EXAMPLE).read() + "\nsms: {pictures: relay}\n")
    assert ("Pictures:   relayed to the peer, deleted at Twilio once delivered"
            in run("check", str(relaying)).output)


def test_check_says_how_calls_are_bridged_and_which_keys_a_peer_has(tmp_path):
    assert ("Calls:      bridged through a conference; the peer presses * then 9 (page the "
            "clinician)" in run("check", EXAMPLE).output)
    direct = tmp_path / "rotation.yaml"
    direct.write_text(open(EXAMPLE).read().replace("bridge: conference", "bridge: direct"))
    assert "Calls:      dialled straight to the peer" in run("check", str(direct)).output
