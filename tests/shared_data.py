"""The public CRM exports in ``../shared/data`` beside the clone, and the mark of the tests that
read them.

A developer's clone without them skips those tests. ``make test`` (so CI) sets
``WALKAWAY_REQUIRE_SHARED_DATA=1``: then nothing is skipped, and a missing export fails its tests
instead, so that a test CI runs can always fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IBM = SHARED_DATA / "ibm-sales-win-loss"
IBM_EXPORT = IBM / "WA_Fn-UseC_-Sales-Win-Loss.csv.gz"
MAVEN = SHARED_DATA / "maven-crm-opportunities"


def needs(path: Path) -> pytest.MarkDecorator:
    """Skip a test when ``path`` is absent, unless the run requires the shared data."""
    required = os.environ.get("WALKAWAY_REQUIRE_SHARED_DATA") == "1"
    return pytest.mark.skipif(
        not required and not path.exists(),
        reason=f"the public exports are not beside this clone ({path} is absent)",
    )
