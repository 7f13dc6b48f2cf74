"""The worklist through the batch job: a priority over the whole file at any chunk size, CSV and
Parquet, ``--capacity`` by count and by share, a bad capacity a one-line usage error, and the
report's top deals to pursue the file's first priorities."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walkaway.cli import main
from walkaway.model.training import TrainingResult
from walkaway.serving.batch import score_file
from walkaway.serving.worklist import rank, work_value

AS_OF = "2025-12-31"
DEALS = 60


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def small_pipeline(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first deals of the synthetic pipeline, with an empty line among them (a reject)."""
    frame = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    lines = frame.head(DEALS).to_csv(index=False, lineterminator="\n").split("\n")
    lines.insert(9, "")
    path = tmp_path_factory.mktemp("worklist") / "pipeline.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"deal_id": str, "account_id": str})
    return pd.read_parquet(path)


def score(deals: Path, out: Path, models_dir: Path, *extra: str) -> int:
    return main(
        ["score", "--deals", str(deals), "--out", str(out), "--models-dir", str(models_dir)]
        + ["--as-of", AS_OF, *extra]
    )


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Chunks of 5 rows or more: each chunk costs a fixed ~0.2 s of scoring, and 2 to 13 chunks
# already cross the ranking over every chunk boundary the rule could trip on.
@given(chunk_size=st.integers(5, DEALS + 10), suffix=st.sampled_from([".csv", ".parquet"]))
def test_the_priority_ranks_the_whole_file_at_any_chunk_size(
    trained: TrainingResult, small_pipeline: Path, chunk_size: int, suffix: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"scored{suffix}"
        result = score_file(
            small_pipeline,
            out,
            trained.model,
            model_name=None,
            model_version=None,
            chunk_size=chunk_size,
            as_of=pd.Timestamp(AS_OF),
        )
        scored = read(out)
        assert not [p.name for p in Path(folder).iterdir() if ".partial-" in p.name]
    assert result.scored == len(scored) == DEALS and result.rejected == 1
    assert sorted(scored["priority"].tolist()) == list(range(1, DEALS + 1))
    assert scored["priority"].tolist() == rank(work_value(scored)).tolist()  # over the whole file
    np.testing.assert_allclose(
        scored["expected_good_value"], scored["p_good"] * scored["amount"], rtol=1e-12
    )
    assert "work" not in scored  # no capacity, no mark
    if suffix == ".parquet":
        assert str(scored["priority"].dtype) == "int64"


@pytest.mark.parametrize(
    ("capacity", "suffix", "worked"),
    [("7", ".csv", 7), ("25%", ".parquet", DEALS // 4), ("1000", ".csv", DEALS), ("0%", ".csv", 0)],
)
def test_the_capacity_marks_the_first_deals_of_the_worklist(
    small_pipeline: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    capacity: str,
    suffix: str,
    worked: int,
) -> None:
    out = tmp_path / f"scored{suffix}"
    assert score(small_pipeline, out, champion_models_dir, "--capacity", capacity) == 0
    printed = capsys.readouterr().out
    scored = read(out)
    assert list(scored.columns[-2:]) == ["priority", "work"]
    assert (scored["work"] == "yes").sum() == worked
    assert set(scored.loc[scored["work"] == "yes", "priority"]) == set(range(1, worked + 1))
    assert f"Worklist: priority 1 to {DEALS}; {worked} marked to work" in printed


@pytest.mark.parametrize("capacity", ["-3", "lots", "120%", "2.5"])
def test_a_bad_capacity_is_a_one_line_usage_error(
    small_pipeline: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    capacity: str,
) -> None:
    out = tmp_path / "scored.csv"
    assert score(small_pipeline, out, champion_models_dir, "--capacity", capacity) == 2
    err = capsys.readouterr().err.strip()
    assert "--capacity" in err and "\n" not in err and "Traceback" not in err, err
    assert not out.exists()


def test_the_reports_top_deals_to_pursue_are_the_files_first_priorities(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path
) -> None:
    out, report = tmp_path / "scored.csv", tmp_path / "report.html"
    args = ["--report", str(report), "--capacity", "5", "--chunk-size", "37"]
    assert score(synthetic_dir / "pipeline.csv", out, champion_models_dir, *args) == 0
    scored = read(out).sort_values("priority")
    html = report.read_text(encoding="utf-8")
    section = html[html.index("<h2>Top deals to pursue</h2>") :]
    section = section[: section.index("<h2>", 10)]
    listed = re.findall(r'<tr><td class="num">([\d,]+)</td><td class="id">([^<]*)</td>', section)
    assert [int(p) for p, _ in listed] == list(range(1, len(listed) + 1))
    assert [deal for _, deal in listed] == scored["deal_id"].head(len(listed)).tolist()
    assert len(listed) == min(25, len(scored))  # 10 shown, the rest folded in <details>
    assert "<details" in section and "5 deals of the" in section
    assert section.count("<td>yes</td>") == 5


def test_a_day_without_open_deals_still_has_the_priority_column(
    trained: TrainingResult, small_pipeline: Path, tmp_path: Path
) -> None:
    header = small_pipeline.read_text(encoding="utf-8").split("\n")[0]
    empty = tmp_path / "empty.csv"
    empty.write_text(header + "\n", encoding="utf-8")
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"scored{suffix}"
        score_file(empty, out, trained.model, model_name=None, model_version=None)
        scored = read(out)
        assert scored.empty and scored.columns[-1] == "priority"
