"""The steps of notebook 02, train and evaluate (walkaway.analysis.model_review), on the small
synthetic history of conftest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from walkaway.analysis import model_review
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.signs import SIGNS


@pytest.fixture(scope="module")
def model(trained: TrainingResult) -> WalkawayModel:
    return trained.model


def open_pyplot_figures() -> list[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return list(pyplot.get_fignums()) if pyplot is not None else []


# ------------------------------------------------------------------ the model


def test_train_or_load_loads_a_champion_trained_on_the_same_kind_of_export(
    synthetic_dir: Path, champion_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded = model_review.train_or_load(synthetic_dir, champion_models_dir, train=False)
    assert loaded.version is not None and loaded.name == "walkaway"
    assert loaded.trained_on == "synthetic-crm"
    assert loaded.result is None, "loaded, not trained"
    assert loaded.story.startswith("loaded @champion")
    assert loaded.models_dir == champion_models_dir


# ------------------------------------------------------------------ evaluation


def test_holdout_deals_are_the_win_holdout_of_training(
    synthetic_dir: Path, trained: TrainingResult
) -> None:
    holdout = model_review.holdout_deals(synthetic_dir)
    judged = trained.win.deals.drop_duplicates("deal_row")  # the holdout's snapshots, by deal
    assert holdout["deal_id"].tolist() == judged["deal_id"].tolist()


def test_holdout_metrics_compare_both_heads_with_the_baselines(model: WalkawayModel) -> None:
    metrics = model_review.holdout_metrics(model)
    assert {"walkaway", "logistic", "base_rate"} <= set(metrics.loc["win"].index)
    assert "regret" in metrics.index.get_level_values("head")
    assert isinstance(model_review.reliability_figure(model), Figure)
    assert isinstance(model_review.importance_figure(model), Figure)


def test_beeswarm_figures_exist_for_each_sign_with_features(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    before = open_pyplot_figures()
    figures = model_review.sign_beeswarm_figures(model, trained.win.deals.head(300), max_display=20)
    assert list(figures) == list(SIGNS)
    catalogue = model.feature_catalogue
    for sign, figure in figures.items():
        assert isinstance(figure, Figure)
        names = model_review.sign_features(model, sign)
        assert names, f"the synthetic export has inputs for {sign}"
        axis = figure.axes[0]
        shown = {tick.get_text() for tick in axis.get_yticklabels()}
        assert shown == {catalogue[n].label for n in names}
    assert open_pyplot_figures() == before, "a beeswarm left a pyplot figure open"


def test_a_sign_without_inputs_gets_a_figure_that_says_so(model: WalkawayModel) -> None:
    figure = model_review._no_features_figure("need_fit")
    assert "no inputs" in figure.axes[0].texts[0].get_text()


# ------------------------------------------------------------------ what-if


def test_what_if_gives_one_row_per_value_and_the_own_value_gives_the_deals_own_p_good(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    deal = model_review.what_if_deal(model, trained.win.deals)
    changes = model_review.what_if_inputs(model, deal)
    assert set(changes) == {"incumbent_tenure_years", "employees", "product"}
    table = model_review.what_if(model, deal, changes)

    own_p_good = float(model.predict(deal)["p_good"].iloc[0])
    for column, values in changes.items():
        rows = table[table["input"] == column]
        assert len(rows) == len(values)
        assert rows["value"].tolist() == values
        assert rows["p_good"].between(0, 1).all()
        own = rows[rows["own"]]
        assert len(own) == 1, f"the deal's own {column} is among the values tried"
        assert own["p_good"].iloc[0] == pytest.approx(own_p_good, abs=1e-12)
    assert (table["p_good"] <= table["p_win"] + 1e-12).all()
    assert table["p_good"].nunique() > 1, "moving the inputs moves p_good"

    before = open_pyplot_figures()
    figure = model_review.what_if_figure(table)
    assert len(figure.axes) == len(changes)
    assert open_pyplot_figures() == before


def test_what_if_refuses_more_than_one_deal(model: WalkawayModel, trained: TrainingResult) -> None:
    with pytest.raises(ValueError, match="one deal"):
        model_review.what_if(model, trained.win.deals.head(2), {"employees": [10.0]})


def test_the_what_if_deal_has_a_rival_a_size_and_a_product(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    deal = model_review.what_if_deal(model, trained.win.deals)
    assert len(deal) == 1
    for column in ("incumbent_vendor", "incumbent_tenure_years", "employees", "product"):
        assert deal[column].notna().all()
