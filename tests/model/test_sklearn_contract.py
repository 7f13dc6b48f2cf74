"""The scikit-learn contract (issue 14): ``WalkawayModel`` and every feature transformer can be
cloned, say they are not fitted until they are, and a transformer's ``fit_transform`` is its
``fit`` then ``transform``; output columns are ``get_feature_names_out``."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from walkaway.data.history import History
from walkaway.model.features import build_features
from walkaway.model.features.deal_age import DealAge
from walkaway.model.features.deal_context import DealContext
from walkaway.model.features.deal_progress import DealProgress
from walkaway.model.features.extra import ExtraFeatures
from walkaway.model.features.glass_walls import GlassWalls
from walkaway.model.features.icp_fit import IcpFit
from walkaway.model.features.need_fit import NeedFit
from walkaway.model.walkaway_model import WalkawayModel

TRANSFORMERS = [
    GlassWalls(),
    IcpFit(evidence_counts=True),
    NeedFit(),
    DealContext(seller_prior_deals=3.0),
    DealAge(similar_prior_deals=7.0),
    DealProgress(),
    ExtraFeatures({"extra__sales_team": ("deal_context", "Sales Team")}),
]


@pytest.fixture(scope="module")
def closed(labelled: pd.DataFrame, history: History) -> pd.DataFrame:
    """Closed deals with their accounts, as at creation, and an extra column."""
    deals = labelled[labelled["won"].notna()].head(400)
    return deals.assign(as_of=deals["created_date"], extra__sales_team="north")


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_a_clone_has_the_same_parameters_and_no_fitted_state(transformer, closed) -> None:
    fitted = clone(transformer).fit(closed)
    copy = clone(fitted)
    assert copy.get_params() == transformer.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    check_is_fitted(fitted)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_transform_before_fit_says_not_fitted(transformer, closed) -> None:
    with pytest.raises(NotFittedError):
        clone(transformer).transform(closed)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_fit_transform_is_fit_then_transform(transformer, closed) -> None:
    together = clone(transformer).set_output(transform="pandas").fit_transform(closed)
    fitted = clone(transformer).set_output(transform="pandas").fit(closed)
    apart = fitted.transform(closed)
    pd.testing.assert_frame_equal(together, apart)
    assert list(apart.columns) == list(fitted.get_feature_names_out())


def test_the_feature_union_follows_the_contract_too(closed) -> None:
    union = build_features(extra_features={"extra__sales_team": ("deal_context", "Sales Team")})
    pd.testing.assert_frame_equal(
        clone(union).fit_transform(closed), clone(union).fit(closed).transform(closed)
    )


def test_the_model_clones_and_says_when_it_is_not_fitted(trained, closed) -> None:
    model = WalkawayModel(calibration="isotonic", horizon_days=180, age_aware=False)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.predict_probabilities(closed)
    with pytest.raises(NotFittedError):
        copy.predict(closed)
    check_is_fitted(trained.model)
    refitted = clone(trained.model)
    assert refitted.get_params().keys() == trained.model.get_params().keys()
    with pytest.raises(NotFittedError):
        check_is_fitted(refitted)
