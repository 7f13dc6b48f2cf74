"""Hostile pipeline files and outputs for ``walkaway score``: a malformed line is one reject
with its file line, non-finite amounts are rejects, outputs are refused or committed together,
and every failure is one line (issue 13, defects 1, 2, 5, 7, 8, 9 and 10)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main

AS_OF = "2025-12-31"


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def lines(synthetic_dir: Path) -> list[str]:
    """The header and the first 40 open deals of the synthetic pipeline, as text lines."""
    text = (synthetic_dir / "pipeline.csv").read_text(encoding="utf-8").splitlines()
    return text[:41]


def score(deals: Path, out: Path, models_dir: Path, *extra: str) -> int:
    return main(
        [
            "score",
            *("--deals", str(deals), "--out", str(out)),
            *("--models-dir", str(models_dir), "--as-of", AS_OF),
            *extra,
        ]
    )


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err, err
    return err


def rejects(out: Path) -> pd.DataFrame:
    return pd.read_csv(out.with_name(out.name + ".rejects.csv"))


def scored_and_rejected(out: Path) -> tuple[int, int]:
    return len(pd.read_csv(out)), len(rejects(out))


@pytest.mark.parametrize(
    ("damage", "rule"),
    [
        (lambda line: line + ",extra", "the line has 25 fields where the header has 24"),
        (lambda line: ",".join(line.split(",")[:5]), "the line has 5 fields where the header"),
        (lambda line: line.replace(",", ',"', 1), "quote"),
        (lambda line: line.replace("ACC", "ACC\x00", 1), "NUL byte"),
        (lambda line: line.replace(",", ',"a"b', 1), "quote in the middle"),
    ],
    ids=["extra_field", "too_few_fields", "unbalanced_quote", "nul_byte", "stray_quote"],
)
def test_a_malformed_line_is_one_reject_with_its_file_line(
    lines: list[str],
    champion_models_dir: Path,
    tmp_path: Path,
    damage,
    rule: str,
) -> None:
    assert len(lines[0].split(",")) == 24
    broken = [*lines[:31], damage(lines[31]), *lines[32:]]  # file line 32
    deals = write(tmp_path / "pipeline.csv", broken)
    out = tmp_path / "scored.csv"
    assert score(deals, out, champion_models_dir) == 0
    found = rejects(out)
    line = found[found["row"] == 32]
    assert len(line) == 1 and rule in line["reason"].iloc[0], found.to_string()
    assert sum(scored_and_rejected(out)) == 40  # read = scored + rejected: the rest scored
    assert "\x00" not in out.read_text(encoding="utf-8")


def test_quoted_line_breaks_keep_the_numbers_of_the_lines_after_them(
    lines: list[str], champion_models_dir: Path, tmp_path: Path
) -> None:
    fields = lines[5].split(",")
    fields[7] = f'"{fields[7]}\nsecond line of the owner"'  # a record over two file lines
    broken = [*lines[:5], ",".join(fields), *lines[6:20], lines[20] + ",extra", *lines[21:]]
    deals = write(tmp_path / "pipeline.csv", broken)
    out = tmp_path / "scored.csv"
    assert score(deals, out, champion_models_dir) == 0
    assert rejects(out)["row"].tolist() == [22]  # file line 22: the line after the break
    assert scored_and_rejected(out) == (39, 1)


def test_a_malformed_last_line_after_a_full_chunk_is_still_rejected(
    lines: list[str], champion_models_dir: Path, tmp_path: Path
) -> None:
    deals = write(tmp_path / "pipeline.csv", [*lines[:21], "only,three,fields"])
    out = tmp_path / "scored.csv"
    assert score(deals, out, champion_models_dir, "--chunk-size", "10") == 0
    assert scored_and_rejected(out) == (20, 1)
    assert rejects(out)["row"].tolist() == [22]


@pytest.mark.parametrize("amount", ["inf", "1e400", "-inf", "NaN", "Infinity"])
def test_non_finite_amounts_are_rejected(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, amount: str
) -> None:
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("Amount")] = amount
    deals = write(tmp_path / "pipeline.csv", [lines[0], ",".join(fields), *lines[2:]])
    out = tmp_path / "scored.csv"
    report = tmp_path / "report.html"
    assert score(deals, out, champion_models_dir, "--report", str(report)) == 0
    found = rejects(out)
    assert found["row"].tolist() == [2] and "Amount" in found["reason"].iloc[0]
    assert report.is_file()


def test_a_header_without_rows_is_a_day_without_open_deals(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deals = write(tmp_path / "pipeline.csv", lines[:1])
    out = tmp_path / "scored.csv"
    assert score(deals, out, champion_models_dir, "--report", str(tmp_path / "r.html")) == 0
    assert "no open deals" in capsys.readouterr().out
    assert scored_and_rejected(out) == (0, 0)
    assert (tmp_path / "r.html").is_file()


@pytest.mark.parametrize(
    ("out_name", "message"),
    [("scored.txt", "unknown extension '.txt'"), ("folder.csv", "is a folder")],
)
def test_outputs_that_cannot_be_meant_are_refused_before_anything_is_written(
    lines: list[str],
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    out_name: str,
    message: str,
) -> None:
    deals = write(tmp_path / "pipeline.csv", lines)
    (tmp_path / "folder.csv").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert score(deals, tmp_path / out_name, champion_models_dir) == 1
    assert message in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no rejects beside it


def test_the_input_is_never_the_output(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deals = write(tmp_path / "pipeline.csv", lines)
    assert score(deals, deals, champion_models_dir) == 1
    assert "is the input file" in one_line_error(capsys)
    assert deals.read_text(encoding="utf-8").splitlines() == lines


def test_a_second_run_on_the_same_output_is_refused(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deals = write(tmp_path / "pipeline.csv", lines)
    out = tmp_path / "scored.csv"
    handle = os.open(tmp_path / ".scored.csv.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a run in progress holds it
        assert score(deals, out, champion_models_dir) == 1
        assert "another walkaway run is writing" in one_line_error(capsys)
        assert not out.exists()
    finally:
        os.close(handle)
    assert score(deals, out, champion_models_dir) == 0  # released: the next run goes ahead


def test_a_report_that_cannot_be_written_leaves_every_previous_output(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deals = write(tmp_path / "pipeline.csv", lines)
    out = tmp_path / "scored.csv"
    out.write_text("previous\n", encoding="utf-8")
    out.with_name("scored.csv.rejects.csv").write_text("previous rejects\n", encoding="utf-8")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report's folder should be", encoding="utf-8")
    assert score(deals, out, champion_models_dir, "--report", str(blocker / "r.html")) == 1
    assert "cannot write" in one_line_error(capsys)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert out.with_name("scored.csv.rejects.csv").read_text() == "previous rejects\n"
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_duplicated_header_columns_are_refused(
    lines: list[str], champion_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    header = lines[0].replace("Sales Region", "Amount")
    deals = write(tmp_path / "pipeline.csv", [header, *lines[1:]])
    assert score(deals, tmp_path / "scored.csv", champion_models_dir) == 1
    assert "names column 'Amount' twice" in one_line_error(capsys)


def test_a_windows_1252_byte_after_the_first_mebibyte_is_read_like_one_before_it(
    lines: list[str], champion_models_dir: Path, tmp_path: Path
) -> None:
    body = lines[1:] * 700  # past 1 MiB; repeated deal ids are rejects, read all the same
    owner = lines[0].split(",").index("Opportunity Owner")
    fields = body[-1].split(",")
    fields[owner] = "Jos\xe9 Mu\xf1oz"
    text = "\n".join([lines[0], *body[:-1], ",".join(fields)]) + "\n"
    deals = tmp_path / "pipeline.csv"
    deals.write_bytes(text.encode("cp1252"))
    assert deals.stat().st_size > 1 << 20
    out = tmp_path / "scored.csv"
    assert score(deals, out, champion_models_dir) == 0
    assert sum(scored_and_rejected(out)) == len(body)
