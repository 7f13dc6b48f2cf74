"""A mapping names files in its export's folder only (issue 13, defect 3): a ``mapping.yaml``
beside an export is read automatically, and must not make walkaway read a file elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from walkaway.cli import main
from walkaway.data.mapping_files import load_mapping


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def mapping_reading(tmp_path: Path, accounts_file: str) -> Path:
    """The shipped synthetic mapping with its accounts file replaced, beside a copy of an
    export in ``tmp_path/export``."""
    document = load_mapping("synthetic-crm").to_document()
    document["tables"]["accounts"]["file"] = accounts_file
    path = tmp_path / "export" / "mapping.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_secret(tmp_path: Path) -> Path:
    """A file outside the export that a hostile mapping would like to read."""
    secret = tmp_path / "secret" / "creds.csv"
    secret.parent.mkdir()
    secret.write_text("account_id,industry\nACC-000001,password-hunter2\n", encoding="utf-8")
    return secret


def score_beside(
    mapping: Path, synthetic_dir: Path, out: Path, models_dir: Path, capsys: pytest.CaptureFixture
) -> tuple[int, str]:
    """Score the synthetic pipeline copied beside ``mapping``: exit code and what it said."""
    deals = mapping.parent / "pipeline.csv"
    deals.write_bytes((synthetic_dir / "pipeline.csv").read_bytes())
    code = main(
        [
            "score",
            *("--deals", str(deals), "--out", str(out)),
            *("--models-dir", str(models_dir), "--mapping", str(mapping)),
        ]
    )
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    "outside", ["../secret/creds.csv", "../../../../../../etc/passwd", "/etc/passwd"]
)
def test_a_mapping_beside_the_pipeline_cannot_read_files_elsewhere(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    outside: str,
) -> None:
    write_secret(tmp_path)
    mapping = mapping_reading(tmp_path, outside)
    out = tmp_path / "scored.csv"
    code, err = score_beside(mapping, synthetic_dir, out, champion_models_dir, capsys)
    assert code == 1 and "\n" not in err and "Traceback" not in err
    assert "tables.accounts.file: must name a file in the export's folder" in err
    assert not out.exists()


def test_a_file_in_a_subfolder_of_the_export_is_still_allowed(tmp_path: Path) -> None:
    mapping = mapping_reading(tmp_path, "crm/accounts.csv")
    assert load_mapping(mapping).tables["accounts"].file == "crm/accounts.csv"


def test_a_link_in_the_export_to_a_file_elsewhere_is_refused(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    secret = write_secret(tmp_path)
    mapping = mapping_reading(tmp_path, "accounts.csv")
    (mapping.parent / "accounts.csv").symlink_to(secret)
    out = tmp_path / "scored.csv"
    code, err = score_beside(mapping, synthetic_dir, out, champion_models_dir, capsys)
    assert code == 1 and "\n" not in err and "Traceback" not in err
    assert f"accounts.csv: is a link to {secret}, outside the export's folder" in err
    assert not out.exists()
