"""Glass walls in words."""

from __future__ import annotations

from walkaway.model.features.glass_walls import FEATURES


def test_no_incumbent_is_not_an_incumbent_for_0_years() -> None:
    tenure = FEATURES["incumbent_tenure_years"]
    assert tenure.describe(0.0) == "no entrenched incumbent"
    assert tenure.describe(7.0) == "incumbent for 7 years"
    assert tenure.describe(1.0) == "incumbent for 1 year"
