"""The provider sweep: texts and calls Twilio kept for the line past the retention
window are deleted there, even those the router never saw, and the audit counts them."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.records import audit
from hotline.records.provider_sweep import sweep_provider
from hotline.store import AuditEvent
from tests.conftest import CHICAGO, OFFICER, PROGRAM
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER_LINE = "+12625550177"  # another number on the same Twilio account


def test_texts_and_calls_twilio_kept_during_an_outage_are_deleted_by_the_sweep(phones, app):
    now, rest = phones.clock.now, phones.rest
    # The database was down yesterday: the emergency route answered these, and the
    # router never learnt their SIDs.
    old = [rest.keep("message", PROGRAM, OFFICER, now - timedelta(hours=25)),
           rest.keep("message", OFFICER, PROGRAM, now - timedelta(hours=25)),
           rest.keep("call", PROGRAM, OFFICER, now - timedelta(hours=30))]
    recent = rest.keep("message", PROGRAM, OFFICER, now - timedelta(hours=1))
    elsewhere = rest.keep("message", OTHER_LINE, OFFICER, now - timedelta(hours=48))
    assert sweep_provider(app, now) == {"message": 2, "call": 1}
    assert set(old) <= set(rest.deleted)
    assert recent not in rest.deleted  # within the retention window: not yet
    assert elsewhere not in rest.deleted  # not this line's


def test_the_audit_counts_what_the_sweep_deleted_at_twilio(phones, app):
    now = phones.clock.now
    phones.rest.keep("message", PROGRAM, OFFICER, now - timedelta(hours=25))
    phones.rest.keep("call", PROGRAM, OFFICER, now - timedelta(hours=25))
    sweep_provider(app, now)
    with app.extensions["hotline.sessions"]() as db:
        rows = list(db.scalars(select(AuditEvent).where(
            AuditEvent.action == audit.PROVIDER_SWEEP)))
    trail = audit.render(rows, CHICAGO, "markdown")
    assert "old records deleted at Twilio by the sweep" in trail
    assert "messages: 1, calls: 1" in trail


def test_a_sweep_that_finds_nothing_leaves_no_audit_entry(phones, app):
    assert sweep_provider(app, phones.clock.now) == {"message": 0, "call": 0}
    with app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(AuditEvent)).all() == []
