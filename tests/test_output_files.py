"""Outputs are written through a partial file renamed into place: a reader sees the old file
or the new one, and a failed write leaves the old one and no partial file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from walkaway.output_files import OutputError, partial_path, remove_stale_partials, write_text


def test_write_text_replaces_the_file_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "review.html"
    write_text(target, "<p>first</p>")
    write_text(target, "<p>second</p>")
    assert target.read_text(encoding="utf-8") == "<p>second</p>"
    assert [p.name for p in target.parent.iterdir()] == ["review.html"]


def test_a_failed_write_keeps_the_old_file_and_says_why(tmp_path: Path) -> None:
    target = tmp_path / "mapping.yaml"
    target.write_text("old\n", encoding="utf-8")
    in_the_way = partial_path(target)
    in_the_way.mkdir()  # the partial name is taken by a folder: writing it fails
    (in_the_way / "x").touch()
    with pytest.raises(OutputError, match=r"cannot write .*mapping\.yaml: .*previous outputs"):
        write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"


def test_partial_files_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    live = partial_path(target)  # this process: alive
    dead = target.with_name(f".{target.name}.partial-{2**22 + 12345}")  # no such process
    for path in (live, dead):
        path.write_text("half", encoding="utf-8")
    remove_stale_partials(target)
    assert live.exists() and not dead.exists()
    assert os.getpid() == int(live.name.rsplit("-", 1)[-1])
