"""``walkaway monitor`` through the CLI: past scores of the session's world against its
continuation six months on, the page it writes, and a file that is not a scored file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from walkaway.cli import main


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def months(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Path], Path]:
    """The pipeline scored as of the export and three months on, and the export six months on."""
    folder = tmp_path_factory.mktemp("monitor")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        scored = []
        for months_on, world in ((0, synthetic_dir), (3, folder / "month-3")):
            if months_on:
                args = ["synth", "--continue-from", str(synthetic_dir), "--months", "3"]
                assert main([*args, "--out", str(world)]) == 0
            as_of = json.loads((world / "synth.json").read_text())["export_date"]
            out = folder / f"scores-month-{months_on}.csv"
            args = ["score", "--deals", str(world / "pipeline.csv"), "--out", str(out)]
            args += ["--models-dir", str(champion_models_dir), "--as-of", as_of]
            assert main(args) == 0
            scored.append(out)
        later = folder / "month-6"
        args = ["synth", "--continue-from", str(folder / "month-3"), "--months", "3"]
        assert main([*args, "--out", str(later)]) == 0
    return scored, later


def test_monitor_reads_every_scored_file_and_judges_the_live_model(
    months: tuple[list[Path], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scored, later = months
    capsys.readouterr()
    page = tmp_path / "monitor.html"
    args = ["monitor", "--scored", *map(str, scored), "--history", str(later)]
    assert main([*args, "--report", str(page)]) == 0
    printed = capsys.readouterr().out
    assert f"from {len(scored)} file(s)" in printed
    for title in ("By model version", "By month of scoring", "By recommendation"):
        assert title in printed
    assert "2025-12" in printed and "2026-03" in printed  # months scored as of
    assert "No drift: version 1 won" in printed  # the world did not change
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Were the scores right?" in html
    assert "No drift: version 1 won" in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")


def test_a_file_that_is_not_a_scored_file_is_one_line(
    months: tuple[list[Path], Path], synthetic_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, later = months
    args = ["monitor", "--scored", str(synthetic_dir / "deals.csv"), "--history", str(later)]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "deals.csv: missing column" in error and "not a file written by walkaway score" in error
    assert "Traceback" not in error and error.count("\n") == 1


@pytest.mark.parametrize("shift", ["rival:EMEA", None])
def test_six_months_on_the_batch_jobs_drift_flags_the_shifted_sign_and_only_with_a_shift(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shift: str | None,
) -> None:
    later = tmp_path / "month-6"
    args = ["synth", "--continue-from", str(synthetic_dir), "--months", "6", "--out", str(later)]
    assert main(args + (["--shift", shift] if shift else [])) == 0
    as_of = json.loads((later / "synth.json").read_text())["export_date"]
    args = ["score", "--deals", str(later / "pipeline.csv"), "--out", str(tmp_path / "s.csv")]
    assert main([*args, "--models-dir", str(champion_models_dir), "--as-of", as_of]) == 0
    printed = capsys.readouterr().out
    warnings = [line for line in printed.splitlines() if line.startswith("Drift:")]
    if shift:
        assert len(warnings) == 1 and "on glass_walls" in warnings[0], printed
    else:
        assert warnings == [], printed
