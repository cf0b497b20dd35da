"""The log filter (hotline/redact.py) masks every phone number, US or international, that
reaches a log line, and leaves Twilio's IDs whole so that a log still says which call or
message it is about. Records go through the real logging machinery, as in the router."""
from __future__ import annotations

import logging

import pytest

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
