"""Every 7th line of a pipeline broken, in turn each way ``benchmarks.hostile_reading`` breaks
them: at any chunk size, read = scored + rejected, the rejects are exactly the broken lines,
and the scores do not depend on the chunking (issue 13; `make bench` runs the same at 100,000
lines)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.hostile_reading import FIRST_DAMAGED, broken_pipeline
from walkaway.cli import main

LINES = 2_100


@pytest.fixture(scope="module")
def damaged(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    pipeline = tmp_path_factory.mktemp("seventh") / "pipeline.csv"
    return pipeline, broken_pipeline(synthetic_dir / "pipeline.csv", LINES, pipeline)


@pytest.fixture(scope="module")
def runs(
    damaged: tuple[Path, dict], champion_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """Scores and rejects at chunk sizes that fall on broken lines, between them, and whole."""
    pipeline, _ = damaged
    folder = tmp_path_factory.mktemp("seventh-runs")
    outputs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for chunk_size in (350, 1_001, LINES):
            out = folder / f"scored-{chunk_size}.csv"
            args = ["score", "--deals", str(pipeline), "--out", str(out)]
            args += ["--models-dir", str(champion_models_dir), "--as-of", "2025-12-31"]
            assert main([*args, "--chunk-size", str(chunk_size)]) == 0
            scored = pd.read_csv(out, dtype=str, keep_default_na=False)
            rejects = pd.read_csv(out.with_name(out.name + ".rejects.csv"), dtype=str)
            outputs[chunk_size] = scored.drop(columns="scored_at"), rejects
    return outputs


def test_every_line_is_scored_or_rejected_and_the_rejects_are_the_broken_lines(
    damaged: tuple[Path, dict], runs: dict
) -> None:
    _, broken = damaged
    assert (
        len(broken) == (LINES + 1) // 7 - FIRST_DAMAGED // 7 + 1 and len(set(broken.values())) == 5
    )
    for chunk_size, (scored, rejects) in runs.items():
        assert len(scored) + len(rejects) == LINES, chunk_size
        assert set(rejects["row"].astype(int)) == set(broken), chunk_size
        assert scored["deal_id"].is_unique


def test_the_scores_and_rejects_do_not_depend_on_the_chunk_size(runs: dict) -> None:
    (first_scored, first_rejects), *others = runs.values()
    for scored, rejects in others:
        pd.testing.assert_frame_equal(scored, first_scored)
        pd.testing.assert_frame_equal(rejects, first_rejects)
