"""Features for the three signs and the deal's context, as scikit-learn transformers.

Each module defines one group's transformer and its ``FEATURES``: every feature with the sign
it belongs to and the words for its value. :func:`build_features` joins them into one
``FeatureUnion`` with pandas output whose fitted state (account histories, the ICP, the product
catalogue) travels inside the model.
"""

from __future__ import annotations

from dataclasses import replace

from sklearn.pipeline import FeatureUnion

from walkaway.data.contracts import ACCOUNT_COLUMNS, DEAL_COLUMNS
from walkaway.model.features import (
    deal_age,
    deal_context,
    deal_progress,
    extra,
    glass_walls,
    icp_fit,
    need_fit,
)
from walkaway.signs import Feature

FEATURES: dict[str, Feature] = {
    **glass_walls.FEATURES,
    **icp_fit.FEATURES,
    **need_fit.FEATURES,
    **deal_context.FEATURES,
    **deal_age.FEATURES,
    **deal_progress.FEATURES,
}


# Canonical columns and the built-in features that come from them alone: a mapping's
# ``signs: {product: need_fit}`` moves those features to another sign. Every other feature
# combines several columns (the ICP similarity, capability coverage) and keeps its sign.
FEATURES_OF_COLUMN: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in FEATURES if name in DEAL_COLUMNS or name in ACCOUNT_COLUMNS},
    "incumbent_vendor": ("incumbent_present",),
    "owner": ("seller_win_rate", "seller_closed_deals"),
    "account_id": ("prior_wins_at_account", "prior_losses_at_account"),
}


def with_signs(catalogue: dict[str, Feature], signs: dict[str, str] | None) -> dict[str, Feature]:
    """``catalogue`` with the features of each column in ``signs`` moved to its sign.

    Examples
    --------
    >>> with_signs(FEATURES, {"product": "need_fit"})["product"].sign
    'need_fit'
    """
    moved = dict(catalogue)
    for column, sign in (signs or {}).items():
        for name in FEATURES_OF_COLUMN.get(column, ()):
            if name in moved:
                moved[name] = replace(moved[name], sign=sign)
    return moved


def build_features(
    catalogue: dict[str, str] | None = None,
    extra_features: dict[str, tuple[str, str]] | None = None,
    evidence_counts: bool = False,
    age: bool = True,
    progress: bool = False,
) -> FeatureUnion:
    """The feature pipeline: every row needs an ``as_of`` date; fitting needs labelled deals.

    With ``evidence_counts``, the output also holds counts that say how much evidence the
    features rest on (:data:`walkaway.model.features.icp_fit.EVIDENCE_COUNTS`), for exploring a
    history: they are no model inputs. Without ``age``, the deal's age is left out (the
    age-blind model the benchmarks compare with). With ``progress``, the deal's stage, days in
    stage and close-date moves from its ``stage_history`` (an export with a deal-history
    table).

    Examples
    --------
    >>> list(build_features().transformer_list[0])[0]
    'glass_walls'
    """
    union = FeatureUnion(
        [
            ("glass_walls", glass_walls.GlassWalls()),
            ("icp_fit", icp_fit.IcpFit(evidence_counts=evidence_counts)),
            ("need_fit", need_fit.NeedFit(catalogue)),
            ("deal_context", deal_context.DealContext()),
            *([("deal_age", deal_age.DealAge())] if age else []),
            *([("deal_progress", deal_progress.DealProgress())] if progress else []),
            *([("extra", extra.ExtraFeatures(extra_features))] if extra_features else []),
        ],
        verbose_feature_names_out=False,
    )
    return union.set_output(transform="pandas")
