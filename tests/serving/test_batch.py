"""The batch job: every row scored or rejected with its reason, atomic output, idempotent runs,
CSV and Parquet, unseen values and missing accounts scored. Formula payloads and killed jobs
are in ``tests/hostile/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.serving.scoring import SCORE_COLUMNS
from walkaway.signs import GROUPS

AS_OF = "2025-12-31"


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def pipeline(synthetic_dir: Path) -> pd.DataFrame:
    return pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)


def score(deals: Path, out: Path, models_dir: Path, *extra: str) -> int:
    return main(
        [
            "score",
            "--deals",
            str(deals),
            "--out",
            str(out),
            "--models-dir",
            str(models_dir),
            "--as-of",
            AS_OF,
            *extra,
        ]
    )


def write_csv(frame: pd.DataFrame, path: Path, blank_line_after: int | None = None) -> Path:
    text = frame.to_csv(index=False, lineterminator="\n")
    if blank_line_after is not None:
        lines = text.split("\n")
        lines.insert(blank_line_after + 1, "")
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_row_is_scored_or_rejected_with_its_reason(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = pipeline(synthetic_dir)
    bad = good.head(7).copy()
    bad.loc[bad.index[0], "Opportunity ID"] = ""  # missing id
    bad.loc[bad.index[1], "Amount"] = "-500"  # negative amount
    bad.loc[bad.index[2], "Created Date"] = "31/02/2025"  # no such day
    bad.loc[bad.index[3], "Stage"] = "Maybe Later"  # unknown outcome
    bad.loc[bad.index[4], "Opportunity ID"] = good.loc[
        good.index[10], "Opportunity ID"
    ]  # duplicate
    bad.loc[bad.index[5], "Required Capabilities"] = "x" * 100_000  # a 100 KB string
    bad.loc[bad.index[6], "Stage"] = "Closed Won"  # not open
    bad.loc[bad.index[6], "Close Date"] = "01/12/2025"
    bad["Opportunity ID"] = bad["Opportunity ID"].where(
        bad.index == bad.index[4], bad["Opportunity ID"] + "-bad"
    )
    bad.loc[bad.index[0], "Opportunity ID"] = ""
    mixed = pd.concat([good, bad], ignore_index=True)
    deals = write_csv(mixed, tmp_path / "pipeline.csv", blank_line_after=3)  # and an empty line
    out = tmp_path / "scored.csv"

    assert (
        score(
            deals,
            out,
            champion_models_dir,
            "--accounts",
            str(synthetic_dir / "accounts.csv"),
            "--chunk-size",
            "97",
        )
        == 0
    )
    printed = capsys.readouterr().out
    scored = pd.read_csv(out, dtype={"deal_id": str})
    rejects = pd.read_csv(tmp_path / "scored.csv.rejects.csv", dtype=str)
    read = len(mixed) + 1  # the blank line is a row of the file too
    assert len(scored) + len(rejects) == read
    assert f"Read {read:,} rows" in printed and f"rejected {len(rejects):,}" in printed

    reasons = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    first_bad = len(good) + 2 + 1  # header row 1, blank line inside the good rows
    expected = {
        5: "empty row",
        first_bad: "column 'Opportunity ID': is empty but required",
        first_bad + 1: "column 'Amount': must be >= 0",
        first_bad + 2: "column 'Created Date': unparseable date (expected %d/%m/%Y)",
        first_bad + 3: "column 'Stage': must be one of won, lost, open",
        first_bad + 4: "column 'Opportunity ID': duplicate deal_id (first at row 13)",
        first_bad + 5: "column 'Required Capabilities': value too long (100,000 characters",
        first_bad + 6: "column 'Stage': already closed (won): only open deals are scored",
    }
    for row, reason in expected.items():
        assert reason in reasons[row], (row, reasons.get(row))
    assert len(rejects) == len(expected)
    assert scored["deal_id"].is_unique
    assert scored[["p_win", "p_regret", "p_good"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (scored["model_name"] == "walkaway").all() and (scored["model_version"] == 1).all()
    assert list(scored.columns) == [
        *SCORE_COLUMNS,
        "model_name",
        "model_version",
        "scored_at",
        "as_of",
        "priority",  # the worklist's, added once every chunk is scored (no --capacity: no work)
    ]
    # p_good = p_good_base + the four effects (points), as written to the file
    effects = scored[[f"effect_{g}" for g in GROUPS]].sum(axis=1)
    np.testing.assert_allclose(100 * (scored["p_good"] - scored["p_good_base"]), effects, atol=0.05)


def test_two_runs_give_identical_scores(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path
) -> None:
    deals = synthetic_dir / "pipeline.csv"
    assert score(deals, tmp_path / "a.csv", champion_models_dir, "--chunk-size", "50") == 0
    assert score(deals, tmp_path / "b.csv", champion_models_dir, "--chunk-size", "1000") == 0
    first = pd.read_csv(tmp_path / "a.csv").drop(columns="scored_at")
    second = pd.read_csv(tmp_path / "b.csv").drop(columns="scored_at")
    pd.testing.assert_frame_equal(first, second)


def test_parquet_in_and_out(synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path) -> None:
    frame = pipeline(synthetic_dir)
    deals = tmp_path / "pipeline.parquet"
    frame.to_parquet(deals, index=False)
    assert (
        score(
            deals,
            tmp_path / "scored.parquet",
            champion_models_dir,
            "--accounts",
            str(synthetic_dir / "accounts.csv"),
        )
        == 0
    )
    from_parquet = pd.read_parquet(tmp_path / "scored.parquet")
    assert score(synthetic_dir / "pipeline.csv", tmp_path / "scored.csv", champion_models_dir) == 0
    from_csv = pd.read_csv(tmp_path / "scored.csv")
    assert len(from_parquet) == len(frame)
    pd.testing.assert_series_equal(from_parquet["p_good"], from_csv["p_good"])


def test_a_folder_of_part_files_out(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path
) -> None:
    """--out-parts writes a folder of CSV part files (one per chunk, with the worklist's
    columns), which reads back as the one file would; a second run replaces the folder; a file
    is not replaced by a folder."""
    one_file, parts = tmp_path / "scored.csv", tmp_path / "scored-parts.csv"
    deals = synthetic_dir / "pipeline.csv"
    assert score(deals, one_file, champion_models_dir, "--chunk-size", "150") == 0
    for _ in range(2):
        assert score(deals, parts, champion_models_dir, "--chunk-size", "150", "--out-parts") == 0
    names = sorted(p.name for p in parts.iterdir())
    assert names == [f"part-{n:05d}.csv" for n in range(len(names))] and len(names) > 1
    expected = pd.read_csv(one_file, dtype=str).drop(columns="scored_at")
    read_back = pd.concat(pd.read_csv(parts / name, dtype=str) for name in names)
    pd.testing.assert_frame_equal(
        read_back.drop(columns="scored_at").reset_index(drop=True), expected
    )
    assert "priority" in read_back
    # a file is not replaced by a folder
    assert score(deals, one_file, champion_models_dir, "--out-parts") == 1
    assert one_file.is_file()


def test_unseen_values_and_missing_accounts_are_scored_with_the_gap_stated(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path
) -> None:
    frame = pipeline(synthetic_dir).head(20).copy()
    frame.loc[frame.index[0], "Product"] = "Quantum Suite"
    frame.loc[frame.index[1], "Lead Source"] = "Carrier Pigeon"
    frame.loc[frame.index[2], "Account ID"] = "ACC-NOT-THERE"
    deals = write_csv(frame, tmp_path / "pipeline.csv")
    out = tmp_path / "scored.csv"
    assert (
        score(deals, out, champion_models_dir, "--accounts", str(synthetic_dir / "accounts.csv"))
        == 0
    )
    scored = pd.read_csv(out).set_index("deal_id")
    ids = frame["Opportunity ID"].tolist()
    assert len(scored) == 20
    assert "'quantum suite' is not in the catalogue" in scored.loc[ids[0], "reasons_need_fit"]
    assert "new lead source 'carrier pigeon'" in scored.loc[ids[1], "reasons_deal_context"]
    assert (
        "account 'ACC-NOT-THERE' is not in the accounts file"
        in scored.loc[ids[2], "reasons_icp_fit"]
    )
    # a note is said after the reasons with points, and has none of its own
    notes = {
        "need_fit": "product 'quantum suite' is not in the catalogue",
        "deal_context": "new lead source 'carrier pigeon'",
        "icp_fit": "account 'ACC-NOT-THERE' is not in the accounts file",
    }
    for deal, (column, note) in zip(ids, notes.items(), strict=False):
        said = scored.loc[deal, f"reasons_{column}"].split("; ")
        first = next(i for i, part in enumerate(said) if part.startswith(note))
        assert not any(part.endswith("pts)") for part in said[first:]), said


def test_all_rows_rejected_exits_non_zero_and_keeps_the_previous_output(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "scored.csv"
    out.write_text("previous output\n", encoding="utf-8")
    (tmp_path / "scored.csv.rejects.csv").write_text("previous rejects\n", encoding="utf-8")
    frame = pipeline(synthetic_dir).head(3).assign(Amount="-1")
    deals = write_csv(frame, tmp_path / "pipeline.csv")
    assert score(deals, out, champion_models_dir) == 1
    err = capsys.readouterr().err.strip()
    assert "every one of the 3 rows of pipeline.csv was rejected" in err and "\n" not in err
    assert "scored.csv.failed-rejects.csv" in err
    # The previous output and its rejects stay together; this run's rejects are beside them.
    assert out.read_text(encoding="utf-8") == "previous output\n"
    assert (tmp_path / "scored.csv.rejects.csv").read_text() == "previous rejects\n"
    assert len(pd.read_csv(tmp_path / "scored.csv.failed-rejects.csv")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "models:/walkaway@nobody"], "model not found: models:/walkaway@nobody"),
        (["--deals-override", "missing.csv"], "file not found"),
        (["--deals-override", "binary.csv"], "not a CSV text file"),
    ],
)
def test_configuration_errors_exit_non_zero_in_one_line(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    args: list[str],
    message: str,
) -> None:
    (tmp_path / "binary.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    deals = synthetic_dir / "pipeline.csv"
    if args[0] == "--deals-override":
        deals, args = tmp_path / args[1], []
    assert score(deals, tmp_path / "scored.csv", champion_models_dir, *args) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "scored.csv").exists()


def test_a_mappings_extra_columns_are_features_of_their_sign(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """An export column the canonical contract does not know, declared in the mapping with a
    sign, is learned from, explained in that sign, and scored by the registered pyfunc."""
    import yaml

    from walkaway.data.mapping_files import shipped_mappings
    from walkaway.jobs import train_job

    export = tmp_path / "export"
    export.mkdir()
    for name in ("accounts.csv", "products.csv"):
        (export / name).write_bytes((synthetic_dir / name).read_bytes())
    for name in ("deals.csv", "pipeline.csv"):
        frame = pd.read_csv(synthetic_dir / name, dtype=str, keep_default_na=False)
        # a rival's price position: "undercut" when the incumbent has been there long
        tenure = pd.to_numeric(frame["Incumbent Tenure (years)"], errors="coerce").fillna(0)
        frame["Rival Pricing"] = (tenure >= 6).map({True: "Undercut", False: "Par"})
        frame.to_csv(export / name, index=False)
    document = yaml.safe_load(shipped_mappings()["synthetic-crm"].read_text(encoding="utf-8"))
    document["tables"]["deals"]["features"] = {"Rival Pricing": "glass_walls"}
    (export / "mapping.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")

    run = train_job(export, models_dir=tmp_path / "models")
    model = run.result.model
    assert "x_rival_pricing" in model.feature_names_
    assert model.feature_catalogue["x_rival_pricing"].sign == "glass_walls"
    out = tmp_path / "scored.csv"
    assert score(export / "pipeline.csv", out, tmp_path / "models") == 0
    scored = pd.read_csv(out)
    assert scored["reasons_glass_walls"].str.contains("Rival Pricing: Undercut").any()


def test_the_deal_history_beside_the_pipeline_travels_with_each_deal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline whose mapping has a deal-history table is scored with each deal's stage
    history, read from the file beside it."""
    import shutil

    from walkaway.data.exports import load_history
    from walkaway.model.training import train_and_evaluate
    from walkaway.serving import batch, chunk_scoring

    folder = tmp_path / "salesforce"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "salesforce", folder)
    model = train_and_evaluate(load_history(folder)).model
    seen: list[pd.DataFrame] = []
    scored = chunk_scoring.score_deals

    def keep(model, frame, as_of, timings=None, on_features=None):
        seen.append(frame)
        return scored(model, frame, as_of, timings=timings, on_features=on_features)

    monkeypatch.setattr(chunk_scoring, "score_deals", keep)
    result = batch.score_file(
        folder / "Opportunity.csv", tmp_path / "out.csv", model, model_name=None, model_version=None
    )
    assert result.scored == 16 and result.rejected == 124  # a pipeline holds open deals only
    frame = pd.concat(seen)
    assert frame["stage_history"].notna().all()
    assert model.featurise(frame, pd.Timestamp("2025-03-04"))["stage_now"].notna().all()


