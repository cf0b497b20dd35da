"""The log filter (hotline/redact.py) masks every phone number, US or international, that
reaches a log line, and leaves Twilio's IDs whole so that a log still says which call or
message it is about. Records go through the real logging machinery, as in the router."""
from __future__ import annotations

import logging

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline import redact

log = logging.getLogger("hotline.test_log_redaction")

CALL_SID = "CA695f00a1b2c3d4e5f6071829305ca2cb"  # the shape of the `make run` log line
SIDS = [CALL_SID, "SM0123456789abcdef0123456789abcdef", "MM12345678901234567890123456789012",
        "AC00000000000000000000000000000000", "PN9f8e7d6c5b4a39281706f5e4d3c2b1a0"]


@pytest.fixture
def logged(caplog):
    redact.install()  # as create_app does: every record is masked when it is made
    caplog.set_level(logging.INFO, logger=log.name)

    def line(message: str, *args) -> str:
        caplog.clear()
        log.info(message, *args)
        [record] = caplog.records
        return record.getMessage()
    return line


def test_a_twilio_call_url_in_the_log_keeps_its_sid_whole(logged):
    url = f"POST /2010-04-01/Accounts/{SIDS[3]}/Calls/{CALL_SID}.json"
    assert logged("twilio request %s", url) == f"twilio request {url}"


@pytest.mark.parametrize("sid", SIDS)
def test_every_kind_of_twilio_sid_is_left_whole(logged, sid):
    assert logged("deleted %s at the provider", sid) == f"deleted {sid} at the provider"


# Fictional numbers only: the UK drama range (07700 900xxx), the Australian one (0491 570 xxx)
# and the US 555-01xx.
@pytest.mark.parametrize("number", ["447700900123", "+447700900123", "+44 7700 900123",
                                    "+61491570156", "+61 491 570 156", "61491570156",
                                    "+1 262 555 0101", "(262) 555-0101", "262-555-0101",
                                    "2625550101", "12625550101"])
def test_numbers_from_any_country_are_masked(logged, number):
    assert logged("text from %s failed", number) == "text from [number] failed"


def test_a_number_beside_a_sid_is_masked_and_the_sid_kept(logged):
    assert logged("message %s to %s refused", SIDS[1], "447700900123") == \
        f"message {SIDS[1]} to [number] refused"


def test_times_counts_and_ids_that_are_not_numbers_stay_readable(logged):
    line = "poll at 2026-11-23 23:00:00 took 1234 ms for 17 rows (pid 4242, port 5000)"
    assert logged(line) == line
    # Ten digits in a row could be a US number: masked, whatever they meant.
    assert logged("window second %s", 1795000000) == "window second [number]"


ACCESS_LINE = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'  # the Procfile's access-logformat
ATOMS = {"h": "127.0.0.1", "m": "POST", "U": "/voice/incoming", "s": "200", "b": "312",
         "M": "5", "q": "From=%2B12625550101", "r": "POST /voice/incoming?From=+12625550101"}


@pytest.fixture
def access_logged(caplog):
    redact.install()
    access = logging.getLogger("gunicorn.access")
    caplog.set_level(logging.INFO, logger=access.name)

    def line(atoms: dict) -> str:
        caplog.clear()
        access.info(ACCESS_LINE, atoms)  # as gunicorn's glogging does, with named fields
        [record] = caplog.records
        return record.getMessage()
    return line


def test_the_access_line_keeps_its_status_size_and_time(access_logged):
    # Side by side, "200 312 5" reads as a local number: it was masked whole before.
    assert access_logged(ATOMS) == '127.0.0.1 "POST /voice/incoming" 200 312 5ms'


def test_a_number_in_a_requested_path_is_masked_in_the_access_line(access_logged):
    line = access_logged({**ATOMS, "U": "/sms/+12625550101"})
    assert line == '127.0.0.1 "POST /sms/[number]" 200 312 5ms'


def test_a_client_address_field_that_is_not_an_address_is_masked(access_logged):
    line = access_logged({**ATOMS, "h": "2625550101"})
    assert line == '[number] "POST /voice/incoming" 200 312 5ms'


def test_a_named_field_printed_as_an_integer_is_masked_with_the_whole_line(logged, caplog):
    log.info("window %(second)d", {"second": 1795000000})
    assert caplog.records[-1].getMessage() == "window [number]"


PHONE_LIKE = st.text(alphabet="+0123456789 -().x#٤٩１２", max_size=12)
# A + and a real country code and a digit or two: the shapes nearest a short number.
SHORT_INTERNATIONAL = st.builds(lambda cc, sep, rest: f"+{cc}{sep}{rest}",
                                st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
                                st.sampled_from(["", " ", "-", "."]),
                                st.text(alphabet="0123456789", max_size=3))


ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)


def too_few_digits(text: str) -> bool:
    return sum(map(str.isdigit, text)) < redact.FEWEST_DIGITS


@settings(max_examples=600, deadline=None)
@given(st.one_of(ANY_TEXT, PHONE_LIKE, SHORT_INTERNATIONAL).filter(too_few_digits))
def test_text_with_too_few_digits_for_a_number_is_left_alone_by_the_full_search(text):
    # The fast path skips the matcher below FEWEST_DIGITS digits: the matcher agrees.
    assert redact.mask_numbers(text) == text


@pytest.mark.parametrize("shortest", ["+4912", "+49 12"])
def test_the_shortest_number_the_matcher_knows_is_still_masked(shortest):
    assert redact.redact(shortest) == "[number]"
