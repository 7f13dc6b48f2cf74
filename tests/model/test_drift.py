"""Drift: PSI per feature and per sign, and values never seen in training."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model.drift import (
    AS_OF_FEATURES,
    FEATURE_PSI_WARN,
    SIGN_PSI_WARN,
    DriftCounter,
    FeatureProfile,
    psi,
)

SIGNS = {"tenure": "glass_walls", "tender": "glass_walls", "industry": "icp_fit"}


def deals(
    rows: int, seed: int, tenure_shift: float = 0.0, new_industry: float = 0.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    industry = rng.choice(["retail", "banking", "energy"], rows).astype(object)
    industry[rng.random(rows) < new_industry] = "space mining"
    tenure = rng.exponential(2.0, rows) + tenure_shift
    tenure[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "tenure": tenure,
            "tender": rng.choice(["yes", "no"], rows).astype(object),
            "industry": industry,
        }
    )


def drift_of(train: pd.DataFrame, pipeline: pd.DataFrame, chunk: int = 10_000):
    counter = DriftCounter(FeatureProfile.of(train, SIGNS))
    for start in range(0, len(pipeline), chunk):
        counter.add(pipeline.iloc[start : start + chunk])
    return counter.report()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12),
    st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12),
)
def test_psi_is_never_negative_and_zero_only_for_the_same_shares(
    left: list[float], right: list[float]
) -> None:
    size = min(len(left), len(right))
    expected = np.array(left[:size]) / sum(left[:size])
    actual = np.array(right[:size]) / sum(right[:size])
    assert psi(expected, actual) >= -1e-12
    assert psi(expected, expected) == 0.0


def test_the_same_population_does_not_drift() -> None:
    report = drift_of(deals(5_000, seed=1), deals(1_000, seed=2))
    assert not report.by_sign()["drifted"].any()
    assert report.features["psi"].max() < FEATURE_PSI_WARN / 2
    assert report.warnings() == []


def test_a_shifted_feature_flags_its_sign_and_only_it() -> None:
    report = drift_of(deals(5_000, seed=1), deals(1_000, seed=2, tenure_shift=3.0))
    signs = report.by_sign().set_index("sign")
    assert signs.loc["glass_walls", "drifted"] and signs.loc["glass_walls", "psi"] >= SIGN_PSI_WARN
    assert signs.loc["glass_walls", "top_feature"] == "tenure"
    assert not signs.loc["icp_fit", "drifted"]
    assert any("glass_walls" in warning for warning in report.warnings())


def test_values_never_seen_in_training_are_counted() -> None:
    report = drift_of(deals(5_000, seed=1), deals(1_000, seed=2, new_industry=0.3))
    industry = report.features.set_index("feature").loc["industry"]
    assert 0.25 < industry["unseen_share"] < 0.35
    assert industry["shifted"]
    assert any("never seen in training" in warning for warning in report.warnings())


def test_chunks_count_as_one_pass() -> None:
    train, pipeline = deals(3_000, seed=1), deals(1_001, seed=3, tenure_shift=1.0)
    whole = drift_of(train, pipeline).features
    chunked = drift_of(train, pipeline, chunk=97).features
    pd.testing.assert_frame_equal(whole, chunked)


def test_counters_of_parts_merge_into_the_whole() -> None:
    """Spark counts each part on its own; the driver merges the counters."""
    train, pipeline = deals(3_000, seed=1), deals(1_001, seed=3, tenure_shift=1.0)
    profile = FeatureProfile.of(train, SIGNS)
    merged = DriftCounter(profile)
    for start in (600, 0, 300):  # any order: counts add up
        part = DriftCounter(profile)
        part.add(pipeline.iloc[start : start + 300 if start < 600 else None])
        merged.merge(part)
    assert merged.rows == len(pipeline)
    pd.testing.assert_frame_equal(merged.report().features, drift_of(train, pipeline).features)


def test_features_of_the_day_are_not_compared() -> None:
    train = deals(500, seed=1).assign(seller_closed_deals=np.arange(500.0))
    profile = FeatureProfile.of(train, SIGNS)
    assert "seller_closed_deals" in AS_OF_FEATURES
    assert "seller_closed_deals" not in profile.features
