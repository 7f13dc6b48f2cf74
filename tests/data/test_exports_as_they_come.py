"""Exports as they come (issue 12): a Salesforce-like export with its own column names and US
dates, trained with ``--mapping`` and scored without it, reads the way training read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.questionnaire import ANSWERS, compare_with_one_hot, write_questionnaire
from walkaway.cli import main
from walkaway.data.mapping_files import load_mapping
from walkaway.data.synth import write_synthetic_history

# The synthetic export's columns under the names another company's CRM gives them.
OWN_NAMES = {
    "Opportunity ID": "Opp Ref",
    "Account ID": "Customer Ref",
    "Created Date": "Opened On",
    "Close Date": "Closed On",
    "Stage": "Pipeline Stage",
    "Amount": "Deal Value (USD)",
    "Sales Region": "Territory",
}
DATES = ("Created Date", "Close Date", "Churn Date")


def rename_export(source: Path, target: Path) -> None:
    """Copy a synthetic export under OWN_NAMES with month-first dates."""
    target.mkdir()
    for name in ("deals.csv", "pipeline.csv", "accounts.csv", "products.csv"):
        frame = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        for column in DATES:
            if column in frame:
                day = pd.to_datetime(frame[column], format="%d/%m/%Y", errors="coerce")
                frame[column] = day.dt.strftime("%m/%d/%Y").where(day.notna(), frame[column])
        frame.rename(columns=OWN_NAMES).to_csv(target / name, index=False)


def own_mapping(path: Path) -> Path:
    document = load_mapping("synthetic-crm").to_document()
    document["name"] = "acme-crm"
    document["date_format"] = "%m/%d/%Y"
    for table in document["tables"].values():
        table["columns"] = {k: OWN_NAMES.get(v, v) for k, v in table["columns"].items()}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The renamed export, its mapping kept apart from it, and a store trained with both."""
    root = tmp_path_factory.mktemp("acme")
    write_synthetic_history(root / "synthetic", n_deals=1_500, seed=5)
    rename_export(root / "synthetic", root / "export")
    mapping = own_mapping(root / "acme-crm.yaml")
    models = root / "models"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        args = ["train", "--history", str(root / "export"), "--mapping", str(mapping)]
        assert main([*args, "--models-dir", str(models)]) == 0
    return {"root": root, "export": root / "export", "mapping": mapping, "models": models}


def score(deals: Path, out: Path, models: Path, *extra: str) -> int:
    args = ["score", "--deals", str(deals), "--out", str(out), "--models-dir", str(models)]
    return main([*args, "--as-of", "2025-12-31", *extra])


def test_scored_without_mapping_it_reads_with_the_one_it_was_trained_with(
    acme: dict[str, Path], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = acme["root"] / "scored.csv"
    assert score(acme["export"] / "pipeline.csv", out, acme["models"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Mapping: acme-crm (the mapping the model was trained with)" in printed

    # The same pipeline under its original names and mapping: the same deals are scored.
    original = acme["root"] / "original.csv"
    given = ("--mapping", "synthetic-crm")
    assert score(acme["root"] / "synthetic" / "pipeline.csv", original, acme["models"], *given) == 0
    scored = pd.read_csv(out)
    assert len(scored) > 150
    assert scored["deal_id"].tolist() == pd.read_csv(original)["deal_id"].tolist()
    rejects = pd.read_csv(acme["root"] / "scored.csv.rejects.csv")
    assert not rejects["reason"].str.contains("date").any()


def test_a_wrong_mapping_given_by_hand_says_which_and_why_everything_was_rejected(
    acme: dict[str, Path], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    deals = acme["export"] / "pipeline.csv"
    out = acme["root"] / "wrong.csv"
    assert score(deals, out, acme["models"], "--mapping", "salesforce-opportunity") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "missing required column 'Id' (deal_id)" in err
    assert "of the mapping salesforce-opportunity (given with --mapping)" in err


# --------------------------------------------------------------------------- a questionnaire


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The questionnaire export as its owner would hand it over, with its drafted mapping."""
    return write_questionnaire(tmp_path_factory.mktemp("survey"), deals=1_500, seed=2)


def test_a_questionnaire_drafts_a_mapping_that_trains_unedited(survey: Path) -> None:
    from walkaway.data.exports import load_history
    from walkaway.data.mapping_files import load_mapping

    mapping = load_mapping(survey / "mapping.yaml")
    deals = mapping.tables["deals"]
    assert (mapping.delimiter, mapping.decimal, mapping.dated) == (";", ",", False)
    assert deals.id_from == ("row_number",)
    assert "account_id" not in deals.columns, "a 3-value status names no account"
    assert deals.columns["formal_tender"] == "Formal tender", "the exact name beats 'RFI'"
    assert "incumbent_vendor" not in deals.columns, "Yes/No says a rival bids, not who"
    mapped = set(deals.columns.values()) | set(deals.features)
    assert set(ANSWERS) <= mapped, f"left out: {sorted(set(ANSWERS) - mapped)}"
    history = load_history(survey)
    assert history.deals["x_discount"].astype(float).between(0, 30).all()
    assert history.deals["region"].eq("na").any(), "NA is North America, not missing"


def test_a_questionnaire_model_is_as_good_as_one_hot_lightgbm_and_uses_every_sign(
    survey: Path,
) -> None:
    from walkaway.data.exports import load_history

    comparison = compare_with_one_hot(load_history(survey))
    assert comparison.walkaway_auc >= comparison.one_hot_auc - 0.02, comparison
    importance = comparison.result.sign_importance()
    assert all(importance[sign] > 0 for sign in ("glass_walls", "icp_fit", "need_fit"))


def test_a_questionnaire_trains_and_scores_on_the_command_line(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    models = tmp_path / "models"
    assert main(["train", "--history", str(survey), "--models-dir", str(models)]) == 0
    out = tmp_path / "scored.csv"
    report = tmp_path / "report.html"
    assert score(survey / "open.csv", out, models, "--report", str(report)) == 0
    assert "No deal has an amount: the pipeline value is unknown." in report.read_text()
    scored = pd.read_csv(out)
    assert len(scored) == 120
    assert scored["deal_id"].iloc[0] == "row-2"
    reasons = scored[[c for c in scored if c.startswith("reasons_")]].fillna("").agg(" ".join, 1)
    assert reasons.str.contains(r"Customer status: (?:New|Current|Past)").any(), "as spelled"
    assert not reasons.str.contains(r"Customer status: (?:new|current|past)").any()
