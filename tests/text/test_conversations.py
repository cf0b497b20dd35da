"""An officer texts the line and a peer answers: acceptance, relay, commands."""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

from sqlalchemy import select

from hotline.store import AuditEvent, Conversation, StatEvent
from tests.conftest import ALICE, BOB, CAROL, DIRECTOR, OFFICER, PROGRAM, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def test_officer_texts_primary_accepts_and_they_talk_through_the_program_number(phones, app):
    replies = phones.text(OFFICER, "rough night, can someone talk?")
    assert "trained peer will reply" in replies[0] and "988" in replies[0]
    assert phones.inbox(ALICE) == ["Peer line #1: rough night, can someone talk? - "
                                   "reply YES to take #1"]
    assert phones.inbox(CAROL) == [] and phones.inbox(DIRECTOR) == []

    [reply] = phones.text(ALICE, "yes")
    assert reply.startswith("You have #1")
    assert "peer is here now" in phones.last(OFFICER)

    mark = phones.sent_count()
    phones.text(ALICE, "Hi, I'm here. What's going on?")
    phones.text(OFFICER, "just a bad call today")
    sent = phones.since(mark)
    assert [(s.to, s.body) for s in sent] == [(OFFICER, "Hi, I'm here. What's going on?"),
                                              (ALICE, "#1: just a bad call today")]
    assert {s.from_ for s in phones.rest.sent} == {PROGRAM}  # nobody sees a personal number
    assert all(s.status_callback == "https://hotline.example.org/sms/status"
               for s in sent)


def test_nobody_else_hears_once_it_is_taken(phones):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "Y")
    phones.tick(600)  # the step-1 timer would have fired long ago
    assert phones.inbox(CAROL) == [] and phones.inbox(DIRECTOR) == []


def test_two_peers_race_to_yes_exactly_one_wins(phones, app, rotation_file):
    rotation_file.write_text(ROTATION.replace("notify: primary,", "notify: [primary, backup],"))
    phones.text(OFFICER, "anyone?")
    assert phones.inbox(ALICE) and phones.inbox(CAROL)
    answers, barrier = {}, threading.Barrier(2)

    def say_yes(number):
        barrier.wait()
        answers[number] = phones.text(number, "YES")[0]

    threads = [threading.Thread(target=say_yes, args=(n,)) for n in (ALICE, CAROL)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [n for n, a in answers.items() if a.startswith("You have #1")]
    assert len(winners) == 1, answers
    loser = CAROL if winners == [ALICE] else ALICE
    assert "already taken" in answers[loser] or "taken by another" in phones.last(loser)
    [conv] = rows(app, Conversation)
    assert conv.owner == ("alice" if winners == [ALICE] else "carol")
    assert phones.inbox(OFFICER).count(app.extensions["hotline.rotation"].current()
                                       .config.sms.joined) == 1


def test_officers_texting_at_the_same_instant_each_get_a_peer_and_their_own_code(phones, app):
    # Twenty webhooks at once from threads of ONE Python process (production spreads
    # them over worker processes) can queue on the GIL past the 2 s production budget:
    # the scenarios' roomier budget (tests/conftest.py) keeps this about the codes.
    officers = [f"+1262555{n:04d}" for n in range(150, 170)]
    sids = {number: phones.carrier.sid("SM") for number in officers}
    replies, barrier = {}, threading.Barrier(len(officers))

    def text(number):
        barrier.wait()
        replies[number] = phones.text(number, "need to talk", sid=sids[number])

    threads = [threading.Thread(target=text, args=(n,)) for n in officers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    welcome = app.extensions["hotline.rotation"].current().config.sms.welcome
    assert all(replies[n] == [welcome] for n in officers), replies
    codes = sorted(c.code for c in rows(app, Conversation))
    assert codes == list(range(1, len(officers) + 1))
    assert sorted(int(b.split("#")[1].split(":")[0]) for b in phones.inbox(ALICE)) == codes


def test_a_texter_still_gets_a_conversation_when_every_small_code_is_being_claimed(
        phones, app):
    """PostgreSQL: other transactions hold the claim on codes 1..64 (or anything else on
    the server uses the same advisory keys): the officer still gets a peer, under a code
    past them, never the emergency answer."""
    import pytest
    from sqlalchemy import text
    from hotline.text.conversations import CODE_LOCK
    engine = app.extensions["hotline.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time and no claims to skip")
    with engine.connect() as other:
        with other.begin():
            other.execute(text("SELECT pg_advisory_xact_lock(:k, s) FROM "
                               "generate_series(1, 64) AS s"), {"k": CODE_LOCK})
            welcome = app.extensions["hotline.rotation"].current().config.sms.welcome
            assert phones.text(OFFICER, "need to talk") == [welcome]
    [conv] = rows(app, Conversation)
    assert conv.code > 64
    assert phones.last(ALICE).startswith(f"Peer line #{conv.code}")


def test_claiming_a_code_holds_the_claim_on_that_code_alone(phones, app):
    """Five conversations open: finding the next code must not leave this transaction
    holding claims on 1..5 as well, which would push every webhook alongside it past
    them (PostgreSQL may evaluate the claim before the check that a code is taken)."""
    import pytest
    from sqlalchemy import text
    from hotline.text.conversations import PG_FREE_CODE
    if app.extensions["hotline.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite claims no codes")
    for n in range(5):
        phones.text(f"+1262555{150 + n:04d}", "need to talk")
    with app.extensions["hotline.engine"].connect() as conn, conn.begin():
        assert conn.scalar(text(f"SELECT {PG_FREE_CODE}")) == 6
        held = conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                "AND pid = pg_backend_pid()"))
    assert held == 1


