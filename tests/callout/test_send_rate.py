"""The README's figure, played out: a callout to 40 peers on a long code (one text a
second) has texted everyone 40 seconds later, one a second, and an urgent crisis text
arriving in the middle goes next rather than last."""
from __future__ import annotations

import pytest

from tests.conftest import DIRECTOR, ROTATION

TEAM = [f"+1262555{150 + i:04d}" for i in range(40)]  # 555-0150 .. 555-0189, fictional


@pytest.fixture
def rotation_file(tmp_path):
    peers = "".join(f'  - {{id: p{i}, name: Peer {i}, phone: "{n}", tags: [critical-incident]}}\n'
                    for i, n in enumerate(TEAM))
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION.replace("peers:\n", "peers:\n" + peers, 1))
    return path


from tests.sms_fixtures import phones  # noqa: E402,F401 - fixture


def test_a_callout_to_40_peers_takes_40_seconds_at_one_text_a_second(phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(DIRECTOR, "CALLOUT #critical-incident Line-of-duty death, chapel 06:00")
    reached = [sum(1 for n in TEAM if phones.inbox(n))]
    for _ in range(40):
        phones.tick(1)
        reached.append(sum(1 for n in TEAM if phones.inbox(n)))
    assert reached == list(range(1, 41)) + [40]


def test_an_urgent_text_in_the_middle_of_a_callout_goes_next(phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(DIRECTOR, "CALLOUT #critical-incident Line-of-duty death, chapel 06:00")
    phones.tick(1)
    phones.tick(1)  # three callout texts are out, 37 wait
    phones.text("+12625550143", "I can't do this anymore, I want to end it")
    phones.tick(1)
    phones.tick(1)
    after = [s.body for s in phones.rest.sent if s.sid][3:5]
    assert [b.startswith("URGENT") for b in after] == [True, True]  # the peer, the director
