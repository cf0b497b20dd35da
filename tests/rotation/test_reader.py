"""The rotation-file loader: every problem names file, line, column and a fix.

Each case edits one spot of a small valid file (BASE, line numbers below) and
checks the exact position and the advice. Phone numbers never appear in
messages, because messages end up in logs.
"""
from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import pytest

from hotline.rotation.reader import ConfigError, Problem, load, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "rotation.yaml"

BASE = """\
program:
  name: Test PD Peer Support
  number: "+1 262 555 0100"
  timezone: America/Chicago
clinical_director: {name: Dr. Test, phone: "(262) 555-0199"}
peers:
  - {id: ann, name: Ann A, phone: "(262) 555-0101"}
  - {id: bob, name: Bob B, phone: "(262) 555-0102"}
  - {id: cat, name: Cat C, phone: "(262) 555-0103"}
rotations:
  primary:
    start: "2026-01-05 08:00"
    shift: 1w
    peers: [ann, bob]
  nights:
    start: "2026-01-05 18:00"
    shift: 1d
    peers: [cat]
    active: {days: [mon, fri], from: 18:00, to: 06:00}
overrides:
  - {rotation: primary, peer: cat, replaces: ann, from: "2026-12-24 18:00", to: "2026-12-26 08:00"}
escalation:
  steps:
    - {notify: primary}
    - {notify: [nights, clinical_director]}
  fallback: {forward: "988", message: Call 988.}
"""


def edited(*changes: tuple[str, str]) -> str:
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} should occur once in BASE"
        text = text.replace(old, new)
    return text


