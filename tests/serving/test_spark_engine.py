"""The batch job on Spark: the same rules and the same outputs as the local job, row for row
(apart from when each ran), on a pipeline with every kind of bad row; a failed job keeps the
previous outputs; LightGBM runs on the task's threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks.hostile_reading import broken_pipeline
from walkaway.model.heads import PREDICTION_THREADS
from walkaway.serving import chunk_scoring, registry
from walkaway.serving.batch import BatchResult, score_file
from walkaway.serving.batch_outputs import drift_path, rejects_path
from walkaway.serving.spark_engine import SparkEngine, SparkJobFailed

AS_OF = pd.Timestamp("2025-12-31")
CHUNK = 250


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def champion(champion_models_dir: Path) -> registry.LoadedModel:
    return registry.load_model("models:/walkaway@champion", models_dir=champion_models_dir)


def hostile_pipeline(synthetic_dir: Path, out: Path) -> tuple[Path, dict[int, str]]:
    """1,200 open deals with every 7th line broken (tests/hostile's kinds), then rows each rule
    rejects: ids repeated (first in another chunk, and of a rejected row), a closed deal, a
    day that does not exist, a negative amount, and a blank line."""
    damaged = broken_pipeline(synthetic_dir / "pipeline.csv", 1_200, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    good = lines[10].split(",")  # line 11: a clean line in the first chunk
    extra = [
        ",".join(good),  # repeats line 11 (chunk 1) from the last chunk
        ",".join(good),  # and again
        ",".join([f"X{good[0]}", *good[1:]]),  # new id: scored
        ",".join([lines[69].split(",")[0], *good[1:]]),  # the id of broken line 70: scored
        ",".join(["CLOSED-1", good[1], good[2], "01/12/2025", "Closed Won", *good[5:]]),
        ",".join(["BADDAY-1", good[1], "31/02/2025", *good[3:]]),
        "",
        ",".join(["NEG-1", *good[1:5], "-500", *good[6:]]),
    ]
    out.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return out, damaged


def score(
    deals: Path, out: Path, champion: registry.LoadedModel, spark: Any = None, **options: Any
) -> BatchResult:
    """The batch job with the champion as of AS_OF: on Spark when a session is given."""
    return score_file(
        deals,
        out,
        champion.model,
        model_name=champion.name,
        model_version=champion.version,
        remembered_mapping=champion.mapping,
        as_of=AS_OF,
        chunk_size=CHUNK,
        engine=SparkEngine(session=spark) if spark is not None else None,
        **options,
    )


def read_scores(path: Path) -> pd.DataFrame:
    """A scored file, or a folder of part files, as text."""
    if path.suffix == ".parquet":  # pandas reads a folder of parts in name order
        return pd.read_parquet(path).astype(str).reset_index(drop=True)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_spark_scores_and_rejects_every_row_as_the_local_job_does(
    synthetic_dir: Path, champion: registry.LoadedModel, spark: Any, tmp_path: Path
) -> None:
    deals, damaged = hostile_pipeline(synthetic_dir, tmp_path / "pipeline.csv")
    local_out, spark_out = tmp_path / "local.csv", tmp_path / "spark.csv"
    local = score(deals, local_out, champion)
    remote = score(deals, spark_out, champion, spark)

    assert remote.read == local.read == 1_208  # 1,200 lines and 8 more, a blank one among them
    assert remote.accounted_for and local.accounted_for
    assert (remote.scored, remote.rejected) == (local.scored, local.rejected)
    scored, expected = read_scores(spark_out), read_scores(local_out)
    assert len(scored) == local.scored
    pd.testing.assert_frame_equal(
        scored.drop(columns="scored_at"), expected.drop(columns="scored_at")
    )
    assert rejects_path(spark_out).read_bytes() == rejects_path(local_out).read_bytes()
    assert drift_path(spark_out).read_bytes() == drift_path(local_out).read_bytes()

    rows = pd.read_csv(rejects_path(spark_out), dtype=str)
    assert set(damaged) <= set(rows["row"].astype(int))  # every broken line is a reject
    rejects = rows.set_index("deal_id")["reason"]
    first = rejects.index[rejects.str.contains("duplicate deal_id")]
    assert (
        len(first) == 2
        and rejects.str.contains("duplicate deal_id \\(first at row 11\\)").sum() == 2
    )
    assert rejects.loc["CLOSED-1"].startswith("column 'Stage': already closed")
    assert "unparseable date" in rejects.loc["BADDAY-1"] and ">= 0" in rejects.loc["NEG-1"]

    # the report's figures: the digest, the reasons, the notes
    pd.testing.assert_frame_equal(
        remote.digest.by_recommendation(), local.digest.by_recommendation()
    )
    pd.testing.assert_frame_equal(remote.digest.top_to_pursue(), local.digest.top_to_pursue())
    pd.testing.assert_frame_equal(
        remote.digest.top_deals("walk_away"), local.digest.top_deals("walk_away")
    )
    assert remote.reasons == local.reasons and remote.notes == local.notes


def test_a_folder_of_parquet_parts_written_by_spark_scores_as_its_one_file(
    synthetic_dir: Path, champion: registry.LoadedModel, spark: Any, tmp_path: Path
) -> None:
    """Parquet in and out, as Spark reads and writes tables: the pipeline as a folder of part
    files scored on Spark into a folder of part files, against the same rows in one Parquet
    file scored by the local job into one file."""
    frame = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str).head(400)
    frame.to_parquet(tmp_path / "pipeline.parquet")
    parts = tmp_path / "pipeline-parts"
    plain = frame.astype(object).where(frame.notna(), None)
    schema = ", ".join(f"`{c}` string" for c in frame.columns)
    spark.createDataFrame(plain, schema=schema).repartition(1).write.parquet(str(parts))
    local = score(tmp_path / "pipeline.parquet", tmp_path / "local.parquet", champion)
    remote = score(parts, tmp_path / "spark.parquet", champion, spark, out_parts=True)
    assert remote.scored == local.scored == len(frame)
    written = sorted(p.name for p in (tmp_path / "spark.parquet").iterdir())
    assert written == [f"part-{n:05d}.parquet" for n in range(len(written))] and len(written) > 1
    pd.testing.assert_frame_equal(
        read_scores(tmp_path / "spark.parquet").drop(columns="scored_at"),
        read_scores(tmp_path / "local.parquet").drop(columns="scored_at"),
    )


def test_a_failed_spark_job_keeps_the_previous_outputs_and_says_why_in_one_line(
    synthetic_dir: Path, champion: registry.LoadedModel, spark: Any, tmp_path: Path
) -> None:
    """A whole-file problem found in a later chunk (US dates under the mapping's day-first
    format: day and month would be swapped) fails a task: the job stops, nothing is replaced."""
    lines = (synthetic_dir / "pipeline.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1 : 1 + 2 * CHUNK]
    created = header.split(",").index("Created Date")

    def american(line: str) -> str:
        fields = line.split(",")
        fields[created] = "12/25/2025"
        return ",".join(fields)

    deals = tmp_path / "pipeline.csv"
    deals.write_text(
        "\n".join([header, *body[:CHUNK], *map(american, body[CHUNK:])]) + "\n", encoding="utf-8"
    )
    out = tmp_path / "scored.csv"
    out.write_text("previous scores\n", encoding="utf-8")
    rejects_path(out).write_text("previous rejects\n", encoding="utf-8")
    with pytest.raises(SparkJobFailed) as failed:
        score(deals, out, champion, spark)
    message = str(failed.value)
    assert "\n" not in message and "previous outputs are kept" in message
    assert "Created Date" in message and "%m/%d/%Y" in message
    assert out.read_text(encoding="utf-8") == "previous scores\n"
    assert rejects_path(out).read_text(encoding="utf-8") == "previous rejects\n"
    assert not list(tmp_path.glob(".scored.csv.spark-*"))  # the work folder is gone


def test_a_chunk_is_explained_on_the_threads_its_run_sets(
    synthetic_dir: Path, champion: registry.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Spark task sets its task's CPUs, so that tasks side by side do not each take every
    core (LightGBM's 0 = every core is the local job's)."""
    from dataclasses import replace

    from walkaway.data.raw_files import iter_table
    from walkaway.serving.batch import decide_on_first_chunk, start_run
    from walkaway.serving.duplicate_ids import SeenIds

    seen: list[int] = []
    scored = chunk_scoring.score_deals

    def spy(*args: object, **kwargs: object) -> pd.DataFrame:
        seen.append(PREDICTION_THREADS.get())
        return scored(*args, **kwargs)

    monkeypatch.setattr(chunk_scoring, "score_deals", spy)
    run = start_run(
        synthetic_dir / "pipeline.csv",
        model_name=None,
        model_version=None,
        accounts=None,
        mapping=None,
        remembered_mapping=champion.mapping,
        as_of=AS_OF,
    )
    raw = next(iter_table(run.deals, 50, run.dialect, []))
    decide_on_first_chunk(run, raw)
    for threads in (0, 1, 3):
        chunk_scoring.score_chunk(
            raw,
            champion.model,
            run.mapping,
            AS_OF,
            run=replace(run.setting, threads=threads),
            repeats=SeenIds().repeats,
        )
    assert seen == [0, 1, 3] and PREDICTION_THREADS.get() == 0
