"""What to do with a deal: pursue, compete, keep presence, walk away, or qualify.

The policy follows the source article. A deal good enough is pursued. Otherwise the group that
costs it most decides, when it clearly dominates the other three (the three signs and the
deal's context):

- glass walls: go head-to-head (``compete``) when the expected return p_win x amount is high,
  else ``keep_presence`` as the second option; a deal whose amount is unknown cannot be shown
  to have a high return: ``keep_presence``;
- outside the ICP or square peg: ``walk_away`` when the regret or loss risk is high;

and when no sign dominates, the deal's context costs it most, or the evidence is thin,
``qualify``: find out more first. A *stalled* deal, open far longer than deals like it
usually take and costing more points for its age than for any sign, is a reason of its own:
``walk_away`` when its chance of winning has fallen low, else ``qualify`` (ask what has
stopped it). Deal context is no reason to walk away: it is the size,
region, seller, source and type of the deal, not a sign that the deal is the wrong one. The
thresholds are derived from the training data (see :meth:`Policy.from_training`) and written
into the model; any of them can be overridden.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from walkaway.signs import GROUPS, SIGNS, TITLES

RECOMMENDATIONS = ("pursue", "compete", "keep_presence", "walk_away", "qualify")


@dataclass(frozen=True)
class Policy:
    """Thresholds of the recommendation policy.

    Attributes
    ----------
    pursue_p_good
        p_good at or above which a deal is pursued.
    compete_expected_value
        p_win x amount at or above which glass walls are worth a head-to-head fight (NaN when
        no training deal had an amount: never).
    walk_away_p_regret
        p_regret at or above which an ICP or need misfit means walking away.
    walk_away_p_win
        p_win at or below which an ICP or need misfit means walking away.
    dominance_points
        A group dominates when it costs at least this many points of p_good...
    dominance_ratio
        ...and at least this many times what the next group costs (of the three signs and
        deal context).
    min_evidence
        Below this share of the sign inputs known for a deal, the evidence is thin: qualify.
    stalled_ratio
        A deal open at least this many times the usual cycle of deals like it is stalled when
        its age costs it at least ``dominance_points`` and more than any sign does.
    """

    pursue_p_good: float
    compete_expected_value: float
    walk_away_p_regret: float
    walk_away_p_win: float
    dominance_points: float = 3.0
    dominance_ratio: float = 1.5
    min_evidence: float = 0.5
    stalled_ratio: float = 2.0

    @classmethod
    def from_training(
        cls, p_win: np.ndarray, p_regret: np.ndarray, amount: np.ndarray, regret_rate: float
    ) -> Policy:
        """Defaults from predictions on training deals: pursue the top 30% by p_good, compete
        when the expected return beats the median of the deals whose amount is known (NaN, so
        never, when none is), walk away when regret risk is above the base rate or the win
        chance is in the bottom quarter.

        Examples
        --------
        >>> policy = Policy.from_training(np.array([0.2, 0.4, 0.6]), np.zeros(3),
        ...                               np.array([1_000.0, np.nan, 500.0]), regret_rate=0.1)
        >>> policy.compete_expected_value  # the median of 200 and 300; the unknown amount is out
        250.0
        """
        good = p_win * (1 - p_regret)
        known = ~np.isnan(amount)
        expected = p_win[known] * amount[known]
        return cls(
            pursue_p_good=round(float(np.quantile(good, 0.7)), 4),
            compete_expected_value=round(float(np.median(expected)), 2) if known.any() else np.nan,
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
    effects: pd.DataFrame,
    evidence: np.ndarray,
    age: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Recommendation and a one-line why, per deal.

    Parameters
    ----------
    amount
        The deal's amount; NaN when unknown.
    effects
        Effect of each group on p_good in points (columns named after :data:`GROUPS`: the
        three signs and ``deal_context``).
    evidence
        Share of the sign inputs known for each deal, in [0, 1].
    age
        Per deal: ``days_open``, ``days_open_vs_usual`` (its age over the usual cycle of
        deals like it) and ``points`` (what its age costs p_good, negative when it lowers it);
        None when the model does not know ages.

    Examples
    --------
    >>> policy = Policy(0.3, 10_000, 0.3, 0.1)
    >>> effects = pd.DataFrame({"glass_walls": [-20.0, -20.0, 1.0, -2.0, -4.0],
    ...                         "icp_fit": [0.0, 0.0, -15.0, -1.0, 0.0],
    ...                         "need_fit": [1.0, 1.0, 0.0, 0.0, 0.0],
    ...                         "deal_context": [0.0, 0.0, 0.0, 0.0, -9.0]})
    >>> p_win, p_regret = np.array([.2, .2, .2, .5, .2]), np.array([.1, .1, .5, .1, .1])
    >>> amount = np.array([90_000, 5_000, 1_000, 1_000, 1_000])
    >>> what, why = recommend(policy, p_win, p_regret, amount, effects, np.ones(5))
    >>> what.tolist()
    ['compete', 'keep_presence', 'walk_away', 'pursue', 'qualify']
    >>> str(why[4])
    'deal context costs 9 pts, more than any sign: find out more before deciding'
    >>> age = pd.DataFrame({"days_open": [0, 0, 0, 0, 240], "days_open_vs_usual": [0, 0, 0, 0, 2.5],
    ...                     "points": [0, 0, 0, 0, -8.0]})
    >>> what, why = recommend(policy, p_win, p_regret, amount, effects, np.ones(5), age)
    >>> str(what[4]), str(why[4])
    ('qualify', 'stalled: open 240 days, 2.5x the usual cycle of deals like it (-8 pts): ask what stopped it, or walk away')
    """
    p_good = p_win * (1 - p_regret)
    costs = -effects[list(GROUPS)].to_numpy(dtype=float)
    order = np.argsort(-costs, axis=1, kind="stable")
    rows = np.arange(len(costs))
    worst, runner_up = order[:, 0], order[:, 1]
    worst_cost, next_cost = costs[rows, worst], np.maximum(costs[rows, runner_up], 0.0)
    dominates = (worst_cost >= policy.dominance_points) & (
        worst_cost >= policy.dominance_ratio * next_cost
    )
    expected = p_win * amount  # NaN when the amount is unknown
    stalled = np.zeros(len(costs), dtype=bool)
    if age is not None:
        age_cost = -age["points"].to_numpy(dtype=float)
        worst_sign_cost = costs[:, [GROUPS.index(sign) for sign in SIGNS]].max(axis=1)
        stalled = (
            (age["days_open_vs_usual"].to_numpy(dtype=float) >= policy.stalled_ratio)
            & (age_cost >= policy.dominance_points)
            & (age_cost > worst_sign_cost)
        )

    what = np.full(len(costs), "qualify", dtype=object)
    why = np.full(
        len(costs), "no sign clearly dominates: find out more before deciding", dtype=object
    )
    for i in range(len(costs)):
        group, runner = GROUPS[worst[i]], GROUPS[runner_up[i]]
        cost = f"{TITLES[group]} cost {worst_cost[i]:.0f} pts"
        if evidence[i] < policy.min_evidence:
            why[i] = f"evidence is thin ({evidence[i]:.0%} of sign inputs known): qualify first"
        elif p_good[i] >= policy.pursue_p_good:
            what[i], why[i] = "pursue", f"p_good {p_good[i]:.0%} is in the top tier"
        elif stalled[i] and age is not None:  # only deals with known ages can be stalled
            days, ratio = age["days_open"].iloc[i], age["days_open_vs_usual"].iloc[i]
            state = (
                f"stalled: open {days:,.0f} days, {ratio:.1f}x the usual cycle of deals like it "
                f"({-age_cost[i]:+.0f} pts)"
            )
            if p_win[i] <= policy.walk_away_p_win:
                what[i], why[i] = "walk_away", f"{state}, and p_win is down to {p_win[i]:.0%}"
            else:
                why[i] = f"{state}: ask what stopped it, or walk away"
        elif worst_cost[i] < policy.dominance_points:
            continue
        elif group == "deal_context":
            why[i] = (
                f"deal context costs {worst_cost[i]:.0f} pts, more than any sign: "
                "find out more before deciding"
            )
        elif not dominates[i] and runner == "deal_context":
            why[i] = (
                f"{cost}, but deal context costs {next_cost[i]:.0f} pts too: "
                "find out more before deciding"
            )
        elif not dominates[i]:
            continue
        elif group == "glass_walls" and np.isnan(amount[i]):
            what[i], why[i] = (
                "keep_presence",
                f"{cost} and the amount is unknown: the expected return cannot be shown to be high",
            )
        elif group == "glass_walls" and np.isnan(policy.compete_expected_value):
            what[i], why[i] = (
                "keep_presence",
                f"{cost} and no expected return can be judged high: the training deals had no "
                "amounts",
            )
        elif group == "glass_walls" and expected[i] >= policy.compete_expected_value:
            what[i], why[i] = (
                "compete",
                f"{cost}, but the expected return {expected[i]:,.0f} is high",
            )
        elif group == "glass_walls":
            what[i], why[i] = "keep_presence", f"{cost} and the expected return is modest"
        elif p_regret[i] >= policy.walk_away_p_regret or p_win[i] <= policy.walk_away_p_win:
            risk = "regret" if p_regret[i] >= policy.walk_away_p_regret else "loss"
            what[i], why[i] = "walk_away", f"{cost} and the {risk} risk is high"
        else:
            why[i] = f"{cost}, but the regret and loss risks are moderate: qualify"
    return what, why
