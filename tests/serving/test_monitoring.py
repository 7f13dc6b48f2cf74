"""Monitoring's logic on simulated scored deals whose outcomes and cycles are known: wins
expected by now, the live model, and the verdict with and without drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from walkaway.serving import monitoring

EXPORT = pd.Timestamp("2026-06-30")
SCORED = pd.Timestamp("2025-12-31")
REGIONS = ("emea", "north america", "apac", "latam")


def cycles(rng: np.random.Generator, won: np.ndarray) -> np.ndarray:
    """Days from creation to close: wins about 60, losses about 150 (as the synthetic CRM)."""
    median = np.where(won, 60.0, 150.0)
    sigma = np.where(won, 0.5, 0.7)
    return np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(len(won))), 7, 720)


def world(
    deals: int = 12_000, seed: int = 3, region_factor: float = 1.0, overall_factor: float = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored open deals and the labelled export six months later.

    History: deals created over four years close on their cycle. The scored pipeline: those
    open on SCORED, with p_win the chance they win given they are still open at their age. The
    truth is p_win times ``overall_factor``, and in EMEA also times ``region_factor``.
    """
    rng = np.random.default_rng(seed)
    created = SCORED - pd.to_timedelta(rng.integers(0, 4 * 365, deals), unit="D")
    region = rng.choice(REGIONS, deals)
    p_base = rng.uniform(0.1, 0.5, deals)
    truth = np.clip(p_base * overall_factor * np.where(region == "emea", region_factor, 1.0), 0, 1)
    won = rng.random(deals) < truth
    cycle = cycles(rng, won)
    closed = created + pd.to_timedelta(np.round(cycle), unit="D")
    age = (SCORED - created).days.to_numpy()
    open_then = closed > SCORED
    # p_win as a calibrated model would give it: the chance of winning given still open at age.
    won_survive = norm.sf((np.log(np.maximum(age, 1)) - np.log(60.0)) / 0.5)
    lost_survive = norm.sf((np.log(np.maximum(age, 1)) - np.log(150.0)) / 0.7)
    p_given_open = p_base * won_survive / (p_base * won_survive + (1 - p_base) * lost_survive)
    outcome = np.where(closed <= EXPORT, np.where(won, "won", "lost"), "open")
    labelled = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(deals)],
            "created_date": created,
            "closed_date": closed.where(closed <= EXPORT),
            "outcome": outcome,
            "region": region,
            "regret_label": np.nan,
        }
    )
    scored = pd.DataFrame(
        {
            "deal_id": labelled["deal_id"][open_then],
            "p_win": p_given_open[open_then],
            "recommendation": "pursue",
            "amount": 1000.0,
            "model_version": "2",
            "scored_at": "2026-01-01T08:00:00+00:00",
            "as_of": SCORED.strftime("%Y-%m-%d"),
        }
    ).reset_index(drop=True)
    return scored, labelled


def verdict_of(scored: pd.DataFrame, labelled: pd.DataFrame) -> monitoring.Verdict:
    clock = monitoring.CloseClock.of(labelled, EXPORT)
    joined = monitoring.expect_by_now(monitoring.join_outcomes(scored, labelled), clock, EXPORT)
    live, deals = monitoring.live_deals(joined)
    return monitoring.judge(live, deals, "later/")


def test_wins_expected_by_now_follow_the_close_clock() -> None:
    # The simulated p_win is not exactly what the survival curves imply, so only the order of
    # magnitude is held here; the verdict tests below hold the calibration itself.
    scored, labelled = world()
    clock = monitoring.CloseClock.of(labelled, EXPORT)
    joined = monitoring.expect_by_now(monitoring.join_outcomes(scored, labelled), clock, EXPORT)
    counts = monitoring.outcome_counts(joined)
    assert counts["scored"] == len(scored)
    assert 0.6 < counts["won_ratio"] < 1.6
    assert clock.note == ""  # four years of history: mature cycles exist


def test_no_drift_when_the_world_is_as_the_model_learned() -> None:
    verdict = verdict_of(*world())
    assert not verdict.drifted, verdict.text
    assert verdict.text.startswith("No drift: version 2 won")


def test_a_region_where_winning_got_harder_is_named() -> None:
    verdict = verdict_of(*world(region_factor=0.35))
    assert verdict.drifted
    flagged = verdict.segments[verdict.segments["drifted"]]
    assert ("region", "emea") in set(zip(flagged["column"], flagged["value"], strict=True))
    assert (flagged["relative"] < 1).all()
    assert "where region is emea" in verdict.text and "over-predicted" in verdict.text
    assert "walkaway train --history later/" in verdict.text


def test_a_model_wrong_everywhere_is_wrong_overall() -> None:
    verdict = verdict_of(*world(overall_factor=0.4))
    assert verdict.drifted
    assert "over all its" in verdict.text
    assert verdict.overall["won_ratio"] < 1 / monitoring.OVERALL_RATIO


def test_the_live_model_is_the_latest_and_each_deal_counts_at_its_first_scoring() -> None:
    rows = pd.DataFrame(
        {
            "deal_id": ["a", "a", "b", "a", "c"],
            "model_version": ["1", "2", "2", "2", "1"],
            "as_of": ["2026-01-31", "2026-02-28", "2026-02-28", "2026-03-31", "2026-04-30"],
            "scored_at": ["2026-02-01T00:00:00Z"] * 4 + ["2026-01-01T00:00:00Z"],
            "p_win": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    live, deals = monitoring.live_deals(rows)
    assert live == 1  # scored as of the latest day, even though its job ran earliest
    rows.loc[4, "as_of"] = "2026-03-01"
    live, deals = monitoring.live_deals(rows)
    assert live == 2
    assert deals.set_index("deal_id")["p_win"].to_dict() == {"a": 0.2, "b": 0.3}


def test_scored_ids_made_inert_find_their_deal() -> None:
    scored = pd.DataFrame(
        {
            "deal_id": ["'=D1", "D2", "D9"],
            "p_win": [0.5, 0.5, 0.5],
            "recommendation": "pursue",
            "model_version": "1",
            "scored_at": "2026-01-01T00:00:00Z",
        }
    )
    labelled = pd.DataFrame(
        {
            "deal_id": ["=D1", "D2"],
            "outcome": ["won", "open"],
            "created_date": pd.to_datetime(["2025-01-01", "2025-06-01"]),
            "closed_date": pd.to_datetime(["2026-02-01", None]),
        }
    )
    joined = monitoring.join_outcomes(scored, labelled)
    assert joined["status"].tolist() == ["won", "open", "missing"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1, 700), min_size=1, max_size=40),
    st.floats(0, 800),
    st.floats(0, 400),
)
def test_the_share_closing_is_a_probability(
    won_cycles: list[float], age: float, horizon: float
) -> None:
    clock = monitoring.CloseClock(np.sort(np.array(won_cycles)), np.array([100.0]))
    share = clock.share_closing("won", np.array([age]), np.array([horizon]))[0]
    assert 0.0 <= share <= 1.0
    longer = clock.share_closing("won", np.array([age]), np.array([horizon + 50]))[0]
    assert longer >= share - 1e-12


def test_the_verdict_is_worded_for_a_seller() -> None:
    verdict = verdict_of(*world(region_factor=0.35))
    assert "\n" not in verdict.text
    assert "won against" in verdict.text
