"""What both review notebooks start from (walkaway.analysis.review_common): the demo export, the
model under review and one deal in words, on the small synthetic history of conftest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from walkaway.analysis import review_common
from walkaway.data.history import History
from walkaway.model.training import TrainingResult
from walkaway.signs import GROUPS, TITLES


def a_deal_with_a_rival(trained: TrainingResult) -> pd.DataFrame:
    deals = trained.win.deals
    return deals[deals["incumbent_vendor"].notna()].head(1)


def test_deal_summary_says_each_sign_in_words(trained: TrainingResult) -> None:
    model = trained.model
    deal = a_deal_with_a_rival(trained)
    summary = review_common.deal_summary(model, deal).iloc[:, 0]
    assert summary["deal_id"] == deal["deal_id"].iloc[0]
    assert "incumbent" in summary["glass walls"]
    assert {TITLES[g] for g in GROUPS} <= set(summary.index)
    assert summary["p_good"] == pytest.approx(float(model.predict(deal)["p_good"].iloc[0]))


def test_deal_summary_scores_as_at_the_date_given(
    trained: TrainingResult, history: History
) -> None:
    model, deal, as_of = trained.model, a_deal_with_a_rival(trained), history.export_date
    summary = review_common.deal_summary(model, deal, as_of).iloc[:, 0]
    scored = model.predict(model.with_amounts(deal), as_of=as_of)
    assert summary["p_good"] == pytest.approx(float(scored["p_good"].iloc[0]))


def test_deal_summary_refuses_more_than_one_deal(trained: TrainingResult) -> None:
    with pytest.raises(ValueError, match="one deal"):
        review_common.deal_summary(trained.model, trained.win.deals.head(2))


def test_a_model_that_is_not_registered_says_so(trained: TrainingResult) -> None:
    reviewed = review_common.ReviewModel(trained.model, None, None, None, "trained", "none")
    assert reviewed.label == "walkaway (not registered)"
    summary = reviewed.summary().iloc[:, 0]
    assert summary["trained on (mapping)"] == "unknown"
    assert summary["how"] == "trained"


def test_the_champion_matches_an_export_of_its_own_mapping(
    champion_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded, why = review_common.matching_champion(champion_models_dir, "synthetic-crm")
    assert loaded is not None and why == ""
    assert loaded.label == f"walkaway v{loaded.version}"
    assert loaded.models_dir == champion_models_dir


def test_no_champion_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded, why = review_common.matching_champion(tmp_path / "models", "synthetic-crm")
    assert loaded is None and "no champion yet" in why


def test_ensure_demo_export_leaves_an_export_in_place(synthetic_dir: Path) -> None:
    before = sorted(p.name for p in synthetic_dir.iterdir())
    said = review_common.ensure_demo_export(synthetic_dir, deals=100)
    assert said.startswith("using the export in place")
    assert sorted(p.name for p in synthetic_dir.iterdir()) == before


def test_ensure_demo_export_never_writes_into_an_export_with_another_deals_file(
    tmp_path: Path,
) -> None:
    maven_like = tmp_path / "maven"
    maven_like.mkdir()
    (maven_like / "sales_pipeline.csv").write_text("opportunity_id\nA\n")
    (maven_like / "accounts.csv").write_text("account\nx\n")
    said = review_common.ensure_demo_export(maven_like, deals=100)
    assert said.startswith("using the export in place")
    assert sorted(p.name for p in maven_like.iterdir()) == ["accounts.csv", "sales_pipeline.csv"]
    assert (maven_like / "accounts.csv").read_text() == "account\nx\n"