def problems(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse(text, "test.yaml")
    assert caught.value.problems, "a ConfigError must carry at least one located problem"
    return caught.value.problems


def problem_at(found: list[Problem], line: int, column: int) -> Problem:
    here = [p for p in found if (p.line, p.column) == (line, column)]
    assert here, f"no problem at {line}:{column}; got {found}"
    return here[0]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_base_file_is_valid():
    config = parse(BASE, "test.yaml")
    assert list(config.peers) == ["ann", "bob", "cat"]


# (old text, new text, line, column, phrases the message must contain)
CASES = {
    "unknown_peer_in_rotation": (
        "[ann, bob]", "[ann, bbo]", 14, 18,
        ["unknown peer id 'bbo' in rotation 'primary'", "did you mean 'bob'?"]),
    "unknown_peer_in_override": (
        "peer: cat, replaces", "peer: zed, replaces", 21, 31,
        ["unknown peer id 'zed' in override peer", "add them under peers first"]),
    "unknown_name_in_notify": (
        "{notify: primary}", "{notify: primry}", 24, 16,
        ["'primry' in notify is not a rotation, a peer id or clinical_director",
         "did you mean 'primary'?"]),
    "unknown_rotation_in_override": (
        "rotation: primary", "rotation: primery", 21, 16,
        ["unknown rotation 'primery' in override", "did you mean 'primary'?"]),
    "bad_duration": (
        "shift: 1w", "shift: 1 week", 13, 12,
        ["bad duration '1 week' for rotation 'primary' shift", "e.g. 25s, 5m, 12h, 1d or 1w"]),
    "zero_duration": (
        "shift: 1d", "shift: 0d", 17, 12, ["bad duration '0d'", "write a number and a unit"]),
    "bad_time": (
        '"2026-01-05 08:00"', '"2026-01-05 8am"', 12, 12,
        ["bad time '2026-01-05 8am' for rotation 'primary' start", 'write it as "2026-01-05 08:00"']),
    "bad_time_of_day": (
        "from: 18:00", "from: 25:00", 19, 38,
        ["bad time of day '25:00'", 'write it as "18:00" in quotes']),
    "unknown_day": (
        "[mon, fri]", "[mon, fry]", 19, 26, ["unknown day 'fry'", "use mon, tue, wed"]),
    "invalid_phone_number": (
        '"(262) 555-0102"', '"(414) 555-017"', 8, 35,
        ["invalid phone number for a peer 'bob'", "write the full number"]),
    "duplicate_peer_id": (
        '555-0103"}\n', '555-0103"}\n  - {id: ann, name: Ann Again, phone: "(262) 555-0104"}\n',
        10, 5, ["duplicate peer id 'ann'", "every peer needs their own id"]),
    "duplicate_phone_number": (
        '555-0103"}\n', '555-0103"}\n  - {id: dan, name: Dan D, phone: "262.555.0102"}\n',
        10, 5, ["'dan' has the same phone number as 'bob'", "every person needs their own number"]),
    "duplicate_key": (
        "    shift: 1w\n", "    shift: 1w\n    shift: 2w\n", 14, 5,
        ["'shift' appears twice in rotation 'primary'", "keep only one"]),
    "typo_in_key": (
        "    shift: 1w", "    shfit: 1w", 13, 5,
        ["unknown key 'shfit' in rotation 'primary'", "did you mean 'shift'?"]),
    "empty_rotation": (
        "peers: [cat]", "peers: []", 18, 12,
        ["rotation 'nights' is empty", "list at least one peer id"]),
    "unknown_time_zone": (
        "America/Chicago", "America/Chicgo", 4, 13,
        ["unknown time zone 'America/Chicgo'", "use an IANA name such as America/Chicago"]),
    "override_ending_before_it_starts": (
        '"2026-12-26 08:00"', '"2026-12-23 08:00"', 21, 81,
        ["override ends before it starts", "'to' must be after 'from'"]),
    "invalid_yaml": (
        "    shift: 1w", "   shift: 1w", 13, 4,
        ["not valid YAML", "indented differently from the lines above it", "using spaces"]),
}


@pytest.mark.parametrize("old,new,line,column,phrases", CASES.values(), ids=CASES.keys())
def test_problem_names_file_line_column_and_what_to_do(old, new, line, column, phrases):
    found = problems(edited((old, new)))
    problem = problem_at(found, line, column)
    assert problem.file == "test.yaml"
    for phrase in phrases:
        assert phrase in problem.message
    assert str(problem) == f"test.yaml:{line}:{column}: {problem.message}"


def test_typo_in_key_also_reports_the_missing_key_at_the_rotation():
    found = problems(edited(("    shift: 1w", "    shfit: 1w")))
    assert problem_at(found, 12, 5).message == "rotation 'primary' is missing 'shift'"


def test_several_errors_are_reported_together_in_line_order():
    with pytest.raises(ConfigError) as caught:
        parse(edited(("America/Chicago", "America/Chicgo"), ("shift: 1w", "shift: 1x"),
                     ("{notify: primary}", "{notify: primry}")), "test.yaml")
    assert [(p.line, p.column) for p in caught.value.problems] == [(4, 13), (13, 12), (24, 16)]
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "test.yaml:4:13", "test.yaml:13:12", "test.yaml:24:16"]


# -- YAML's own errors, in plain words ------------------------------------------------
# The parser says "expected <block end>, but found '?'"; a coordinator needs the fix.

@pytest.mark.parametrize("old,new,line,plain", [
    ("    shift: 1w", "\tshift: 1w", 13, "indented with a tab; YAML needs spaces"),
    ("    shift: 1w", "   shift: 1w", 13, "indented differently from the lines above it"),
    ("  timezone: America/Chicago", "  timezone:America/Chicago", 5, "write a space after every colon"),
    ("name: Test PD Peer Support", "name: Peer Support: Test PD", 2, "put a value that contains ': ' in quotes"),
    ('peers: [ann, bob]', 'peers: [ann, bob', 15, "a [ ... ] list is not closed"),
    # the open quote swallows the line break: the parser stops on the line after
    ('{name: Dr. Test, phone: "(262) 555-0199"}', '{name: Dr. Test, phone: "(262) 555-0199}', 7,
     "a quote on this line or the one above is missing"),
], ids=["tab", "indentation", "no_space_after_colon", "colon_in_a_value", "unclosed_list",
        "unclosed_quote"])
