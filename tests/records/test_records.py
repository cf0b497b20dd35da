"""A day on the line, then what is left of it: statistics, and nothing that points at anyone."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hotline.records import stats
from hotline.records.retention import GIVE_UP_AFTER, delete_at_provider, purge
from hotline.store import (AuditEvent, Call, Conversation, PeerLoad, ProviderRecord, StatEvent,
                           Voicemail)
from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, CAROL, CHICAGO, DIRECTOR
from tests.sms_fixtures import phones  # noqa: F401 - fixture

TUESDAY = datetime(2026, 11, 24, tzinfo=CHICAGO)
CALLERS = [f"+1262555011{i}" for i in range(5)]  # five officers who call
TEXTERS = ["+12625550120", "+12625550121", "+12625550122"]  # three who text
BODIES = ["rough night after the crash scene", "I have my pills lined up", "can anyone talk"]


def at(clock, hour):
    clock.now = TUESDAY.replace(hour=hour)


def a_day_on_the_line(phones, clock):
    calls = phones.carrier
    at(clock, 9)  # the primary answers
    calls.phones.update({ALICE: Phone.accepts(after=5), CAROL: Phone.accepts(after=5),
                         DIRECTOR: Phone.accepts(after=5)})
    calls.call(CALLERS[0])
    at(clock, 10)  # the primary misses it; the backup answers
    calls.phones[ALICE] = Phone.rings_out()
    calls.call(CALLERS[1])
    at(clock, 11)  # both peers pass; the clinical director answers
    calls.phones.update({ALICE: Phone.passes(), CAROL: Phone.passes()})
    calls.call(CALLERS[2])
    at(clock, 12)  # nobody answers: the fallback
    calls.phones.update({ALICE: Phone.rings_out(), CAROL: Phone.rings_out(),
                         DIRECTOR: Phone.rings_out()})
    calls.call(CALLERS[3])
    at(clock, 13)  # the caller gives up while it rings
    calls.call(CALLERS[4], hang_up_after=10)

    at(clock, 14)  # a text answered after a minute
    phones.text(TEXTERS[0], BODIES[0])
    phones.tick(60)
    phones.text(ALICE, "YES")
    phones.text(ALICE, "DONE")
    at(clock, 15)  # an urgent text answered after two minutes
    phones.text(TEXTERS[1], BODIES[1])
    phones.tick(120)
    phones.text(ALICE, "YES")
    phones.text(ALICE, "DONE")
    at(clock, 16)  # nobody takes it: every step's wait runs out, then the fallback, then idle close
    phones.text(TEXTERS[2], BODIES[2])
    for _ in range(4):
        phones.tick(600)
    phones.tick(25 * 3600)


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def test_a_day_of_mixed_traffic_gives_exactly_the_expected_statistics(phones, app, clock):
    a_day_on_the_line(phones, clock)
    events = rows(app, StatEvent)
    outcomes = sorted((e.channel, e.outcome, e.step, e.escalations) for e in events)
    assert outcomes == [
        ("text", "fallback", None, 2), ("text", "peer", 1, 0), ("text", "peer", 1, 0),
        ("voice", "abandoned", None, 0), ("voice", "clinical_director", 3, 2),
        ("voice", "fallback", None, 2), ("voice", "peer", 1, 0), ("voice", "peer", 2, 1)]
    assert [e.urgent for e in events if e.channel == "text"].count(True) == 1

    report = stats.build(events, datetime(2026, 1, 1, tzinfo=CHICAGO),
                         datetime(2027, 1, 1, tzinfo=CHICAGO), CHICAGO)
    november = next(cells for key, cells, _ in report.months if key == "2026-11")
    assert (november["voice"].shown, november["text"].shown) == ("5", "3")
    figures = dict(report.figures)
    assert figures["Contacts"] == "8"
    assert figures["Answered by a person"] == "63%"  # 5 of 8; the other 3 ended 2 + 1
    assert figures["Median time to a person"] == "37 s"
    assert figures["90th percentile time to a person"] == "120 s"
    assert figures["Answered at step 1"] == "hidden"  # 3 of 5 would say 2 went further
    assert figures["Escalated to the clinical director"] == "hidden"  # one: too few to show
    assert figures["Reached the fallback"] == "hidden"
    assert figures["Ended before reaching a person"] == "hidden"
    assert figures["Flagged urgent"] == "hidden"
    assert figures["After hours (outside Mon-Fri 08:00-17:00)"] == "0%"


def test_peer_workload_is_counted_per_month_without_contact_times(phones, app, clock):
    a_day_on_the_line(phones, clock)
    load = {(r.peer_id, r.month): r.contacts for r in rows(app, PeerLoad)}
    assert load == {("alice", "2026-11"): 3, ("carol", "2026-11"): 1,
                    ("clinical_director", "2026-11"): 1}


def test_after_close_and_purge_nothing_holds_a_number_or_a_word_they_said(
        phones, app, clock, caplog, database_url):
    caplog.set_level(logging.DEBUG)
    a_day_on_the_line(phones, clock)
    purge(app, clock.now + timedelta(days=2))
    assert rows(app, Call) == [] and rows(app, Conversation) == []
    secrets = [fmt for n in CALLERS + TEXTERS
               for fmt in (n, n[1:], n[2:], f"({n[2:5]}) {n[5:8]}-{n[8:]}", n[5:])]
    secrets += BODIES
    logged = caplog.text
    assert [s for s in secrets if s in logged] == []
    if database_url.startswith("sqlite"):
        app.extensions["hotline.engine"].dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert [s for s in secrets if s.encode() in data] == []


def test_twilio_is_asked_to_delete_every_call_and_message_record(phones, app, clock):
    a_day_on_the_line(phones, clock)
    waiting = {r.sid for r in rows(app, ProviderRecord)}
    call_sids = {sid for url, params in phones.carrier.requests if "/voice/incoming" in url
                 for sid in [params["CallSid"]]}
    message_sids = {params["MessageSid"] for url, params in phones.carrier.requests
                    if url.endswith("/sms/incoming")}
    sent_sids = {s.sid for s in phones.rest.sent if s.sid}
    assert call_sids | message_sids | sent_sids <= waiting
    delete_at_provider(app, clock.now + timedelta(minutes=15))
    assert call_sids | message_sids | sent_sids <= set(phones.rest.deleted)
    assert rows(app, ProviderRecord) == []


def test_a_twilio_error_on_delete_is_retried_and_does_not_stop_the_line(phones, app, clock):
    at(clock, 9)
    phones.text(TEXTERS[0], BODIES[0])
    phones.rest.fail_deletes(1000)
    later = clock.now + timedelta(minutes=15)
    assert delete_at_provider(app, later) == 0
    assert all(r.attempts == 1 for r in rows(app, ProviderRecord))
    phones.text(ALICE, "YES")  # the line works while Twilio refuses deletions
    assert "peer is here now" in phones.last(TEXTERS[0])
    phones.rest.fail_deletes(0)
    assert delete_at_provider(app, later + timedelta(minutes=3)) >= 2
    assert phones.rest.deleted


def test_purge_dry_run_counts_and_keeps_everything(phones, app, clock):
    at(clock, 9)
    phones.text(TEXTERS[0], BODIES[0])
    counts = purge(app, clock.now + timedelta(days=2), dry_run=True)
    assert counts["duplicate-check message ids"] == 1
    assert purge(app, clock.now + timedelta(days=2), dry_run=True) == counts
    assert rows(app, AuditEvent) == []  # a dry run is not a purge
    purge(app, clock.now + timedelta(days=2), actor="coordinator")
    [audit] = rows(app, AuditEvent)
    assert (audit.action, audit.actor) == ("purge", "coordinator")
    assert "1 duplicate-check message ids" in audit.detail


def test_an_hourly_purge_with_nothing_to_delete_leaves_no_audit_row(app, clock):
    for hour in range(48):
        assert not any(purge(app, clock.now + timedelta(hours=hour)).values())
    assert rows(app, AuditEvent) == []


def add(app, *records):
    with app.extensions["hotline.sessions"]() as db, db.begin():
        db.add_all(records)


def test_a_twilio_record_still_being_retried_is_never_purged_however_old(app, clock):
    add(app, ProviderRecord(sid="RE" + "1" * 32, kind="recording", attempts=GIVE_UP_AFTER - 1,
                            next_try_at=clock.now - timedelta(days=30)))
    counts = purge(app, clock.now)
    assert counts["Twilio records whose deletion tries ran out"] == 0
    assert [r.sid for r in rows(app, ProviderRecord)] == ["RE" + "1" * 32]


def test_a_twilio_record_whose_tries_ran_out_is_purged(app, clock):
    add(app, ProviderRecord(sid="SM" + "2" * 32, kind="message", attempts=GIVE_UP_AFTER,
                            next_try_at=clock.now))
    assert purge(app, clock.now)["Twilio records whose deletion tries ran out"] == 1
    assert rows(app, ProviderRecord) == []


def test_deleting_at_twilio_gives_up_after_its_tries_when_twilio_keeps_failing(
        phones, app, clock):
    at(clock, 9)
    phones.text(TEXTERS[0], BODIES[0])
    phones.rest.fail_deletes(10_000)
    later = clock.now
    for _ in range(GIVE_UP_AFTER):
        later += timedelta(hours=7)  # past the longest backoff
        delete_at_provider(app, later)
    assert rows(app, ProviderRecord) == []
    assert phones.rest.deleted == []


def test_a_voicemail_never_played_goes_after_a_day_and_its_recording_is_deleted_at_twilio(
        app, clock):
    sid = "RE" + "3" * 32
    add(app, Voicemail(recording_sid=sid, created_at=clock.now, attempts=0,
                       next_try_at=clock.now))
    assert purge(app, clock.now + timedelta(hours=23))[
        "voicemails never played (their recordings are deleted at Twilio)"] == 0
    counts = purge(app, clock.now + timedelta(hours=25))
    assert counts["voicemails never played (their recordings are deleted at Twilio)"] == 1
    assert rows(app, Voicemail) == []
    assert [(r.sid, r.kind) for r in rows(app, ProviderRecord)] == [(sid, "recording")]
    [entry] = rows(app, AuditEvent)
    assert "1 voicemails never played" in entry.detail


def test_a_config_reload_is_audited_without_any_number(app, rotation_file):
    import os

    rotation_file.write_text(rotation_file.read_text().replace("name: Alice", "name: Alicia"))
    st = rotation_file.stat()
    os.utime(rotation_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    app.extensions["hotline.rotation"].current()
    [audit] = rows(app, AuditEvent)
    assert audit.action == "config_reload" and "4 peers" in audit.detail
    assert "555" not in audit.detail
