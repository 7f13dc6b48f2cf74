"""Faults of the file system under ``walkaway score --out`` (issue 13, defects 2 and 5): a
read-only folder and a full disk give one line, exit 1, and leave every previous output.

Both are real: a tmpfs mounted read-only, or too small for the scores (mounting needs root,
as in CI; elsewhere a read-only folder is made with chmod, and a full disk cannot be)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from walkaway.cli import main

PREVIOUS = {"scored.csv": "previous output\n", "scored.csv.rejects.csv": "previous rejects\n"}


def _mount(folder: Path, options: str) -> bool:
    folder.mkdir(exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    return os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB file system holding the previous outputs: too small for a new scored file."""
    folder = tmp_path / "small"
    if not _mount(folder, "size=16k"):
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    try:
        for name, text in PREVIOUS.items():
            (folder / name).write_text(text, encoding="utf-8")
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only folder holding the previous outputs."""
    folder = tmp_path / "read-only"
    mounted = _mount(folder, "size=1m")
    for name, text in PREVIOUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@pytest.mark.parametrize("place", ["small_disk", "read_only"])
def test_an_output_that_cannot_be_written_is_one_line_and_keeps_the_previous_ones(
    synthetic_dir: Path,
    champion_models_dir: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    place: str,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder: Path = request.getfixturevalue(place)
    code = main(
        [
            "score",
            *("--deals", str(synthetic_dir / "pipeline.csv"), "--out", str(folder / "scored.csv")),
            *("--models-dir", str(champion_models_dir), "--as-of", "2025-12-31"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "Traceback" not in err, err
    expected = "the disk is full" if place == "small_disk" else "cannot write"
    assert expected in err and "the previous outputs are unchanged" in err
    assert {p.name: p.read_text() for p in folder.iterdir() if not p.name.startswith(".")} == (
        PREVIOUS
    )
    assert not [p for p in folder.iterdir() if ".partial-" in p.name]