def test_pass_hands_the_texter_to_the_next_step(phones):
    phones.text(OFFICER, "hello")
    [reply] = phones.text(ALICE, "PASS")
    assert "next peer" in reply
    assert phones.last(CAROL).startswith("Peer line #1")
    phones.text(CAROL, "yes")
    phones.text(CAROL, "Carol here")
    assert phones.last(OFFICER) == "Carol here"


def test_owner_pass_releases_the_conversation(phones, app):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "yes")
    phones.text(ALICE, "PASS #1")
    assert "another peer" in phones.last(OFFICER)
    assert phones.last(CAROL).startswith("Peer line #1")
    [conv] = rows(app, Conversation)
    assert conv.owner is None


def test_done_closes_and_forgets_the_texter(phones, app):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "yes")
    [reply] = phones.text(ALICE, "DONE")
    assert reply == "#1 is closed. Thank you."
    assert "closed" in phones.last(OFFICER)
    assert rows(app, Conversation) == []
    [event] = rows(app, StatEvent)
    assert (event.channel, event.outcome, event.step, event.urgent) == ("text", "peer", 1, False)
    # Texting again starts afresh.
    phones.text(OFFICER, "me again")
    assert phones.last(ALICE).startswith("Peer line #1: me again")


def test_a_closed_conversations_code_goes_to_the_next_texter_and_then_the_codes_run_on(
        phones):
    for n in range(3):
        phones.text(f"+1262555{150 + n:04d}", "need to talk")  # #1, #2, #3
    phones.text(ALICE, "YES 2")
    assert phones.text(ALICE, "#2 DONE") == ["#2 is closed. Thank you."]
    phones.text("+12625550160", "me too")
    assert phones.last(ALICE).startswith("Peer line #2: me too")
    phones.text("+12625550161", "and me")
    assert phones.last(ALICE).startswith("Peer line #4: and me")


