"""Point in time: a deal's features use only what was known before its as-of time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from walkaway.data.history import History
from walkaway.data.labels import label_deals
from walkaway.model.features import build_features
from walkaway.model.features.icp_fit import IcpFit, icp_in_words
from walkaway.model.landmarks import snapshots


def flip_outcomes_after(history: History, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The history relabelled after swapping won and lost for every deal closed after cutoff,
    and moving their churn (regret evidence) around too."""
    deals = history.deals.copy()
    later = deals["closed_date"] > cutoff
    deals.loc[later, "outcome"] = deals.loc[later, "outcome"].map({"won": "lost", "lost": "won"})
    regret_later = later & deals["churn_date"].isna() & deals["outcome"].eq("won")
    deals.loc[regret_later, "churn_date"] = deals.loc[regret_later, "closed_date"] + pd.Timedelta(
        days=40
    )
    changed = History(deals, history.accounts, history.products, history.mapping, history.source)
    return label_deals(changed.deal_frame(), history.export_date, 365)


@pytest.mark.parametrize("quantile", [0.3, 0.6, 0.85])
def test_changing_later_outcomes_leaves_earlier_features_unchanged(
    history: History, labelled: pd.DataFrame, quantile: float
) -> None:
    closed = labelled[labelled["won"].notna()]
    cutoff = closed["created_date"].quantile(quantile)
    changed = flip_outcomes_after(history, cutoff)
    changed_closed = changed[changed["won"].notna()]
    assert (changed_closed["won"] != closed["won"]).sum() > 100  # the change is real

    early = closed[closed["created_date"] <= cutoff]
    as_of = early.assign(as_of=early["created_date"])
    before = build_features(history.catalogue()).fit(closed).transform(as_of)
    after = build_features(history.catalogue()).fit(changed_closed).transform(as_of)
    pd.testing.assert_frame_equal(before, after)

    # ...while deals created after the cutoff do see the change (the test can fail).
    late = closed[closed["created_date"] > closed["closed_date"].quantile(0.95)]
    late = late.assign(as_of=late["created_date"])
    moved = build_features(history.catalogue()).fit(changed_closed).transform(late)
    kept = build_features(history.catalogue()).fit(closed).transform(late)
    icp_columns = [
        "icp_similarity",
        "icp_regretted_share",
        "prior_wins_at_account",
        "seller_win_rate",
    ]
    assert not np.allclose(moved[icp_columns].to_numpy(float), kept[icp_columns].to_numpy(float))


def test_a_deal_never_counts_its_own_outcome(labelled: pd.DataFrame) -> None:
    closed = labelled[labelled["won"].notna()]
    union = build_features(evidence_counts=True).fit(closed)
    features = union.transform(closed.assign(as_of=closed["created_date"]))
    first_deals = ~closed.duplicated("account_id")  # no earlier deal at the account
    earliest = closed[first_deals].sort_values("created_date")
    firsts = features.loc[earliest.index]
    # a first deal at an account can only have earlier outcomes if they closed before it opened:
    # none did for the very first deal in the history
    assert firsts.iloc[0][["prior_wins_at_account", "prior_losses_at_account"]].sum() == 0
    assert firsts.iloc[0]["icp_known_customers"] == 0


def test_icp_learns_the_synthetic_profile(labelled: pd.DataFrame) -> None:
    icp = IcpFit().fit(labelled)
    words = " ".join(icp_in_words(icp.profile_, min_customers=5))
    # The generator's best industries are manufacturing and logistics; its worst hospitality
    # and retail (docs/synthetic-spec.md).
    best, regretted = words.split("Regretted customers")
    assert "manufacturing" in best or "logistics" in best
    assert "hospitality" in regretted or "retail" in regretted


def test_later_events_never_move_an_earlier_snapshot(
    history: History, labelled: pd.DataFrame
) -> None:
    """Landmark snapshots: flipping the outcome of every deal closed after a cut-off, and
    closing it two months later, moves no feature of any snapshot taken by the cut-off, not
    even those of the deals that changed (their age and the usual cycle included)."""
    closed = labelled[labelled["won"].notna()]
    cutoff = closed["closed_date"].quantile(0.6)
    changed = flip_outcomes_after(history, cutoff)
    later = changed["closed_date"] > cutoff
    changed.loc[later, "closed_date"] += pd.Timedelta(days=60)
    changed_closed = changed[changed["won"].notna()]

    rows = snapshots(closed)
    early = rows[rows["as_of"] <= cutoff]
    assert early["deal_row"].isin(closed.index[closed["closed_date"] > cutoff]).sum() > 50
    before = build_features(history.catalogue()).fit(closed).transform(early)
    after = build_features(history.catalogue()).fit(changed_closed).transform(early)
    assert early["as_of"].gt(early["created_date"]).sum() > 100  # aged snapshots, not only new
    pd.testing.assert_frame_equal(before, after)

    # ...while snapshots after the cut-off do see the change (the test can fail).
    late = rows[rows["as_of"] > closed["closed_date"].quantile(0.9)]
    moved = build_features(history.catalogue()).fit(changed_closed).transform(late)
    kept = build_features(history.catalogue()).fit(closed).transform(late)
    columns = ["days_open_vs_usual", "seller_win_rate", "prior_wins_at_account"]
    assert not np.allclose(
        moved[columns].to_numpy(float), kept[columns].to_numpy(float), equal_nan=True
    )
