"""One deal: its scores, each sign's effect with its reasons, its recommendation, and what-if.

The one copy of what ``walkaway explain`` prints, notebook 03 shows for the deal it chose and
``walkaway whatif`` compares before and after a change:

- :func:`explain_deal` scores a canonical deal with the batch job's own scoring
  (:func:`walkaway.serving.scoring.score_deals`), so the figures are those of the scored file,
  and keeps what a seller reads: an :class:`ExplainedDeal` (``to_dict`` for JSON, ``table`` for
  a notebook);
- :func:`what_if` changes some of the deal's canonical columns and explains it again
  (:class:`WhatIf`: before, after, the change in p_good and in the recommendation);
  :func:`score_variants` re-scores many changed copies of a deal at once (notebook 02's
  what-if curves);
- the deal and the changes come from :mod:`walkaway.serving.deal_inputs` (finding the deal in
  a pipeline, reading ``column=value`` settings).

Pure logic: no file is read and MLflow is not imported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.scoring import SCORE_COLUMNS, score_deals
from walkaway.signs import GROUPS, TITLES

if TYPE_CHECKING:
    pass

REASON_SEPARATOR = "; "  # how model.explanations.reasons joins a sign's reasons


# --------------------------------------------------------------------------------------------
# Words


def percent(p: float) -> str:
    """A probability as a seller reads it.

    >>> percent(0.27349), percent(float("nan"))
    ('27.3%', 'unknown')
    """
    return "unknown" if math.isnan(p) else f"{100 * p:.1f}%"


def points(value: float) -> str:
    """Points of p_good, signed, to a tenth (a change that rounds to nothing is +0.0).

    >>> points(-12.345), points(-0.04), points(0.0)
    ('-12.3 pts', '+0.0 pts', '+0.0 pts')
    """
    return f"{round(value, 1) + 0.0:+.1f} pts"


def recommendation_words(recommendation: str) -> str:
    """``keep_presence`` as ``keep presence``.

    >>> recommendation_words("walk_away")
    'walk away'
    """
    return recommendation.replace("_", " ")


def value_words(value: object) -> str:
    """A canonical value as typed in ``--set``: yes/no, whole numbers without decimals, days.

    >>> [value_words(v) for v in (True, 3.0, 2.5, 1234567.0, "retail", float("nan"))]
    ['yes', '3', '2.5', '1234567', 'retail', 'empty']
    >>> value_words(pd.Timestamp("2025-01-02"))
    '2025-01-02'
    """
    if _missing(value):
        return "empty"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float | np.floating):
        return f"{float(value):.12g}"  # 3.0 as 3, 1234567.0 in full
    return str(value)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(np.all(pd.isna(value))))


def _json_value(value: object) -> object:
    """A canonical value as JSON: null when missing, dates as ISO days, numpy as Python."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _number(value: float | None, decimals: int) -> float | None:
    """A figure for JSON: rounded, null when unknown."""
    return None if value is None or math.isnan(value) else round(float(value), decimals)


# --------------------------------------------------------------------------------------------
# One deal explained


@dataclass(frozen=True)
class SignEffect:
    """What one group (a sign, or the deal context) does to a deal's p_good.

    Attributes
    ----------
    group
        ``glass_walls``, ``icp_fit``, ``need_fit`` or ``deal_context``.
    points
        Its effect on p_good in points (its exact Shapley share: the four add up to p_good
        minus ``p_good_base``).
    reasons
        The features behind it in words with their points, the first in its direction; notes
        (a value never seen in training) last, without points.
    """

    group: str
    points: float
    reasons: tuple[str, ...]

    @property
    def title(self) -> str:
        return TITLES[self.group]


