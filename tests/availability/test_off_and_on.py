"""A peer steps out by text and back in; the line skips them meanwhile, exactly as it
skips a peer on another call, and keeps everything they already hold.

The test rotation: Monday night 23:00, Alice is primary (step 1), Carol backup (step 2),
then the clinical director. Every test runs on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.availability import state
from hotline.store import AuditEvent, Conversation, PeerAway
from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, BOB, CAROL, DIRECTOR, OFFICER, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER = "+12625550143"  # a second officer
COORDINATOR = "+12625550110"


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def test_off_until_on_skips_her_for_new_texts_and_on_brings_her_back(phones):
    [reply] = phones.text(ALICE, "OFF")
    assert reply.startswith("You are OFF until ON. New contacts skip you.")
    phones.text(OFFICER, "rough night")
    assert not any("rough night" in t for t in phones.inbox(ALICE))
    assert phones.last(CAROL).startswith("Peer line #1: rough night")
    [back] = phones.text(ALICE, "on")
    assert back.startswith("You are ON")
    phones.text(OTHER, "can someone talk")
    assert phones.last(ALICE).startswith("Peer line #2: can someone talk")


def test_off_for_four_hours_ends_by_itself_and_she_is_told(phones):
    assert phones.text(ALICE, "OFF 4h")[0].startswith("You are OFF until Tue 03:00")
    phones.tick(4 * 3600 - 60)
    phones.text(OFFICER, "still up, can't sleep")
    assert phones.last(CAROL).startswith("Peer line #1")
    phones.text(CAROL, "yes")
    phones.tick(60)
    assert phones.last(ALICE).startswith("Peer line: your time off is over; you are ON again")
    phones.text(OTHER, "hello")
    assert phones.last(ALICE).startswith("Peer line #2: hello")


def test_off_until_a_clock_time_already_past_today_means_tomorrow(phones):
    # Monday 23:00: 18:00 has gone, so it is Tuesday's.
    assert phones.text(ALICE, "off until 18:00")[0].startswith("You are OFF until Tue 18:00.")
    assert phones.text(ALICE, "OFF until 6am")[0].startswith("You are OFF until Tue 06:00.")


def test_busy_for_thirty_minutes_skips_her_then_she_is_rung_again(phones):
    assert phones.text(ALICE, "BUSY 30m")[0].startswith("You are BUSY until 23:30.")
    phones.text(OFFICER, "hi")
    assert phones.last(CAROL).startswith("Peer line #1")
    phones.tick(31 * 60)
    phones.text(OTHER, "hi there")
    assert phones.last(ALICE).startswith("Peer line #2: hi there")


def test_her_open_conversation_stays_hers_while_she_is_off(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    [reply] = phones.text(ALICE, "OFF 1h")
    assert "Your open #1 stays yours (PASS hands one on)." in reply
    phones.text(OFFICER, "you still there?")
    assert phones.last(ALICE) == "#1: you still there?"
    [conv] = rows(app, Conversation)
    assert conv.owner == "alice"


def test_stepping_out_that_empties_a_step_tells_her_and_the_director_at_once(phones):
    [reply] = phones.text(ALICE, "OFF 2h")
    assert reply.endswith("Step 1 has nobody now; the coordinators have been told.")
    alert = phones.last(DIRECTOR)
    assert alert == ("Peer line: Alice is OFF until Tue 01:00, so step 1 has nobody now (primary). "
                     "Contacts go on to the next step.")


def test_when_she_is_back_the_director_hears_the_step_has_someone_again(phones):
    phones.text(ALICE, "OFF")
    phones.text(ALICE, "ON")
    assert phones.last(DIRECTOR) == "Peer line: Alice is back ON; step 1 has someone again."


def test_the_coordinators_in_the_file_get_that_alert_instead_of_the_director(
        phones, app, rotation_file):
    rotation_file.write_text(
        ROTATION + 'coordinators:\n  - {name: Sam Lee, phone: "262-555-0110"}\n')
    app.extensions["hotline.rotation"].refresh(force=True)
    phones.text(ALICE, "OFF")
    assert phones.last(COORDINATOR).startswith(
        "Peer line: Alice is OFF until ON, so step 1 has nobody")
    assert phones.inbox(DIRECTOR) == []


def test_stepping_out_when_someone_else_covers_the_step_alerts_nobody(phones, app, rotation_file):
    rotation_file.write_text(ROTATION.replace("notify: primary,", "notify: [primary, backup],"))
    app.extensions["hotline.rotation"].refresh(force=True)
    [reply] = phones.text(ALICE, "OFF 2h")
    assert "nobody" not in reply
    phones.text(ALICE, "ON")
    assert phones.inbox(DIRECTOR) == []  # no alarm, so no all-clear either


def test_a_peer_off_mid_escalation_passes_the_waiting_text_on_at_once(phones):
    phones.text(OFFICER, "rough night")
    assert phones.last(ALICE).startswith("Peer line #1")
    phones.text(ALICE, "OFF 1h")
    phones.tick(1)  # the clock's next poll, not the step's five minutes
    assert phones.last(CAROL).startswith("Peer line #1: an officer has waited")


def test_an_off_expiring_while_a_text_waits_offers_it_to_her(phones):
    phones.text(ALICE, "OFF 10m")
    phones.text(OFFICER, "hello?")
    assert phones.last(CAROL).startswith("Peer line #1")  # Alice skipped
    phones.tick(300)
    assert phones.last(DIRECTOR).startswith("Peer line #1")
    phones.tick(301)  # her ten minutes are up while nobody has taken it
    assert "your time off is over" in phones.inbox(ALICE)[-2]
    assert phones.last(ALICE) == ("Peer line #1: an officer has waited 10 min for a peer. "
                                  "Reply YES to take #1")
    assert phones.text(ALICE, "YES 1")[0].startswith("You have #1.")
    assert "peer is here now" in phones.last(OFFICER)


def test_a_backup_back_on_is_not_offered_a_text_still_waiting_for_the_primary(phones):
    phones.text(CAROL, "OFF")
    phones.text(OFFICER, "hello?")
    assert phones.last(ALICE).startswith("Peer line #1")
    phones.text(CAROL, "ON")
    assert not any("#1" in t for t in phones.inbox(CAROL))  # Alice has her five minutes
    phones.tick(300)
    assert phones.last(CAROL).startswith("Peer line #1: an officer has waited 5 min")


def test_status_says_what_the_line_thinks(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text(ALICE, "BUSY 30m")
    [status] = phones.text(ALICE, "status")
    assert status == ("You are BUSY until 23:30. On call now: primary until Mon 30 Nov 08:00. "
                      "Next: primary from Mon 7 Dec 08:00. Yours open: #1. Reminders on.")
    [bob] = phones.text(BOB, "STATUS")
    assert bob == ("You are ON. Not on call now. Next: primary from Mon 30 Nov 08:00. "
                   "You have no open conversations. Reminders on.")


def test_who_names_each_steps_people_and_who_stepped_out_and_no_numbers(phones):
    phones.text(ALICE, "OFF 1h")
    expected = ("On call now: 1 primary: Alice (away until Tue 00:00); 2 backup: Carol; "
                "3 clinical director: Dr. Dana Reyes.")
    assert phones.text(BOB, "WHO") == [expected]
    assert phones.text(DIRECTOR, "who") == [expected]


def test_an_off_survives_a_restart(phones):
    phones.text(ALICE, "OFF 4h")
    phones.restart()
    phones.text(OFFICER, "hello")
    assert phones.last(CAROL).startswith("Peer line #1")
    assert not any("hello" in t for t in phones.inbox(ALICE))


def test_stepping_out_and_back_is_audited_without_any_number(phones, app):
    phones.text(ALICE, "OFF 2h")
    phones.text(ALICE, "ON")
    trail = [(e.action, e.actor, e.detail) for e in rows(app, AuditEvent)]
    assert trail == [("availability", "alice", "OFF 2026-11-24T01:00-06:00"),
                     ("availability", "alice", "ON")]


def test_an_away_peer_is_not_rung_for_a_call(twilio, app, clock):
    with app.extensions["hotline.sessions"]() as db, db.begin():
        state.step_out(db, "alice", "busy", clock.now + timedelta(minutes=30), clock.now)
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [CAROL]
    assert call.connected_to == CAROL


# -- bad input: a clear reply, nothing changed --------------------------------------------

def test_more_than_fourteen_days_is_refused_and_nothing_changes(phones, app):
    [reply] = phones.text(ALICE, "OFF 20d")
    assert reply.startswith("Nothing changed: the longest is 14 days.")
    assert rows(app, PeerAway) == []
    phones.text(OFFICER, "hi")
    assert phones.last(ALICE).startswith("Peer line #1")


def test_a_length_or_time_the_line_cannot_read_is_refused_with_examples(phones, app):
    assert phones.text(ALICE, "OFF 3 fortnights")[0].startswith(
        "Nothing changed: write how long as a number and a unit, e.g. OFF, OFF 4h")
    assert phones.text(ALICE, "off until 25:00")[0].startswith(
        "Nothing changed: write the time as 18:00 or 6pm")
    assert phones.text(ALICE, "REMIND maybe")[0].startswith("REMIND takes ON or OFF")
    assert rows(app, PeerAway) == []


def test_off_from_a_number_that_is_not_a_peer_changes_nothing_and_opens_nothing(phones, app):
    [reply] = phones.text(OFFICER, "OFF 4h")
    assert reply.startswith("OFF, ON, BUSY and REMIND are for peers on the rotation")
    assert rows(app, Conversation) == [] and rows(app, PeerAway) == []
    assert phones.inbox(ALICE) == []


def test_the_clinical_director_cannot_step_out_by_text(phones, app):
    [reply] = phones.text(DIRECTOR, "OFF")
    assert reply.startswith("The clinical director cannot step out by text")
    assert rows(app, PeerAway) == []


def test_a_peer_writing_busy_in_a_sentence_is_reaching_out_not_stepping_out(phones, app):
    phones.text(BOB, "busy night, can someone talk?")
    assert rows(app, PeerAway) == []
    assert phones.last(ALICE).startswith("Peer line #1: busy night, can someone talk?")