def test_a_yaml_mistake_is_explained_in_plain_words_with_the_parsers_own_after_it(
        old, new, line, plain):
    [problem] = problems(edited((old, new)))
    assert problem.message.startswith("not valid YAML: ")
    assert plain in problem.message
    assert "(the parser said: " in problem.message
    assert problem.line == line


def test_a_missing_space_after_a_colon_inside_braces_says_so_without_the_value():
    found = problems(edited(('phone: "(262) 555-0102"', 'phone:"(262) 555-0102"')))
    message = "\n".join(p.message for p in found)
    assert "'phone:' needs a space after the colon in a peer, e.g. 'phone: ...'" in message
    assert "555" not in message


# -- phone numbers stay out of messages ---------------------------------------------

@pytest.mark.parametrize("old,new,bad,why", [
    ('"(262) 555-0102"', '"(414) 555-017"', "(414) 555-017", "invalid phone number for a peer"),
    ('"+1 262 555 0100"', '"+1 414 555 01"', "+1 414 555 01", "invalid phone number for the program"),
    ('"(262) 555-0199"', '"414-555-01999"', "414-555-01999", "invalid phone number for clinical"),
    ('forward: "988"', 'forward: "414 555 016"', "414 555 016", "invalid phone number for fallback"),
    ('555-0103"}\n', '555-0103"}\n  - {id: dan, name: Dan D, phone: "262.555.0102"}\n',
     "262.555.0102", "has the same phone number as 'bob'"),
], ids=["peer", "program", "director", "fallback", "duplicate"])
def test_messages_never_contain_the_phone_number(old, new, bad, why):
    found = problems(edited((old, new)))
    assert any(why in p.message for p in found)
    message = str(ConfigError(found))
    assert bad not in message
    assert digits(bad) not in digits(message)


@pytest.mark.parametrize("old,new,bad", [
    ("{notify: primary}", '{notify: "(262) 555-0101"}', "(262) 555-0101"),
    ("{id: ann,", '{id: "(262) 555-0101",', "(262) 555-0101"),
    ("[ann, bob]", '[ann, "262-555-0102"]', "262-555-0102"),
], ids=["in_notify", "as_peer_id", "in_rotation_peers"])
def test_phone_number_typed_where_a_name_belongs_is_not_echoed(old, new, bad):
    with pytest.raises(ConfigError) as caught:
        parse(edited((old, new)), "test.yaml")
    assert digits(bad) not in digits(str(caught.value))


# -- values that must be reported rather than silently dropped ----------------------

def test_empty_time_zone_is_reported_at_its_line():
    assert problems(edited(("America/Chicago", '""')))[0].line == 4


def test_empty_fallback_message_is_reported_at_its_line():
    assert problems(edited(("message: Call 988.", 'message: ""')))[0].line == 26


def test_empty_days_list_is_an_error_not_round_the_clock_cover():
    assert problems(edited(("days: [mon, fri]", "days: []")))[0].line == 19


# -- reading values ------------------------------------------------------------------

def test_unquoted_1800_in_active_window_is_read_as_a_clock_time():
    window = parse(BASE, "test.yaml").rotations["nights"].active
    assert (window.start, window.end) == (time(18, 0), time(6, 0))  # not YAML's 1080 and 360
    assert window.days == frozenset({0, 4}) and window.wraps


def test_example_rotation_file_loads():
    config = load(EXAMPLE)
    assert (len(config.peers), len(config.rotations), len(config.overrides),
            len(config.escalation.steps)) == (8, 3, 2, 3)
    assert config.source == str(EXAMPLE)


def test_missing_file_raises_config_error_naming_the_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load(path)
    [problem] = caught.value.problems
    assert problem.file == str(path) and "cannot read the file" in problem.message


def test_file_not_saved_as_utf8_raises_config_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("Ann A", "Ana Pe\u00f1a").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.problems[0].file == str(path)


