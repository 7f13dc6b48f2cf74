"""Exports as they come (issue 12): a Salesforce-like export with its own column names and US
dates, trained with ``--mapping`` and scored without it, reads the way training read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from walkaway.cli import main
from walkaway.mapping import load_mapping
from walkaway.synth import write_synthetic_history

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