def test_a_semicolon_decimal_comma_pipeline_scores_as_the_original(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path
) -> None:
    frame = pipeline(synthetic_dir)
    original = score(
        write_csv(frame, tmp_path / "a.csv"),
        tmp_path / "a-out.csv",
        champion_models_dir,
        "--mapping",
        "synthetic-crm",
    )
    european = frame.copy()
    amounts = pd.to_numeric(european["Amount"]) + 0.25  # cents show the decimal mark
    european["Amount"] = [
        f"{a:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") for a in amounts
    ]
    frame["Amount"] = amounts.map(lambda a: f"{a:.2f}")
    write_csv(frame, tmp_path / "a.csv")
    assert (
        score(
            tmp_path / "a.csv",
            tmp_path / "a-out.csv",
            champion_models_dir,
            "--mapping",
            "synthetic-crm",
        )
        == original
        == 0
    )
    (tmp_path / "b.csv").write_text(european.to_csv(index=False, sep=";"), encoding="utf-8")
    assert (
        score(
            tmp_path / "b.csv",
            tmp_path / "b-out.csv",
            champion_models_dir,
            "--mapping",
            "synthetic-crm",
        )
        == 0
    )
    a = pd.read_csv(tmp_path / "a-out.csv").drop(columns="scored_at")
    b = pd.read_csv(tmp_path / "b-out.csv").drop(columns="scored_at")
    pd.testing.assert_frame_equal(a, b)
    rejected_a = pd.read_csv(tmp_path / "a-out.csv.rejects.csv")
    rejected_b = pd.read_csv(tmp_path / "b-out.csv.rejects.csv")
    assert rejected_a["row"].tolist() == rejected_b["row"].tolist()
    assert len(a) + len(rejected_a) == len(frame)


