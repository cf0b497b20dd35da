"""A callout that cannot start says why and changes nothing: no row, no text to anyone."""
from __future__ import annotations

import threading

from tests.callout.fixtures import START, Callout, rotation_file, rows  # noqa: F401
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def nothing_sent_to_the_team(phones) -> bool:
    return all(phones.inbox(p) == [] for p in (ALICE, BOB, CAROL))


def test_an_unknown_tag_is_refused_with_the_tags_there_are(phones, app):
    assert phones.text(DIRECTOR, "CALLOUT #critical Defusing tonight") == [
        "Unknown tag 'critical'. Tags in the rotation file: critical-incident, family. "
        "Nothing was sent."]
    assert rows(app, Callout) == [] and nothing_sent_to_the_team(phones)


def test_a_tag_nobody_but_the_sender_has_is_refused(phones, app, rotation_file):
    rotation_file.write_text(rotation_file.read_text().replace(
        '{id: dave,  name: Dave,  phone: "262-555-0104"}',
        '{id: dave,  name: Dave,  phone: "262-555-0104", tags: [dispatch]}'))
    app.extensions["hotline.rotation"].current()  # the reload a running router would do
    assert phones.text(DAVE, "CALLOUT #dispatch Debrief at 9") == [
        "Nobody with the tag 'dispatch' can be asked (besides you). Nothing was sent."]
    assert rows(app, Callout) == []


def test_a_second_callout_while_one_is_open_is_refused(phones, app):
    phones.text(DIRECTOR, START)
    mark = phones.sent_count()
    assert phones.text(DAVE, "CALLOUT Hospital vigil") == [
        "A callout is already open (started 23:00). Close it first (CLOSE, or `hotline "
        "callout close`). Nothing was sent."]
    assert [s.to for s in phones.since(mark)] == [DAVE]
    assert len(rows(app, Callout)) == 1


def test_callout_from_a_peer_the_file_does_not_allow_is_refused(phones, app):
    assert phones.text(ALICE, START) == [
        "CALLOUT is only for the people the rotation file allows (callout allowed). "
        "Nothing was sent. To reach a peer yourself, text again without the word CALLOUT "
        "first."]
    assert rows(app, Callout) == [] and phones.inbox(BOB) == []


def test_callout_without_a_message_asks_for_one(phones, app):
    assert phones.text(DIRECTOR, "callout")[0].startswith("Write what the callout is for")
    assert rows(app, Callout) == []


def test_callout_from_a_number_outside_the_file_is_a_texter_and_reaches_a_peer(phones, app):
    # Never turned away: whoever texts the line is answered as someone who needs a peer.
    [welcome] = phones.text(OFFICER, START)
    assert welcome.startswith("Thanks for reaching out.")
    assert rows(app, Callout) == []
    assert phones.last(ALICE).startswith("Peer line #1: CALLOUT")


def test_close_from_someone_else_is_refused_and_the_callout_stays_open(phones, app):
    phones.text(DAVE, START)
    assert phones.text(CAROL, "CLOSE") == [
        "Only the person who started the callout, or the clinical director, can close it."]
    assert len(rows(app, Callout)) == 1
    phones.text(DIRECTOR, "close")  # the clinical director may
    assert rows(app, Callout) == []


def test_a_peer_writing_callout_to_her_texter_is_relayed_not_refused(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "callout tonight was rough for you?") == []
    assert phones.last(OFFICER) == "callout tonight was rough for you?"


def test_two_callouts_started_at_the_same_instant_open_exactly_one(phones, app):
    replies, barrier = {}, threading.Barrier(2)

    def start(number, message):
        barrier.wait()
        replies[number] = phones.text(number, message)[0]

    threads = [threading.Thread(target=start, args=a) for a in
               ((DIRECTOR, "CALLOUT Defusing at District 4"), (DAVE, "CALLOUT Hospital vigil"))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    opened = [n for n, r in replies.items() if r.startswith("Callout sent")]
    assert len(opened) == 1, replies
    assert "already open" in replies[DAVE if opened == [DIRECTOR] else DIRECTOR] or \
        "opened a moment ago" in replies[DAVE if opened == [DIRECTOR] else DIRECTOR]
    assert len(rows(app, Callout)) == 1
    assert len(phones.inbox(ALICE)) == 1  # one callout text, not two