def test_a_peer_with_a_bad_number_is_one_error_not_an_unknown_id_everywhere_she_is_named():
    found = problems(edited(('phone: "(262) 555-0101"', 'phone: "(262) 555-010"')))
    assert [(p.line, "invalid phone number" in p.message) for p in found] == [(7, True)]


def test_an_override_naming_a_misspelt_rotation_gets_a_hint_even_when_rotations_fail():
    found = problems(edited(("shift: 1w", "shift: 1 week"),
                            ("shift: 1d", "shift: 1 day"),
                            ("rotation: primary, peer: cat", "rotation: primry, peer: cat")))
    [override] = [p for p in found if p.line == 21]
    assert "did you mean 'primary'?" in override.message


# -- the callout section ---------------------------------------------------------------

TEAM = BASE.replace('{id: ann, name: Ann A, phone: "(262) 555-0101"}',
                    '{id: ann, name: Ann A, phone: "(262) 555-0101", tags: [critical-incident]}')


def test_without_a_callout_section_only_the_clinical_director_may_text_callout():
    settings = parse(BASE, "test.yaml").callout
    assert settings.allowed == ("clinical_director",) and settings.tag is None
    assert (settings.call_after.total_seconds(), settings.calls, settings.yes_is_busy) == (
        600, 2, False)


def test_the_callout_section_is_read():
    config = parse(TEAM + "callout: {allowed: [clinical_director, ann], tag: critical-incident, "
                   "call_after: 5m, calls: 1, tally_every: 30s, yes_is_busy: true, "
                   "closing: Thanks all.}\n", "test.yaml")
    c = config.callout
    assert (c.allowed, c.tag, c.call_after.total_seconds(), c.calls, c.tally_every.total_seconds(),
            c.yes_is_busy, c.closing) == (("clinical_director", "ann"), "critical-incident",
                                          300, 1, 30, True, "Thanks all.")


@pytest.mark.parametrize("section, column, phrase", [
    ("callout: {allowed: [anne]}", 21, "'anne' in callout allowed is not a peer id or "
                                       "clinical_director; did you mean 'ann'?"),
    ("callout: {tag: critcal-incident}", 16, "no peer has the tag 'critcal-incident' named in "
                                              "callout tag; did you mean 'critical-incident'?"),
    ("callout: {call_after: 10 min}", 23, "bad duration '10 min' for callout call_after"),
    ("callout: {calls: lots}", 18, "callout calls should be a whole number from 0"),
    ("callout: {yes_is_busy: maybe}", 24, "callout yes_is_busy should be true or false"),
    ("callout: {close_after: 5m}", 24, "callout close_after should be at least 30m"),
    ("callout: {alowed: [ann]}", 11, "unknown key 'alowed' in callout; did you mean 'allowed'?"),
])
def test_a_bad_callout_section_is_refused_at_its_line(section, column, phrase):
    line = TEAM.count("\n") + 1
    found = problem_at(problems(TEAM + section + "\n"), line, column)
    assert phrase in found.message


# -- menu kinds, services, short names (issue 16) --------------------------------------------

SERVICES = """\
voice:
  menu:
    - {digit: 3, key: family, kind: family, say: "For family members, press 3."}
    - {digit: 6, key: office, kind: office, say: "For the program office, press 6."}
services:
  ask_by_name: yes
  resources: ["EAP, 24/7: 262-555-0160"]
  office: {phone: "262-555-0140", hours: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "17:00"}}
"""


def test_menu_kinds_services_and_short_names_are_read_with_safe_defaults():
    config = parse(edited(('name: Ann A, phone', 'name: Ann A, short_name: [Annie], phone'))
                   + SERVICES, "test.yaml")
    family, office = config.voice.menu
    assert (family.kind, family.tags, family.label) == ("family", ("family",), "family member")
    assert "Families are part of this program" in family.reply
    assert (office.kind, office.label) == ("office", "program office")
    assert config.services.ask_by_name is True
    assert config.services.resources == ("EAP, 24/7: 262-555-0160",)
    assert config.services.office.phone == "+12625550140"
    assert config.peers["ann"].short_names == ("Annie",)
    plain = parse(BASE, "test.yaml")
    assert plain.services.ask_by_name is False and plain.services.office is None
    assert "988" in plain.services.resources[0]