def test_us_dates_under_the_day_first_mapping_stop_the_run_in_one_line(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    frame = pipeline(synthetic_dir)
    day = pd.to_datetime(frame["Created Date"], format="%d/%m/%Y")
    frame["Created Date"] = day.dt.strftime("%m/%d/%Y")
    deals = write_csv(frame, tmp_path / "pipeline.csv")
    assert (
        score(deals, tmp_path / "out.csv", champion_models_dir, "--mapping", "synthetic-crm") == 1
    )
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err
    assert "'Created Date'" in err and "set date_format: '%m/%d/%Y'" in err
    assert not (tmp_path / "out.csv").exists()


def test_the_reason_most_rejected_rows_share_comes_first_with_its_likely_cause() -> None:
    from collections import Counter

    from walkaway.data.mapping_files import load_mapping
    from walkaway.serving.batch import BatchResult

    result = BatchResult(rejected=10, mapping=load_mapping("synthetic-crm"))
    result.reasons = Counter(
        {("Close Date", "unparseable date (expected %d/%m/%Y)"): 8, ("Amount", "not a number"): 2}
    )
    reason = result.main_reject_reason()
    assert reason.startswith(
        "8 of the 10 rejected rows: column 'Close Date': unparseable date (expected %d/%m/%Y)"
    )
    assert "Likely cause: the export writes dates in another format than synthetic-crm's" in reason
    result.reasons = Counter({("A", "x"): 4, ("B", "y"): 3, ("C", "z"): 3})
    assert result.main_reject_reason() is None  # no reason is shared by half the rows


def test_a_deals_file_the_mapping_does_not_fit_is_named_before_its_accounts(
    champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "accounts.csv").write_text("Id,Sector\nA1,Retail\n", encoding="utf-8")
    deals = tmp_path / "pipeline.csv"
    deals.write_text("Ref,Opened\nD1,2025-01-01\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert score(deals, out, champion_models_dir, "--mapping", "synthetic-crm") == 1
    err = capsys.readouterr().err
    assert "pipeline.csv: missing required column 'Opportunity ID'" in err
    assert "accounts.csv" not in err