def test_peer_with_two_conversations_writes_with_a_prefix_and_plain_text_follows_her_last_one(
        phones):
    # Time passes between texts: with equal timestamps "latest" would only be the
    # higher id, and the test could not tell the two rules apart.
    other = "+12625550177"
    phones.text(OFFICER, "first")
    phones.text(ALICE, "yes")
    phones.tick(60)
    phones.text(other, "second")
    assert phones.last(ALICE).startswith("Peer line #2: second")
    phones.tick(60)
    phones.text(ALICE, "YES #2")
    phones.tick(60)
    phones.text(ALICE, "hi, I just took yours")
    assert phones.last(other) == "hi, I just took yours"
    phones.tick(60)
    phones.text(ALICE, "#1 back to you")
    assert phones.last(OFFICER) == "back to you"
    phones.tick(60)
    phones.text(other, "still there?")  # a texter writing in does not move her plain text
    phones.tick(60)
    phones.text(ALICE, "and one more thing")
    assert phones.last(OFFICER) == "and one more thing"
    assert phones.last(other) == "hi, I just took yours"
    assert phones.text(ALICE, "#9 hello") == [
        "You do not have #9 open, so nothing was sent. Yours: #1, #2."]


def test_unknown_peer_command_gets_help_not_silence(phones):
    assert "YES" in phones.text(ALICE, "HELP")[0]
    assert "Nothing is waiting" in phones.text(BOB, "yes")[0]
    assert "You do not have #3" in phones.text(BOB, "DONE #3")[0]


def test_texter_who_is_a_peer_is_not_notified_on_their_own_phone(phones, app):
    replies = phones.text(ALICE, "I need to talk to someone myself")
    assert "trained peer" in replies[0]
    assert phones.inbox(ALICE) == replies  # only the welcome, never a notice
    assert phones.last(CAROL).startswith("Peer line #1: I need to talk")


def test_duplicate_webhook_is_processed_once(phones, app):
    phones.text(OFFICER, "hello", sid="SM" + "a" * 32)
    assert phones.text(OFFICER, "hello", sid="SM" + "a" * 32) == []
    assert len(phones.inbox(ALICE)) == 1
    assert len(rows(app, Conversation)) == 1


def test_texter_new_peer_and_stop(phones):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "yes")
    assert phones.text(OFFICER, "new peer") == ["OK, we are finding you another peer."]
    assert "asked for another peer" in phones.last(ALICE)
    assert phones.last(CAROL).startswith("Peer line #1")
    phones.text(CAROL, "yes")
    assert phones.text(OFFICER, "STOP") == []  # Twilio answers STOP itself
    assert "opted out" in phones.last(CAROL)
    phones.rest.opted_out.add(OFFICER)
    phones.text(CAROL, "are you still there?")
    assert "opted out" in phones.last(CAROL)


def test_reveal_only_for_the_clinical_director_and_counted(phones, app):
    phones.text(OFFICER, "I have my pills lined up")
    assert "clinical director only" in phones.text(ALICE, "REVEAL #1")[0]
    assert "CONFIRM" in phones.text(DIRECTOR, "REVEAL #1")[0]
    assert phones.text(DIRECTOR, "REVEAL #1 CONFIRM")[0] == \
        f"#1 texter's number: {OFFICER} (this reveal is audited)."
    # The urgent words also paged the clinician: that is in the trail too.
    [audit] = [a for a in rows(app, AuditEvent) if a.action == "reveal"]
    assert audit.actor == "clinical_director"
    assert OFFICER not in audit.detail and "0142" not in audit.detail


def test_rotation_file_sms_section_changes_the_words(phones, rotation_file):
    rotation_file.write_text(ROTATION + "sms:\n  welcome: Hang on, a peer is coming.\n"
                                        "  urgent_phrases: [rough night]\n")
    assert phones.text(OFFICER, "rough night") == [
        "Hang on, a peer is coming.",
        "If you are in danger now, call 911. You can call or text 988 any time. "
        "We are reaching a peer and our clinician for you now."]


