"""Whatever a signed webhook carries, the answer is valid TwiML, never a 500."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROGRAM

VOICE_ENDPOINTS = ["/voice/incoming", "/voice/menu", "/voice/next?attempt=0",
                   "/voice/next?attempt=banana", "/voice/whisper?call=CAx&attempt=0&person=alice",
                   "/voice/screen?call=CAx&attempt=1&person=nobody", "/voice/screen",
                   "/voice/status", "/voice/emergency-done"]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
params = st.fixed_dictionaries(
    {},
    optional={
        "CallSid": st.one_of(st.just("CAx"), text),
        "From": st.one_of(st.just("+12625550142"), st.just("anonymous"), text),
        "To": st.just(PROGRAM),
        "Digits": st.one_of(st.sampled_from(["1", "2", "9", "", "#", "11"]), text),
        "CallStatus": st.sampled_from(["ringing", "in-progress", "completed", "busy", "canceled", "x"]),
        "DialCallStatus": st.sampled_from(["completed", "busy", "no-answer", "failed", "canceled"]),
        "DialCallDuration": st.one_of(st.sampled_from(["0", "30"]), text),
        "ParentCallSid": st.one_of(st.just("CAx"), text),
    })


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(VOICE_ENDPOINTS), form=params)
def test_any_signed_voice_webhook_answers_twiml(twilio, endpoint, form):
    resp = twilio.post(endpoint, form)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "text/xml"
    assert ET.fromstring(resp.get_data()).tag == "Response"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(VOICE_ENDPOINTS), form=params,
       signature=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                         max_size=40)
       # A header may carry any Latin-1 text, not only what a signature is made of.
       | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                        blacklist_characters="\x7f"), max_size=40))
def test_any_unsigned_or_forged_webhook_is_refused(twilio, endpoint, form, signature):
    assert twilio.post(endpoint, form, signature=signature).status_code == 403


WEBHOOK_ROUTES = ["voice.dial_done", "voice.whisper", "voice.status", "conference.leg",
                  "sms.status", "callout.answer"]
query_values = st.one_of(st.none(), st.integers(), text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(WEBHOOK_ROUTES), script_root=st.sampled_from(["", "/line"]),
       args=st.dictionaries(st.sampled_from(["call", "attempt", "person", "st", "tr", "mode"]),
                            query_values, max_size=4))
def test_a_link_reads_exactly_as_url_for_writes_it(app, endpoint, script_root, args):
    from flask import url_for
    from hotline.webhooks import link
    with app.test_request_context("/voice/incoming", base_url=f"http://line.example{script_root}"):
        assert link(endpoint, **args) == url_for(endpoint, **args)
