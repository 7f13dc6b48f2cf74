"""The pyfunc's contract without MLflow: its artifacts round-trip, its inputs are plain."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkaway.data.mapping_files import load_mapping, shipped_mappings
from walkaway.data.wire_format import to_wire
from walkaway.model.training import TrainingResult
from walkaway.serving.pyfunc_contract import (
    code_paths,
    input_columns,
    read_artifacts,
    requirements,
    score_canonical,
    write_artifacts,
)


def test_artifacts_round_trip_the_model_and_its_mapping(
    trained: TrainingResult, tmp_path: Path
) -> None:
    mapping = load_mapping(shipped_mappings()["synthetic-crm"])
    model, read = read_artifacts(write_artifacts(trained.model, mapping, tmp_path))

    assert read == mapping and read is not None
    assert read.source == "the model's mapping.yaml"
    wire = to_wire(trained.win.deals.head(20)).assign(as_of="2025-12-31")
    pd.testing.assert_frame_equal(
        score_canonical(model, wire), score_canonical(trained.model, wire)
    )


def test_a_model_logged_without_a_mapping_reads_back_none(
    trained: TrainingResult, tmp_path: Path
) -> None:
    artifacts = write_artifacts(trained.model, None, tmp_path)
    assert list(artifacts) == ["walkaway_model"]
    assert read_artifacts(artifacts)[1] is None


def test_only_the_deal_id_is_required(trained: TrainingResult) -> None:
    columns = input_columns(trained.model)
    assert [name for name, _, required in columns if required] == ["deal_id"]
    assert ("as_of", "string", False) in columns
    assert {kind for _, kind, _ in columns} == {"double", "string"}


def test_the_model_pins_what_scoring_imports_and_carries_walkaway_instead_of_pinning_it() -> None:
    pins = dict(line.split("==") for line in requirements())
    assert "walkaway" not in pins and all(pins.values())
    # the scoring path imports these (the model's pickle, its mapping's YAML and document)
    assert {"joblib", "PyYAML", "pydantic", "lightgbm", "pandera", "mlflow"} <= set(pins)
    [package] = [Path(path) for path in code_paths()]
    assert package.name == "walkaway" and (package / "serving" / "pyfunc_contract.py").is_file()
