"""The notebooks' steps (walkaway.analysis.review) on the small synthetic history of conftest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from walkaway.analysis import review
from walkaway.data.history import History
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.signs import GROUPS, SIGNS


@pytest.fixture(scope="module")
def model(trained: TrainingResult) -> WalkawayModel:
    return trained.model


@pytest.fixture(scope="module")
def reviewed(model: WalkawayModel) -> review.ReviewModel:
    return review.ReviewModel(model, None, None, "synthetic-crm", "trained in a test", "none")


@pytest.fixture(scope="module")
def as_of(history: History) -> pd.Timestamp:
    return history.export_date


@pytest.fixture(scope="module")
def pipeline(synthetic_dir: Path) -> review.OpenDeals:
    return review.open_deals(synthetic_dir / "pipeline.csv")


@pytest.fixture(scope="module")
def scores(
    reviewed: review.ReviewModel, pipeline: review.OpenDeals, as_of: pd.Timestamp
) -> pd.DataFrame:
    return review.score_open_deals(reviewed, pipeline, as_of)


def open_pyplot_figures() -> list[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return list(pyplot.get_fignums()) if pyplot is not None else []


# ------------------------------------------------------------------ evaluation


def test_holdout_deals_are_the_win_holdout_of_training(
    synthetic_dir: Path, trained: TrainingResult
) -> None:
    holdout = review.holdout_deals(synthetic_dir)
    judged = trained.win.deals.drop_duplicates("deal_row")  # the holdout's snapshots, by deal
    assert holdout["deal_id"].tolist() == judged["deal_id"].tolist()


def test_holdout_metrics_compare_both_heads_with_the_baselines(model: WalkawayModel) -> None:
    metrics = review.holdout_metrics(model)
    assert {"walkaway", "logistic", "base_rate"} <= set(metrics.loc["win"].index)
    assert "regret" in metrics.index.get_level_values("head")
    assert isinstance(review.reliability_figure(model), Figure)
    assert isinstance(review.importance_figure(model), Figure)


def test_beeswarm_figures_exist_for_each_sign_with_features(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    before = open_pyplot_figures()
    figures = review.sign_beeswarm_figures(model, trained.win.deals.head(300), max_display=20)
    assert list(figures) == list(SIGNS)
    catalogue = model.feature_catalogue
    for sign, figure in figures.items():
        assert isinstance(figure, Figure)
        names = review.sign_features(model, sign)
        assert names, f"the synthetic export has inputs for {sign}"
        axis = figure.axes[0]
        shown = {tick.get_text() for tick in axis.get_yticklabels()}
        assert shown == {catalogue[n].label for n in names}
    assert open_pyplot_figures() == before, "a beeswarm left a pyplot figure open"


def test_a_sign_without_inputs_gets_a_figure_that_says_so(model: WalkawayModel) -> None:
    figure = review._no_features_figure("need_fit")
    assert "no inputs" in figure.axes[0].texts[0].get_text()


# ------------------------------------------------------------------ what-if


def test_what_if_gives_one_row_per_value_and_the_own_value_gives_the_deals_own_p_good(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    deal = review.what_if_deal(model, trained.win.deals)
    changes = review.what_if_inputs(model, deal)
    assert set(changes) == {"incumbent_tenure_years", "employees", "product"}
    table = review.what_if(model, deal, changes)

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
    figure = review.what_if_figure(table)
    assert len(figure.axes) == len(changes)
    assert open_pyplot_figures() == before


def test_what_if_refuses_more_than_one_deal(model: WalkawayModel, trained: TrainingResult) -> None:
    with pytest.raises(ValueError, match="one deal"):
        review.what_if(model, trained.win.deals.head(2), {"employees": [10.0]})


def test_deal_summary_says_each_sign_in_words(
    model: WalkawayModel, trained: TrainingResult
) -> None:
    deal = review.what_if_deal(model, trained.win.deals)
    summary = review.deal_summary(model, deal).iloc[:, 0]
    assert summary["deal_id"] == deal["deal_id"].iloc[0]
    assert "incumbent" in summary["glass walls"]
    assert summary["p_good"] == pytest.approx(float(model.predict(deal)["p_good"].iloc[0]))


# ------------------------------------------------------------------ the open pipeline


def test_open_deals_keeps_every_open_deal_of_the_pipeline(
    synthetic_dir: Path, pipeline: review.OpenDeals
) -> None:
    rows = len(pd.read_csv(synthetic_dir / "pipeline.csv"))
    assert len(pipeline.deals) + len(pipeline.rejects) == rows
    assert pipeline.deals["outcome"].eq("open").all()
    assert "employees" in pipeline.deals, "account firmographics are joined"


def test_recommendation_mix_adds_up_to_the_scored_deals_and_their_value(
    scores: pd.DataFrame,
) -> None:
    mix = review.recommendation_mix(scores)
    assert mix["deals"].sum() == len(scores)
    assert mix["value"].sum() == pytest.approx(scores["amount"].sum(skipna=True))
    assert mix["deals_share"].sum() == pytest.approx(1.0)
    assert mix["value_share"].sum() == pytest.approx(1.0)
    assert list(mix.index[:5]) == ["pursue", "compete", "keep_presence", "walk_away", "qualify"]
    assert isinstance(review.recommendation_mix_figure(mix), Figure)


@pytest.mark.parametrize("recommendation", ["walk_away", "keep_presence", "pursue"])
def test_deal_list_is_sorted_by_amount_and_holds_only_its_recommendation(
    scores: pd.DataFrame, recommendation: str
) -> None:
    listed = review.deal_list(scores, recommendation, top=7)
    assert len(listed) == min(7, int(scores["recommendation"].eq(recommendation).sum()))
    assert listed["recommendation"].eq(recommendation).all()
    amounts = listed["amount"].to_numpy()
    assert (np.diff(amounts) <= 0).all()
    biggest = scores.loc[scores["recommendation"] == recommendation, "amount"].max()
    assert amounts[0] == biggest


def test_an_empty_list_is_said_not_failed(scores: pd.DataFrame) -> None:
    listed = review.deal_list(scores, "no_such_recommendation")
    assert listed.empty and "deal_id" in listed
    caption = review.list_caption(scores, "no_such_recommendation")
    assert "no open deal" in caption


def test_waterfall_signs_and_bias_add_up_to_each_heads_margin(
    model: WalkawayModel, pipeline: review.OpenDeals, scores: pd.DataFrame, as_of: pd.Timestamp
) -> None:
    deal_id = review.deal_to_explain(scores)
    deal = pipeline.deal(deal_id)
    table = review.waterfall(model, deal, as_of)

    X = model._encode(model.featurise(model.with_amounts(deal), as_of))
    heads = {"win": model.win_head_, "regret": model.regret_head_}
    score = scores[scores["deal_id"] == deal_id].iloc[0]
    for head, fitted in heads.items():
        rows = table[table["head"] == head]
        bias = rows.loc[rows["part"] == "bias", "log_odds"].sum()
        signs = rows[rows["part"] == "sign"]
        assert signs["group"].tolist() == list(GROUPS)
        margin = rows.loc[rows["part"] == "margin"].iloc[0]
        assert bias + signs["log_odds"].sum() == pytest.approx(fitted.margin(X)[0], abs=1e-6)
        assert margin["log_odds"] == pytest.approx(fitted.margin(X)[0], abs=1e-6)
        features = rows[rows["part"] == "feature"].groupby("group")["log_odds"].sum()
        for _, sign in signs.iterrows():
            assert features.get(sign["group"], 0.0) == pytest.approx(sign["log_odds"], abs=1e-9)
        assert margin["probability"] == pytest.approx(score[f"p_{head}"], abs=1e-9)
    effects = table[(table["head"] == "win") & (table["part"] == "sign")]
    for _, sign in effects.iterrows():
        assert sign["p_good_points"] == pytest.approx(score[f"effect_{sign['group']}"], abs=1e-9)

    before = open_pyplot_figures()
    assert isinstance(review.waterfall_figure(table, deal_id), Figure)
    assert open_pyplot_figures() == before


def test_write_for_crm_writes_the_scored_deals_and_their_rejects(
    synthetic_dir: Path,
    tmp_path: Path,
    reviewed: review.ReviewModel,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
) -> None:
    out = tmp_path / "crm" / "scored.csv"
    written = review.write_for_crm(synthetic_dir / "pipeline.csv", out, reviewed, as_of=as_of)
    written = written.iloc[:, 0]
    assert written["scored"] == len(scores)
    crm = pd.read_csv(out)
    assert sorted(crm["deal_id"]) == sorted(scores["deal_id"])
    assert Path(written["rejects"]).is_file()


# ------------------------------------------------------------------ the model


def test_champion_or_train_loads_a_champion_trained_on_the_same_kind_of_export(
    synthetic_dir: Path, champion_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded = review.champion_or_train(synthetic_dir, champion_models_dir)
    assert loaded.version is not None and loaded.name == "walkaway"
    assert loaded.trained_on == "synthetic-crm"
    assert loaded.result is None
    assert str(champion_models_dir.resolve()) in loaded.tracking_uri
    assert not review.holdout_metrics(loaded.model).empty


def test_ensure_demo_export_leaves_an_export_in_place(synthetic_dir: Path) -> None:
    before = sorted(p.name for p in synthetic_dir.iterdir())
    said = review.ensure_demo_export(synthetic_dir, deals=100)
    assert said.startswith("using the export in place")
    assert sorted(p.name for p in synthetic_dir.iterdir()) == before


def test_ensure_demo_export_never_writes_into_an_export_with_another_deals_file(
    tmp_path: Path,
) -> None:
    maven_like = tmp_path / "maven"
    maven_like.mkdir()
    (maven_like / "sales_pipeline.csv").write_text("opportunity_id\nA\n")
    (maven_like / "accounts.csv").write_text("account\nx\n")
    said = review.ensure_demo_export(maven_like, deals=100)
    assert said.startswith("using the export in place")
    assert sorted(p.name for p in maven_like.iterdir()) == ["accounts.csv", "sales_pipeline.csv"]
    assert (maven_like / "accounts.csv").read_text() == "account\nx\n"
