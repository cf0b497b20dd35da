"""A rotation with two clinicians taking turns (Kiran this week), for the paging tests."""
from __future__ import annotations

import pytest

from tests.conftest import ROTATION

KIRAN, LEE = "+12625550198", "+12625550197"
CLINICAL = """
clinical:
  model: clinician
  clinicians:
    - {id: kpatel, name: Dr. Kiran Patel, phone: "262-555-0198"}
    - {id: lchen, name: Dr. Lee Chen, phone: "262-555-0197"}
  rotation: {start: "2026-11-23 08:00", shift: 1w}
  menu: {digit: 9, say: "To speak with our clinician, press 9."}
"""


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION + CLINICAL)
    return path