def test_peer_texts_call_and_the_router_rings_her_then_the_officer_both_seeing_the_program_number(
        phones):
    phones.text(OFFICER, "can we talk on the phone")
    phones.text(ALICE, "YES")
    assert phones.text(ALICE, "CALL") == ["Calling you now for #1; press 1 to be connected."]
    [placed] = phones.rest.calls
    assert (placed.to, placed.from_) == (ALICE, PROGRAM)
    assert phones.last(OFFICER) == "Your peer will call you from this number in a moment."
    # Twilio fetches the TwiML when Alice picks up: she must press 1 (a voicemail cannot).
    screen = ET.fromstring(phones.carrier.post(placed.url, {"CallSid": placed.sid}).get_data())
    assert screen.find("Gather") is not None and OFFICER not in ET.tostring(screen, "unicode")
    bridged = ET.fromstring(phones.carrier.post(placed.url, {"CallSid": placed.sid,
                                                             "Digits": "1"}).get_data())
    dial = bridged.find("Dial")
    assert (dial.find("Number").text, dial.get("callerId")) == (OFFICER, PROGRAM)


def test_call_for_a_conversation_the_peer_does_not_own_explains_instead(phones):
    replies = phones.text(ALICE, "CALL #4")
    assert replies[0].startswith("You do not have #4 open.")
    assert phones.rest.calls == []


def test_a_texters_first_help_reaches_a_peer_like_any_first_text(phones):
    # Twilio auto-replies to HELP and still posts it to us: a texter writing "help"
    # needs a human, so the line answers too rather than leaving it to the auto-reply.
    replies = phones.text(OFFICER, "HELP")
    assert "trained peer" in replies[0]
    assert phones.inbox(ALICE) == ["Peer line #1: HELP - reply YES to take #1"]


def test_a_texters_help_mid_conversation_goes_to_her_peer(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(OFFICER, "help") == []
    assert phones.last(ALICE) == "#1: help"


def test_start_without_a_conversation_opens_nothing_and_gets_no_reply(phones, app):
    # Twilio confirms the opt-in itself; a welcome and a notice to peers would be noise.
    assert phones.text(OFFICER, "UNSTOP") == []
    assert rows(app, Conversation) == []
    assert phones.sent_count() == 0


def test_start_after_stop_tells_the_peer_and_the_conversation_carries_on(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(OFFICER, "STOP") == []
    phones.rest.opted_out.add(OFFICER)  # what Twilio does on STOP
    assert "opted out" in phones.last(ALICE)
    assert phones.text(OFFICER, "start") == []
    phones.rest.opted_out.discard(OFFICER)  # and on START
    assert phones.last(ALICE) == "#1: the texter opted back in (START)."
    phones.text(ALICE, "welcome back")
    assert phones.last(OFFICER) == "welcome back"


def test_a_long_first_message_reaches_the_peer_whole(phones):
    words = ("I have been on the job nineteen years and tonight I found a child and I cannot "
             "stop seeing it, my wife is asleep and I do not want to wake her, I just need "
             "somebody who gets it")
    phones.text(OFFICER, words)
    assert phones.last(ALICE) == f"Peer line #1: {words} - reply YES to take #1"


def test_a_peer_talking_to_her_texter_is_not_rung_for_a_new_call_until_she_hangs_up(phones, app):
    from hotline.testing.fake_twilio import ACCOUNT_SID, Phone

    phones.text(OFFICER, "can we talk on the phone")
    phones.text(ALICE, "YES")
    phones.text(ALICE, "CALL")
    [placed] = phones.rest.calls
    assert placed.status_callback == "https://hotline.example.org/voice/status"
    phones.carrier.post(placed.url, {"CallSid": placed.sid, "Digits": "1"})  # she presses 1
    phones.carrier.phones[CAROL] = Phone.accepts()
    other_officer = phones.carrier.call("+12625550143")
    assert ALICE not in other_officer.rung() and other_officer.connected_to == CAROL
    phones.carrier.post("/voice/status", {"CallSid": placed.sid, "CallStatus": "completed",
                                          "AccountSid": ACCOUNT_SID})
    phones.carrier.phones[ALICE] = Phone.accepts()
    third = phones.carrier.call("+12625550144")
    assert third.connected_to == ALICE
    assert sorted(e.channel for e in rows(app, StatEvent)) == ["voice", "voice"]  # no bridge
