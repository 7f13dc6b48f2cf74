"""Champion and challenger: whether a newly trained version replaces the champion, from the
figures both score on the same deals. Pure: :mod:`walkaway.serving.fair_comparison` gathers
the figures and :mod:`walkaway.serving.registry` moves the alias.

**The win head decides, the regret head guards.** A new version
becomes ``@champion`` when there is none, or when, on deals neither model learned from,

- its win head's mean log loss is no worse than the champion's, and
- its regret head's mean log loss is not worse by more than 2 standard errors of the paired
  per-deal difference (so a noise-sized regret difference never blocks a better win head).

Deals neither model learned from: when the champion's run was trained on the same data (same
``data_sha256``), the two runs' logged holdout predictions, paired by deal (each made by a
model fitted without its holdout); otherwise the new holdout's deals closed strictly after the
champion's training data (``trained_until_`` for the win head, ``regret_trained_until_`` for
the regret head), scored by the champion. With fewer than :data:`MIN_FAIR_DEALS` such deals
(or a single class) for the win head, the new version is promoted: it learned from newer data;
with too few for the regret head, the guard is not applied. The decision says which path was
used and gives the figures compared. Otherwise the new version stays a challenger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHAMPION = "champion"  # the registry alias of the model that scores
MIN_FAIR_DEALS = 100  # fewer deals neither model learned from cannot tell two models apart
GUARD_STANDARD_ERRORS = 2.0  # how much worse the regret head may be, in standard errors
TIE = 1e-9  # log losses this close are equal (the same model retrained on the same data)


@dataclass(frozen=True)
class HeadComparison:
    """One head's log loss, new version against champion, on the same fair deals."""

    head: str
    deals: int
    classes: int
    new_loss: float
    champion_loss: float
    difference: float  # mean per-deal log loss, new minus champion: negative when new is better
    standard_error: float  # of that mean difference

    @classmethod
    def of(
        cls, head: str, y: np.ndarray, p_new: np.ndarray, p_champion: np.ndarray
    ) -> HeadComparison:
        """Compare two sets of probabilities for the same deals, deal by deal."""
        y = np.asarray(y, dtype=float)
        new, theirs = _log_losses(y, p_new), _log_losses(y, p_champion)
        paired = new - theirs
        return cls(
            head,
            deals=len(y),
            classes=len(np.unique(y)),
            new_loss=float(new.mean()) if len(y) else np.nan,
            champion_loss=float(theirs.mean()) if len(y) else np.nan,
            difference=float(paired.mean()) if len(y) else np.nan,
            standard_error=float(paired.std(ddof=1) / np.sqrt(len(y))) if len(y) > 1 else np.nan,
        )

    @property
    def comparable(self) -> bool:
        """Enough deals of both classes to tell the two models apart."""
        return self.deals >= MIN_FAIR_DEALS and self.classes == 2

    def describe(self) -> str:
        """The figures compared, for the decision's text."""
        if not self.comparable:
            one_class = ", one class" if self.deals and self.classes < 2 else ""
            return f"{self.head} head: only {self.deals:,} fair deals{one_class}, not compared"
        return (
            f"{self.head} head log loss {self.new_loss:.4f} vs {self.champion_loss:.4f} "
            f"(difference {self.difference:+.4f}, standard error {self.standard_error:.4f}, "
            f"{self.deals:,} deals)"
        )


def _log_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-deal log loss, clipped as :func:`walkaway.model.evaluation.probability_metrics` clips."""
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def verdict(
    version: int, current: int, comparisons: dict[str, HeadComparison], path: str
) -> tuple[bool, str]:
    """Whether ``version`` replaces champion version ``current``, and why, in one line: the
    verdict, the figures compared, and how the deals were chosen (``path``)."""
    figures = "; ".join(c.describe() for c in comparisons.values())
    details = f"{_sentence(figures)} {_sentence(path)}"
    win, regret = comparisons["win"], comparisons.get("regret")
    if not win.comparable:
        return True, (
            f"version {version} replaces version {current} as @{CHAMPION}: too few deals "
            f"neither model learned from to compare them (at least {MIN_FAIR_DEALS} of both "
            f"classes needed), and version {version} learned from newer data. {details}"
        )
    if win.difference > TIE:
        return False, (
            f"version {version} stays a challenger: its win head is worse than champion "
            f"version {current}'s. {details}"
        )
    limit = GUARD_STANDARD_ERRORS * regret.standard_error if regret is not None else np.nan
    if regret is not None and regret.comparable and regret.difference > limit + TIE:
        return False, (
            f"version {version} stays a challenger: its win head is no worse, but its regret "
            f"head is worse than champion version {current}'s by more than "
            f"{GUARD_STANDARD_ERRORS:g} standard errors. {details}"
        )
    if regret is None:
        guard = "there is no regret holdout to guard with"
    elif regret.comparable:
        guard = f"its regret head is within {GUARD_STANDARD_ERRORS:g} standard errors"
    else:
        guard = "the regret guard is not applied (too few fair deals)"
    return True, (
        f"version {version} replaces version {current} as @{CHAMPION}: its win head is no "
        f"worse and {guard}. {details}"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