def test_an_office_choice_without_an_office_is_refused_at_the_menu():
    text = BASE + SERVICES.replace('  office: {phone: "262-555-0140", hours: {days: [mon, tue, '
                                   'wed, thu, fri], from: "08:00", to: "17:00"}}\n', "")
    found = problems(text)
    assert "'services: office' is missing" in problem_at(found, 30, 7).message


def test_an_unknown_menu_kind_is_reported_with_the_kinds_there_are():
    found = problems(BASE + SERVICES.replace("kind: family", "kind: famly"))
    assert "unknown menu kind 'famly'; use one of peer, family" in problem_at(found, 29, 37).message


# -- coordinators and reminders ------------------------------------------------------------

NOTICES = """coordinators:
  - {name: Sam Lee, phone: "(262) 555-0110"}
reminders:
  before: 6h
  at_start: false
  gap_summary: "fri 16:00"
  weeks: 4
"""


def test_coordinators_and_reminders_are_read_with_their_defaults_when_absent():
    plain = parse(BASE, "test.yaml")
    assert plain.coordinators == () and plain.reminders.before == timedelta(hours=12)
    assert plain.reminders.gap_summary is None  # the weekly summary is asked for, not sent
    config = parse(BASE + NOTICES, "test.yaml")
    assert [(c.name, c.phone) for c in config.coordinators] == [("Sam Lee", "+12625550110")]
    r = config.reminders
    assert (r.before, r.at_start, r.handoff, r.gap_summary, r.weeks) == (
        timedelta(hours=6), False, True, (4, time(16, 0)), 4)


@pytest.mark.parametrize("old, new, line, phrase", [
    ("before: 6h", "before: 6 hours", 30, "bad duration '6 hours' for reminders before"),
    ('gap_summary: "fri 16:00"', "gap_summary: friday", 32, "bad gap_summary 'friday'"),
    ("weeks: 4", "weeks: 99", 33, "reminders weeks should be a whole number from 1 to 52"),
    ("at_start: false", "at_start: sometimes", 31, "reminders at_start should be true or false"),
    ('phone: "(262) 555-0110"', 'phone: "(262) 555-011"', 28, "invalid phone number for "
     "coordinator 'Sam Lee'"),
])
def test_a_bad_reminder_or_coordinator_line_is_refused_with_its_line(old, new, line, phrase):
    found = problems(BASE + NOTICES.replace(old, new))
    assert [(p.line, phrase in p.message) for p in found] == [(line, True)]


# -- pictures (issue 16 item 6) ---------------------------------------------------------------

def test_pictures_are_refused_unless_the_file_says_relay():
    assert parse(BASE, "test.yaml").sms.pictures == "refuse"
    assert parse(BASE + "sms: {pictures: Relay}\n", "test.yaml").sms.pictures == "relay"


def test_a_misspelt_pictures_setting_is_refused_at_its_line():
    line = BASE.count("\n") + 1
    found = problem_at(problems(BASE + "sms: {pictures: forward}\n"), line, 17)
    assert "sms pictures should be refuse or relay" in found.message


# -- calls bridged through a conference (issue 13 item 4) -------------------------------------

def test_calls_are_bridged_directly_unless_the_file_says_conference():
    assert parse(BASE, "test.yaml").voice.bridge == "direct"
    assert parse(BASE + "voice: {bridge: Conference}\n", "test.yaml").voice.bridge == "conference"


def test_a_misspelt_bridge_setting_is_refused_at_its_line():
    line = BASE.count("\n") + 1
    found = problem_at(problems(BASE + "voice: {bridge: conf}\n"), line, 17)
    assert "voice bridge should be direct or conference" in found.message