@dataclass(frozen=True)
class ExplainedDeal:
    """One scored deal as a seller reads it: scores, each sign's effect and reasons, and the
    recommendation with why.

    ``as_of`` is the day it was scored as at (None: as at its creation, as training sees it);
    ``model_name`` and ``model_version`` say which model scored it, when known.
    """

    deal_id: str
    account_id: str | None
    amount: float | None
    as_of: pd.Timestamp | None
    p_win: float
    p_regret: float
    p_good: float
    p_good_base: float
    effects: tuple[SignEffect, ...]  # one per group, in GROUPS order
    recommendation: str
    recommendation_reason: str
    model_name: str | None = None
    model_version: int | None = None

    @classmethod
    def from_scores(
        cls,
        scores: pd.Series,
        as_of: pd.Timestamp | None = None,
        model_name: str | None = None,
        model_version: int | None = None,
    ) -> ExplainedDeal:
        """The explanation held in one row of scores (the columns of
        :data:`walkaway.serving.scoring.SCORE_COLUMNS`, as ``walkaway score`` writes them)."""
        effects = tuple(
            SignEffect(
                group,
                float(scores[f"effect_{group}"]),
                tuple(r for r in str(scores[f"reasons_{group}"]).split(REASON_SEPARATOR) if r),
            )
            for group in GROUPS
        )
        return cls(
            deal_id=str(scores["deal_id"]),
            account_id=None if _missing(scores.get("account_id")) else str(scores["account_id"]),
            amount=None if _missing(scores.get("amount")) else float(scores["amount"]),
            as_of=as_of,
            p_win=float(scores["p_win"]),
            p_regret=float(scores["p_regret"]),
            p_good=float(scores["p_good"]),
            p_good_base=float(scores["p_good_base"]),
            effects=effects,
            recommendation=str(scores["recommendation"]),
            recommendation_reason=str(scores["recommendation_reason"]),
            model_name=model_name,
            model_version=model_version,
        )

    def effect(self, group: str) -> SignEffect:
        """The effect of one group."""
        return self.effects[GROUPS.index(group)]

    @property
    def model(self) -> str:
        """``walkaway v3``, or what is known of the model."""
        if self.model_version is not None:
            return f"{self.model_name or 'walkaway'} v{self.model_version}"
        return self.model_name or "walkaway"

    def headline(self) -> str:
        """The scores and the recommendation in one line.

        Examples
        --------
        >>> print(_example().headline())
        D-7: p_win 40.0% · p_regret 25.0% · p_good 30.0% → keep presence (glass walls cost 12 pts and the expected return is modest)
        """
        return (
            f"{self.deal_id}: p_win {percent(self.p_win)} · p_regret {percent(self.p_regret)} · "
            f"p_good {percent(self.p_good)} → {recommendation_words(self.recommendation)} "
            f"({self.recommendation_reason})"
        )

    def table(self) -> pd.DataFrame:
        """Each group's effect on p_good in points (to a tenth, as the panel says them) and its
        reasons, one row per group.

        Examples
        --------
        >>> _example().table()["points"].tolist()
        [-12.0, 2.0, 0.5, -0.5]
        """
        return pd.DataFrame(
            {
                "points": [round(e.points, 1) for e in self.effects],
                "reasons": [REASON_SEPARATOR.join(e.reasons) for e in self.effects],
            },
            index=pd.Index([e.title for e in self.effects], name="sign"),
        )

    def to_dict(self) -> dict[str, object]:
        """The explanation as plain JSON values, under stable keys: probabilities to 4
        decimals, points to 2, the day as ``YYYY-MM-DD``, missing values as None.

        Examples
        --------
        >>> explained = _example().to_dict()
        >>> list(explained)  # doctest: +NORMALIZE_WHITESPACE
        ['deal_id', 'account_id', 'amount', 'as_of', 'model_name', 'model_version', 'p_win',
         'p_regret', 'p_good', 'p_good_base', 'signs', 'recommendation', 'recommendation_reason']
        >>> explained["signs"]["glass_walls"]
        {'title': 'glass walls', 'points': -12.0, 'reasons': ['incumbent for 8 years (-9 pts)', '3 competitors (-3 pts)']}
        """
        return {
            "deal_id": self.deal_id,
            "account_id": self.account_id,
            "amount": _number(self.amount, 2),
            "as_of": _json_value(self.as_of),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "p_win": _number(self.p_win, 4),
            "p_regret": _number(self.p_regret, 4),
            "p_good": _number(self.p_good, 4),
            "p_good_base": _number(self.p_good_base, 4),
            "signs": {
                e.group: {
                    "title": e.title,
                    "points": _number(e.points, 2),
                    "reasons": list(e.reasons),
                }
                for e in self.effects
            },
            "recommendation": self.recommendation,
            "recommendation_reason": self.recommendation_reason,
        }


