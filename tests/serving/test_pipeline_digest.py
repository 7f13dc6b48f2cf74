"""The pipeline digest: folded chunk by chunk, it equals the whole pipeline's figures (sums,
means, histograms and the biggest deals), whatever the chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.serving.pipeline_digest import EFFECT_EDGES, PipelineDigest
from walkaway.serving.scoring import SCORE_COLUMNS
from walkaway.serving.worklist import rank, work_value
from walkaway.signs import GROUPS, SIGNS

NASTY = "<script>alert(1)</script> & co"
N_DEALS = 400


def synthetic_scores(n: int = N_DEALS, seed: int = 11) -> pd.DataFrame:
    """Score rows shaped like :func:`walkaway.serving.scoring.score_deals`' output, every
    recommendation present, some amounts missing, one nasty reason, effects beyond +-40."""
    rng = np.random.default_rng(seed)
    p_win = rng.uniform(0, 1, n)
    p_regret = rng.uniform(0, 1, n)
    amount = np.round(rng.lognormal(10, 1.2, n), -1)
    amount[rng.random(n) < 0.1] = np.nan
    amount[:6] = 50_000.0  # ties, broken by deal_id
    frame = pd.DataFrame(
        {
            "deal_id": [f"D-{i:05d}" for i in rng.permutation(n)],
            "account_id": [f"A-{i % 37:03d}" for i in range(n)],
            "amount": amount,
            "p_win": p_win,
            "p_regret": p_regret,
            "p_good": p_win * (1 - p_regret),
            "p_good_base": np.full(n, 0.3),
        }
    )
    for group in GROUPS:
        frame[f"effect_{group}"] = rng.normal(0, 15, n)
    frame.loc[0, "effect_glass_walls"] = -75.0  # clipped into the first bin
    frame.loc[1, "effect_need_fit"] = 60.0  # and into the last
    for group in GROUPS:
        frame[f"reasons_{group}"] = [f"{group} reason {i} (-{i % 9} pts)" for i in range(n)]
    frame["recommendation"] = np.array(RECOMMENDATIONS)[np.arange(n) % len(RECOMMENDATIONS)]
    walk = frame.index[frame["recommendation"].eq("walk_away")]
    frame.loc[walk[0], ["amount", "reasons_icp_fit"]] = [10_000_000.0, NASTY]  # surely listed
    frame["recommendation_reason"] = "because " + frame["recommendation"]
    frame["expected_good_value"] = frame["p_good"] * frame["amount"]
    frame["model_name"] = "walkaway"
    frame["model_version"] = 3
    frame["scored_at"] = "2025-12-31T09:00:00+00:00"
    return frame[[*SCORE_COLUMNS, "model_name", "model_version", "scored_at"]]


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return synthetic_scores()


def digest_of(
    frame: pd.DataFrame, cuts: list[int], list_size: int = 10, merged: bool = False
) -> PipelineDigest:
    """The digest of ``frame`` cut at ``cuts``: each chunk added in turn, or (``merged``) each
    chunk's own digest merged in file order, as the Spark engine's driver does."""
    digest = PipelineDigest.empty(list_size=list_size)
    bounds = [0, *sorted(cuts), len(frame)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        if merged:
            part = PipelineDigest.empty(list_size=list_size)
            part.add(frame.iloc[start:stop])
            digest.merge(part)
        else:
            digest.add(frame.iloc[start:stop])
    return digest


def expected_top(frame: pd.DataFrame, recommendation: str, n: int) -> list[str]:
    rows = frame[frame["recommendation"].eq(recommendation)]
    ordered = rows.sort_values(["amount", "deal_id"], ascending=[False, True], na_position="last")
    return ordered["deal_id"].head(n).tolist()


@pytest.fixture(scope="module")
def digest(scores: pd.DataFrame) -> PipelineDigest:
    return digest_of(scores, [130, 290])  # three chunks


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.integers(0, N_DEALS), max_size=6),
    list_size=st.integers(0, 30),
    merged=st.booleans(),
)
def test_the_digest_does_not_depend_on_the_chunking(
    cuts: list[int], list_size: int, merged: bool
) -> None:
    frame = synthetic_scores()
    digest = digest_of(frame, cuts, list_size, merged)
    whole = digest_of(frame, [], list_size)

    assert digest.deals == len(frame)
    assert digest.value == pytest.approx(frame["amount"].fillna(0).sum(), rel=1e-12)
    good = (frame["p_good"] * frame["amount"].fillna(0)).sum()
    assert digest.good_value == pytest.approx(good, rel=1e-12)
    assert digest.overall_mean("p_good") == pytest.approx(frame["p_good"].mean(), rel=1e-12)

    table = digest.by_recommendation()
    grouped = frame.groupby("recommendation")
    assert table["deals"].to_dict() == grouped.size().to_dict()
    assert table["value"].to_numpy() == pytest.approx(
        grouped["amount"].sum().reindex(table.index).to_numpy(), rel=1e-12
    )
    means = grouped[["p_win", "p_good", *(f"effect_{g}" for g in GROUPS)]].mean()
    pd.testing.assert_frame_equal(table[means.columns], means.reindex(table.index), rtol=1e-9)

    pd.testing.assert_frame_equal(digest.p_good_histogram(), whole.p_good_histogram())
    pd.testing.assert_frame_equal(digest.effect_histogram(), whole.effect_histogram())
    for recommendation in ("walk_away", "keep_presence"):
        top = digest.top_deals(recommendation)
        assert top["deal_id"].tolist() == expected_top(frame, recommendation, list_size)
        pd.testing.assert_frame_equal(top, whole.top_deals(recommendation))


def test_the_walk_away_list_is_the_biggest_walk_away_deals(
    digest: PipelineDigest, scores: pd.DataFrame
) -> None:
    top = digest.top_deals("walk_away")
    assert top["deal_id"].tolist() == expected_top(scores, "walk_away", 10)
    assert top["amount"].is_monotonic_decreasing
    assert set(top.columns) == {
        "deal_id",
        "account_id",
        "amount",
        "p_win",
        "p_good",
        *(f"effect_{s}" for s in SIGNS),
        *(f"reasons_{s}" for s in SIGNS),
        "recommendation_reason",
    }
    assert NASTY in top["reasons_icp_fit"].tolist()


def test_ties_in_amount_are_broken_by_deal_id() -> None:
    frame = synthetic_scores(60).assign(amount=1_000.0, recommendation="keep_presence")
    digest = digest_of(frame, [17, 40], list_size=5)
    assert digest.top_deals("keep_presence")["deal_id"].tolist() == sorted(frame["deal_id"])[:5]


def test_histograms_count_every_deal(digest: PipelineDigest, scores: pd.DataFrame) -> None:
    p_good = digest.p_good_histogram()
    assert p_good.shape == (20, len(RECOMMENDATIONS))
    assert int(p_good.to_numpy().sum()) == len(scores)
    assert p_good.sum().to_dict() == scores["recommendation"].value_counts().to_dict()

    effects = digest.effect_histogram()
    assert effects.shape == (40, len(GROUPS))
    assert (effects.sum() == len(scores)).all()
    assert effects.index[0] == EFFECT_EDGES[0] and effects.index[-1] == 38.0
    clipped_low = int((scores["effect_glass_walls"] < -38).sum())
    assert effects["glass_walls"].iloc[0] == clipped_low >= 1
    assert effects["need_fit"].iloc[-1] == int((scores["effect_need_fit"] >= 38).sum()) >= 1


def test_a_chunk_without_a_needed_column_is_refused(scores: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="p_good"):
        PipelineDigest.empty().add(scores.drop(columns="p_good"))


def expected_pursue(frame: pd.DataFrame, n: int) -> list[str]:
    """The first ``n`` deals of the worklist ranked over the whole frame at once."""
    priority = rank(work_value(frame))
    return frame["deal_id"].to_numpy()[np.argsort(priority)][:n].tolist()


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.integers(0, N_DEALS), max_size=6),
    list_size=st.integers(0, 30),
    merged=st.booleans(),
)
def test_the_top_deals_to_pursue_are_the_worklists_first_whatever_the_chunking(
    cuts: list[int], list_size: int, merged: bool
) -> None:
    frame = synthetic_scores()
    frame.loc[frame.index[20:30], ["amount", "p_good", "p_regret"]] = [9e7, 0.5, 0.1]  # tied first
    frame["recommendation"] = frame["recommendation"].where(
        ~frame.index.isin(frame.index[20:30]), "qualify"
    )
    top = digest_of(frame, cuts, list_size, merged).top_to_pursue()
    assert top["deal_id"].tolist() == expected_pursue(frame, list_size)
    # equal work values keep the file's order
    assert top["position"].head(10).tolist() == list(range(20, 20 + min(list_size, 10)))
    assert top["work_value"].is_monotonic_decreasing


def test_a_walk_away_deal_pursued_needs_twice_the_regret_discount() -> None:
    frame = synthetic_scores(20).assign(amount=1_000.0, p_good=0.4, p_regret=0.5)
    frame["recommendation"] = ["walk_away"] * 10 + ["qualify"] * 10
    frame.loc[0, "amount"] = 2_500.0  # 2,500 x 0.4 x 0.5 x 0.5 = 250 > 1,000 x 0.4 x 0.5 = 200
    frame.loc[1, "amount"] = 1_900.0  # 190: after every qualify deal, before the walk-aways
    top = digest_of(frame, [7], list_size=12).top_to_pursue()
    assert top["position"].tolist() == [0, *range(10, 20), 1]
