"""The data gate counts deals the same way in ``validate``, ``train`` and the README (issue 13,
defect 10): at least 40 won and 40 lost besides the newest 20% held out, both counts said."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main


@pytest.fixture
def forty_lost(synthetic_dir: Path, tmp_path: Path) -> Path:
    """The small synthetic export with exactly 40 lost deals (the oldest ones) and every win."""
    folder = tmp_path / "export"
    shutil.copytree(synthetic_dir, folder, ignore=shutil.ignore_patterns("truth.parquet"))
    deals = pd.read_csv(folder / "deals.csv", dtype=str, keep_default_na=False)
    lost = deals.index[deals["Stage"] == "Closed Lost"]
    assert len(lost) > 40
    deals.drop(index=lost[40:]).to_csv(folder / "deals.csv", index=False)
    return folder


def test_exactly_forty_lost_deals_are_counted_alike_by_validate_and_train(
    forty_lost: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["validate", "--history", str(forty_lost)]) == 1
    said = capsys.readouterr().out
    assert "besides the newest 20% it holds out to evaluate on" in " ".join(said.split())
    assert "40 lost in all" in " ".join(said.split())

    code = main(["train", "--history", str(forty_lost), "--models-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert "40 lost in all" in err and "lost before the holdout" in err