def _example() -> ExplainedDeal:
    """A made-up explained deal, for the examples of this module's docstrings."""
    return ExplainedDeal(
        deal_id="D-7",
        account_id="A-1",
        amount=50_000.0,
        as_of=pd.Timestamp("2025-12-31"),
        p_win=0.4,
        p_regret=0.25,
        p_good=0.3,
        p_good_base=0.4,
        effects=(
            SignEffect(
                "glass_walls", -12.0, ("incumbent for 8 years (-9 pts)", "3 competitors (-3 pts)")
            ),
            SignEffect("icp_fit", 2.0, ("industry retail (+2 pts)",)),
            SignEffect("need_fit", 0.5, ()),
            SignEffect("deal_context", -0.5, ()),
        ),
        recommendation="keep_presence",
        recommendation_reason="glass walls cost 12 pts and the expected return is modest",
    )


def score_variants(
    model: WalkawayModel,
    deal: pd.DataFrame,
    variants: Sequence[Mapping[str, object]],
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Scores of copies of one deal, each with some canonical columns set, in one call.

    Parameters
    ----------
    model
        A fitted model.
    deal
        One canonical deal (a one-row frame, with its account's columns joined).
    variants
        Per copy, canonical column -> its value there (typed as the contract types it); an
        empty mapping is the deal as it is.
    as_of
        The scoring date; None scores each copy as at the deal's creation (as training does).

    Returns
    -------
    pandas.DataFrame
        One row per variant, in order (index 0, 1, ...), with the batch job's score columns
        (:data:`walkaway.serving.scoring.SCORE_COLUMNS`).
    """
    if len(deal) != 1:
        raise ValueError(f"a what-if changes one deal, got {len(deal)}")
    copies = [changed_deal(deal, variant) for variant in variants]
    if not copies:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    frame = pd.concat(copies, ignore_index=True)
    when = frame["created_date"] if as_of is None else as_of
    return score_deals(model, frame, when).reset_index(drop=True)


def changed_deal(deal: pd.DataFrame, changes: Mapping[str, object]) -> pd.DataFrame:
    """A copy of a one-row deal with some canonical columns set (a column it lacks is added).

    Examples
    --------
    >>> deal = pd.DataFrame({"deal_id": ["D-7"], "competitor_count": [3.0]}, index=[12])
    >>> changed_deal(deal, {"competitor_count": 1.0, "formal_tender": False}).to_dict("records")
    [{'deal_id': 'D-7', 'competitor_count': 1.0, 'formal_tender': False}]
    """
    copy = deal.reset_index(drop=True).copy()
    for column, value in changes.items():
        copy[column] = pd.Series([value], dtype=object if isinstance(value, str | bool) else None)
    return copy


def explain_deal(
    model: WalkawayModel,
    deal: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    model_name: str | None = None,
    model_version: int | None = None,
) -> ExplainedDeal:
    """One canonical deal scored and explained as the batch job scores it.

    Parameters
    ----------
    model
        A fitted model.
    deal
        One canonical deal (a one-row frame, with its account's columns joined; as
        :func:`find_deal` gives it).
    as_of
        The scoring date; None scores the deal as at its creation (as training does).
    model_name, model_version
        Which model it is, to say so.

    Returns
    -------
    ExplainedDeal
        Its scores, each group's effect on p_good with its reasons, the recommendation and why.
    """
    scores = score_variants(model, deal, [{}], as_of).iloc[0]
    return ExplainedDeal.from_scores(scores, as_of, model_name, model_version)


# --------------------------------------------------------------------------------------------
# What if


@dataclass(frozen=True)
class Change:
    """One canonical column of a deal set to another value."""

    column: str
    before: object
    after: object

    def words(self) -> str:
        """``decision_maker_access: no → yes``."""
        return f"{self.column}: {value_words(self.before)} → {value_words(self.after)}"


@dataclass(frozen=True)
class WhatIf:
    """A deal explained before and after some of its inputs change.

    ``notes`` says which changes move no input of the model (so cannot move its scores).
    """

    changes: tuple[Change, ...]
    before: ExplainedDeal
    after: ExplainedDeal
    notes: tuple[str, ...] = ()

    @property
    def p_good_points(self) -> float:
        """The change in p_good, in points."""
        return 100.0 * (self.after.p_good - self.before.p_good)

    @property
    def recommendation_changed(self) -> bool:
        return self.before.recommendation != self.after.recommendation

    def summary(self) -> str:
        """The change in p_good and in the recommendation, in one line."""
        moved = (
            f"{recommendation_words(self.before.recommendation)} → "
            f"{recommendation_words(self.after.recommendation)}"
            if self.recommendation_changed
            else f"stays {recommendation_words(self.after.recommendation)}"
        )
        return (
            f"p_good {percent(self.before.p_good)} → {percent(self.after.p_good)} "
            f"({points(self.p_good_points)}); recommendation {moved}"
        )

    def table(self) -> pd.DataFrame:
        """p_good (in %) and each group's effect on it (in points), before and after, with the
        change, one row each, to a tenth as the command line says them."""
        before, after = self.before, self.after
        rows = {"p_good (%)": (100 * before.p_good, 100 * after.p_good)}
        rows.update(
            {
                old.title: (old.points, new.points)
                for old, new in zip(before.effects, after.effects, strict=True)
            }
        )
        table = pd.DataFrame.from_dict(rows, orient="index", columns=["before", "after"])
        table["change"] = table["after"] - table["before"]
        return table.round(1)

    def to_dict(self) -> dict[str, object]:
        """The what-if as plain JSON values under stable keys (see
        :meth:`ExplainedDeal.to_dict`)."""
        return {
            "deal_id": self.before.deal_id,
            "changes": [
                {
                    "column": c.column,
                    "before": _json_value(c.before),
                    "after": _json_value(c.after),
                }
                for c in self.changes
            ],
            "p_good_change_points": _number(self.p_good_points, 2),
            "recommendation_changed": self.recommendation_changed,
            "notes": list(self.notes),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


def what_if(
    model: WalkawayModel,
    deal: pd.DataFrame,
    changes: Mapping[str, object],
    as_of: pd.Timestamp | None = None,
    model_name: str | None = None,
    model_version: int | None = None,
) -> WhatIf:
    """One deal explained as it is and with some canonical columns set (all at once).

    Parameters
    ----------
    model, deal, as_of, model_name, model_version
        As for :func:`explain_deal`.
    changes
        Canonical column -> its new value, typed as the contract types it (see
        :func:`parse_changes`).

    Returns
    -------
    WhatIf
        Both explanations, the changes with the values they replace, and a note for each change
        that moves no input of the model.
    """
    scored = score_variants(model, deal, [{}, changes], as_of)
    before, after = (
        ExplainedDeal.from_scores(scored.iloc[i], as_of, model_name, model_version) for i in (0, 1)
    )
    row = deal.iloc[0]
    made = tuple(Change(c, row.get(c, np.nan), v) for c, v in changes.items())
    return WhatIf(made, before, after, _idle_changes(model, deal, changes, as_of))


def _idle_changes(
    model: WalkawayModel,
    deal: pd.DataFrame,
    changes: Mapping[str, object],
    as_of: pd.Timestamp | None,
) -> tuple[str, ...]:
    """A note for each change that sets a column to the value it has, or that moves no feature
    the model reads once the other changes are made (the deal with every change against the
    deal with every change but that one: a vendor left blank matters only with no tenure)."""
    row = deal.iloc[0]
    notes, tested = [], []
    for column, value in changes.items():
        if _same(row.get(column, np.nan), value):
            notes.append(f"{column} is {value_words(value)} already")
        else:
            tested.append(column)
    if not tested:
        return tuple(notes)
    others = [{c: v for c, v in changes.items() if c != column} for column in tested]
    copies = model.with_amounts(
        pd.concat([changed_deal(deal, v) for v in [dict(changes), *others]], ignore_index=True)
    )
    when = copies["created_date"] if as_of is None else as_of
    features = model.featurise(copies, when)[list(model.feature_names_)]
    changed = features.iloc[0]
    for position, column in enumerate(tested, start=1):
        if all(_same(a, b) for a, b in zip(changed, features.iloc[position], strict=True)):
            notes.append(f"{column} moves no input the model reads here: its scores cannot move")
    return tuple(notes)


def _same(a: object, b: object) -> bool:
    """Equal values, two missing values being equal.

    >>> _same(float("nan"), None), _same(1.0, 1), _same("a", float("nan"))
    (True, True, False)
    """
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return bool(a == b)
