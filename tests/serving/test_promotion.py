"""The champion rule alone, on made-up figures: the win head decides, the regret head guards,
too few fair deals promote the newer model."""

from __future__ import annotations

import numpy as np

from walkaway.serving.promotion import MIN_FAIR_DEALS, HeadComparison, verdict

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 400)
TRUE = np.clip(0.5 + 0.3 * (Y - 0.5) + RNG.normal(0, 0.1, 400), 0.01, 0.99)
NOISY = np.clip(TRUE + RNG.normal(0, 0.25, 400), 0.01, 0.99)


def test_a_worse_win_head_stays_a_challenger() -> None:
    comparisons = {"win": HeadComparison.of("win", Y, NOISY, TRUE)}
    promoted, text = verdict(2, 1, comparisons, "same data")
    assert not promoted and text.startswith("version 2 stays a challenger: its win head is worse")
    assert text.endswith("Same data.")


def test_a_better_win_head_is_promoted_unless_regret_is_worse_beyond_noise() -> None:
    win = HeadComparison.of("win", Y, TRUE, NOISY)
    much_worse = HeadComparison.of("regret", Y, NOISY, TRUE)
    promoted, text = verdict(2, 1, {"win": win, "regret": much_worse}, "same data")
    assert not promoted and "regret head is worse" in text
    tied = HeadComparison.of("regret", Y, TRUE, TRUE)
    promoted, text = verdict(2, 1, {"win": win, "regret": tied}, "same data")
    assert promoted and "within 2 standard errors" in text


def test_too_few_fair_deals_promote_the_newer_model() -> None:
    few = MIN_FAIR_DEALS - 1
    win = HeadComparison.of("win", Y[:few], NOISY[:few], TRUE[:few])
    promoted, text = verdict(3, 2, {"win": win}, "new data")
    assert promoted and "too few deals" in text and f"only {few} fair deals" in text
