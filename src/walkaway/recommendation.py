"""What to do with a deal: pursue, compete, keep presence, walk away, or qualify.

The policy follows the source article. A deal good enough is pursued. Otherwise the sign that
costs it most decides, when one clearly dominates:

- glass walls: go head-to-head (``compete``) when the expected return p_win x amount is high,
  else ``keep_presence`` as the second option;
- outside the ICP or square peg: ``walk_away`` when the regret or loss risk is high;

and when no sign dominates, or the evidence is thin, ``qualify``: find out more first. The
thresholds are derived from the training data (see :meth:`Policy.from_training`) and written
into the model; any of them can be overridden.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from walkaway.signs import SIGNS, TITLES

RECOMMENDATIONS = ("pursue", "compete", "keep_presence", "walk_away", "qualify")


@dataclass(frozen=True)
class Policy:
    """Thresholds of the recommendation policy.

    Attributes
    ----------
    pursue_p_good
        p_good at or above which a deal is pursued.
    compete_expected_value
        p_win x amount at or above which glass walls are worth a head-to-head fight.
    walk_away_p_regret
        p_regret at or above which an ICP or need misfit means walking away.
    walk_away_p_win
        p_win at or below which an ICP or need misfit means walking away.
    dominance_points
        A sign dominates when it costs at least this many points of p_good...
    dominance_ratio
        ...and at least this many times what the next sign costs.
    min_evidence
        Below this share of the sign inputs known for a deal, the evidence is thin: qualify.
    """

    pursue_p_good: float
    compete_expected_value: float
    walk_away_p_regret: float
    walk_away_p_win: float
    dominance_points: float = 3.0
    dominance_ratio: float = 1.5
    min_evidence: float = 0.5

    @classmethod
    def from_training(
        cls, p_win: np.ndarray, p_regret: np.ndarray, amount: np.ndarray, regret_rate: float
    ) -> Policy:
        """Defaults from predictions on training deals: pursue the top 30% by p_good, compete
        when the expected return beats the median deal's, walk away when regret risk is above
        the base rate or the win chance is in the bottom quarter."""
        good = p_win * (1 - p_regret)
        expected = p_win * np.nan_to_num(amount, nan=np.nanmedian(amount))
        return cls(
            pursue_p_good=round(float(np.quantile(good, 0.7)), 4),
            compete_expected_value=round(float(np.median(expected)), 2),
            # Without regret data (a base rate of 0) regret risk cannot be high: only loss risk.
            walk_away_p_regret=round(float(regret_rate), 4) if regret_rate > 0 else 1.0,
            walk_away_p_win=round(float(np.quantile(p_win, 0.25)), 4),
        )

    def with_overrides(self, overrides: dict[str, float]) -> Policy:
        """A copy with some thresholds set by hand (unknown names are an error)."""
        unknown = set(overrides) - set(asdict(self))
        if unknown:
            raise ValueError(f"unknown policy threshold(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})


def recommend(
    policy: Policy,
    p_win: np.ndarray,
    p_regret: np.ndarray,
    amount: np.ndarray,
    sign_effects: pd.DataFrame,
    evidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Recommendation and a one-line why, per deal.

    Parameters
    ----------
    sign_effects
        Effect of each sign on p_good in points (columns named after :data:`SIGNS`).
    evidence
        Share of the sign inputs known for each deal, in [0, 1].

    Examples
    --------
    >>> policy = Policy(0.3, 10_000, 0.3, 0.1)
    >>> effects = pd.DataFrame({"glass_walls": [-20.0, -20.0, 1.0, -2.0],
    ...                         "icp_fit": [0.0, 0.0, -15.0, -1.0], "need_fit": [1.0, 1.0, 0, 0]})
    >>> what, why = recommend(policy, np.array([.2, .2, .2, .5]), np.array([.1, .1, .5, .1]),
    ...                       np.array([90_000, 5_000, 1_000, 1_000]), effects, np.ones(4))
    >>> what.tolist()
    ['compete', 'keep_presence', 'walk_away', 'pursue']
    """
    p_good = p_win * (1 - p_regret)
    costs = -sign_effects[list(SIGNS)].to_numpy()
    order = np.argsort(-costs, axis=1)
    rows = np.arange(len(costs))
    worst, runner_up = order[:, 0], order[:, 1]
    worst_cost, next_cost = costs[rows, worst], np.maximum(costs[rows, runner_up], 0.0)
    dominates = (worst_cost >= policy.dominance_points) & (
        worst_cost >= policy.dominance_ratio * next_cost
    )
    expected = p_win * np.nan_to_num(amount, nan=0.0)

    what = np.full(len(costs), "qualify", dtype=object)
    why = np.full(
        len(costs), "no sign clearly dominates: find out more before deciding", dtype=object
    )
    for i in range(len(costs)):
        sign = SIGNS[worst[i]]
        cost = f"{TITLES[sign]} cost {worst_cost[i]:.0f} pts"
        if evidence[i] < policy.min_evidence:
            why[i] = f"evidence is thin ({evidence[i]:.0%} of sign inputs known): qualify first"
        elif p_good[i] >= policy.pursue_p_good:
            what[i], why[i] = "pursue", f"p_good {p_good[i]:.0%} is in the top tier"
        elif not dominates[i]:
            continue
        elif sign == "glass_walls" and expected[i] >= policy.compete_expected_value:
            what[i], why[i] = (
                "compete",
                f"{cost}, but the expected return {expected[i]:,.0f} is high",
            )
        elif sign == "glass_walls":
            what[i], why[i] = "keep_presence", f"{cost} and the expected return is modest"
        elif p_regret[i] >= policy.walk_away_p_regret or p_win[i] <= policy.walk_away_p_win:
            risk = "regret" if p_regret[i] >= policy.walk_away_p_regret else "loss"
            what[i], why[i] = "walk_away", f"{cost} and the {risk} risk is high"
        else:
            why[i] = f"{cost}, but the regret and loss risks are moderate: qualify"
    return what, why
