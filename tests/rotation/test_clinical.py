"""The `clinical` section: clinicians with their own turn, paging cadence, the team
coordinator model, the caller's menu choice; old files without it keep loading."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.rotation.model import COORDINATOR_MODEL, URGENT_PHRASES
from hotline.rotation.reader import parse
from hotline.schedule import Schedule
from tests.rotation.test_reader import BASE, problems

CHICAGO = ZoneInfo("America/Chicago")
CLINICAL = """\
clinical:
  model: clinician
  clinicians:
    - {id: kpatel, name: Dr. Kiran Patel, phone: "(262) 555-0198"}
    - {id: lchen, name: Dr. Lee Chen, phone: "(262) 555-0197"}
  rotation: {start: "2026-01-05 08:00", shift: 1w}
  page: {every: 3m, times: 2}
  menu: {digit: 9, say: "To speak with our clinician, press 9."}
"""


def test_a_file_without_a_clinical_section_pages_the_director_twice_a_minute_thrice():
    config = parse(BASE)
    assert (config.clinical.page_every, config.clinical.page_times) == (timedelta(minutes=2), 3)
    chain = Schedule(config).clinical_chain(datetime(2026, 11, 23, 23, tzinfo=CHICAGO))
    assert [p.id for p in chain] == ["clinical_director"]


def test_clinicians_take_turns_and_the_director_is_paged_last():
    config = parse(BASE + CLINICAL)
    schedule = Schedule(config)
    first_week = schedule.clinical_chain(datetime(2026, 1, 6, 3, tzinfo=CHICAGO))
    second_week = schedule.clinical_chain(datetime(2026, 1, 13, 3, tzinfo=CHICAGO))
    assert [p.id for p in first_week] == ["kpatel", "lchen", "clinical_director"]
    assert [p.id for p in second_week] == ["lchen", "kpatel", "clinical_director"]
    assert (config.clinical.page_every, config.clinical.page_times) == (timedelta(minutes=3), 2)


def test_a_clinician_texts_as_themselves_and_the_menu_offers_them():
    config = parse(BASE + CLINICAL)
    assert config.person_by_phone("+12625550198").id == "kpatel"
    assert config.is_clinical("kpatel") and not config.is_clinical("ann")
    [option] = config.voice.menu
    assert (option.digit, option.clinician) == ("9", True)
    assert config.voice.menu_prompt == "To speak with our clinician, press 9."


def test_the_team_coordinator_model_changes_the_title():
    config = parse(BASE + CLINICAL.replace("model: clinician", f"model: {COORDINATOR_MODEL}"))
    assert config.clinical.title == "team coordinator"


@pytest.mark.parametrize("bad, line, message", [
    ("model: clinician", 2, "clinical model should be clinician"),
    ("times: 2", 7, "page times should be a whole number from 1 to 10"),
    ("every: 3m", 7, "page every should be at least 30s"),
    ("id: lchen", 5, "clinician id 'ann' is already used"),
    ("digit: 9", 8, "clinical menu digit should be one of 0 or 2-9"),
])
def test_a_bad_clinical_line_is_reported_where_it_is(bad, line, message):
    wrong = {"model: clinician": "model: therapist", "times: 2": "times: many",
             "every: 3m": "every: 5s", "id: lchen": "id: ann", "digit: 9": "digit: 1"}[bad]
    start = BASE.count("\n")
    found = problems(BASE + CLINICAL.replace(bad, wrong))
    assert any(p.line == start + line and message in p.message for p in found), found


def test_a_clinician_may_not_share_a_peers_number():
    found = problems(BASE + CLINICAL.replace("555-0197", "555-0101"))
    assert any("same phone number" in p.message for p in found)


def test_default_urgent_phrases_are_phrases_not_shop_talk():
    assert all(" " in p for p in URGENT_PHRASES)
    assert not {"gun", "pills", "suicide", "goodbye"} & set(URGENT_PHRASES)
