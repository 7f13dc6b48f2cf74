"""The steps of notebook 03, review the open pipeline (walkaway.analysis.pipeline_review), on
the small synthetic history of conftest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from walkaway import jobs
from walkaway.analysis import pipeline_review
from walkaway.analysis.review_common import ReviewModel


@pytest.fixture
def score_job_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model URIs :func:`walkaway.jobs.score_job` is called with (it still runs)."""
    calls: list[str] = []
    real = jobs.score_job

    def recorded(*args: object, **kwargs: object) -> jobs.ScoringRun:
        calls.append(str(kwargs["model_uri"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "score_job", recorded)
    return calls


# ------------------------------------------------------------------ the model


def test_champion_or_train_loads_a_champion_trained_on_the_same_kind_of_export(
    synthetic_dir: Path, champion_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded = pipeline_review.champion_or_train(synthetic_dir, champion_models_dir)
    assert loaded.version is not None and loaded.name == "walkaway"
    assert loaded.trained_on == "synthetic-crm"
    assert loaded.result is None
    assert str(champion_models_dir.resolve()) in loaded.tracking_uri
    assert not loaded.model.evaluation_["metrics"].empty


# ------------------------------------------------------------------ the open pipeline


def test_scoring_date_is_the_day_given_else_the_day_of_the_export(
    synthetic_dir: Path, as_of: pd.Timestamp
) -> None:
    given = pipeline_review.scoring_date(synthetic_dir, as_of="2024-03-05 17:30")
    assert given == pd.Timestamp("2024-03-05")
    assert pipeline_review.scoring_date(synthetic_dir) == as_of


def test_open_deals_keeps_every_open_deal_of_the_pipeline(
    synthetic_dir: Path, pipeline: pipeline_review.OpenDeals
) -> None:
    rows = len(pd.read_csv(synthetic_dir / "pipeline.csv"))
    assert len(pipeline.deals) + len(pipeline.rejects) == rows
    assert pipeline.deals["outcome"].eq("open").all()
    assert "employees" in pipeline.deals, "account firmographics are joined"


def test_recommendation_mix_adds_up_to_the_scored_deals_and_their_value(
    scores: pd.DataFrame,
) -> None:
    mix = pipeline_review.recommendation_mix(scores)
    assert mix["deals"].sum() == len(scores)
    assert mix["value"].sum() == pytest.approx(scores["amount"].sum(skipna=True))
    assert mix["deals_share"].sum() == pytest.approx(1.0)
    assert mix["value_share"].sum() == pytest.approx(1.0)
    assert list(mix.index[:5]) == ["pursue", "compete", "keep_presence", "walk_away", "qualify"]
    assert isinstance(pipeline_review.recommendation_mix_figure(mix), Figure)


@pytest.mark.parametrize("recommendation", ["walk_away", "keep_presence", "pursue"])
def test_deal_list_is_sorted_by_amount_and_holds_only_its_recommendation(
    scores: pd.DataFrame, recommendation: str
) -> None:
    listed = pipeline_review.deal_list(scores, recommendation, top=7)
    assert len(listed) == min(7, int(scores["recommendation"].eq(recommendation).sum()))
    assert listed["recommendation"].eq(recommendation).all()
    amounts = listed["amount"].to_numpy()
    assert (np.diff(amounts) <= 0).all()
    biggest = scores.loc[scores["recommendation"] == recommendation, "amount"].max()
    assert amounts[0] == biggest


def test_an_empty_list_is_said_not_failed(scores: pd.DataFrame) -> None:
    listed = pipeline_review.deal_list(scores, "no_such_recommendation")
    assert listed.empty and "deal_id" in listed
    caption = pipeline_review.list_caption(scores, "no_such_recommendation")
    assert "no open deal" in caption


# ------------------------------------------------------------------ the list for the CRM


def test_write_for_crm_scores_a_model_that_is_not_registered_in_memory(
    synthetic_dir: Path,
    tmp_path: Path,
    reviewed: ReviewModel,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
    score_job_calls: list[str],
) -> None:
    out = tmp_path / "crm" / "scored.csv"
    written = pipeline_review.write_for_crm(
        synthetic_dir / "pipeline.csv", out, reviewed, as_of=as_of
    )
    written = written.iloc[:, 0]
    assert written["scored"] == len(scores)
    crm = pd.read_csv(out)
    assert sorted(crm["deal_id"]) == sorted(scores["deal_id"])
    assert crm["model_name"].eq("walkaway (not registered)").all()
    assert Path(written["rejects"]).is_file()
    assert score_job_calls == [], "the score job only takes a registered model"


def test_write_for_crm_scores_a_registered_model_with_the_score_job(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    pipeline: pipeline_review.OpenDeals,
    as_of: pd.Timestamp,
    score_job_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    champion = pipeline_review.champion_or_train(synthetic_dir, champion_models_dir)
    out = tmp_path / "crm" / "scored.csv"
    written = pipeline_review.write_for_crm(
        synthetic_dir / "pipeline.csv", out, champion, as_of=as_of
    ).iloc[:, 0]
    assert score_job_calls == [f"models:/walkaway/{champion.version}"]
    in_memory = pipeline_review.score_open_deals(champion, pipeline, as_of)
    assert written["scored"] == len(in_memory)
    crm = pd.read_csv(out).set_index("deal_id").loc[in_memory["deal_id"]]
    assert crm["model_version"].eq(champion.version).all()
    assert crm["p_good"].to_numpy() == pytest.approx(in_memory["p_good"].to_numpy(), abs=1e-12)
    assert Path(written["rejects"]).is_file()
