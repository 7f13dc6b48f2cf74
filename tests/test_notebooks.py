"""The notebooks are committed clean and in step with their reviewable .py pairs. (They are
executed with a real kernel by nbmake as part of the suite: see pyproject.toml.)"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_three_numbered_notebooks() -> None:
    assert [p.stem[:3] for p in NOTEBOOKS] == ["01-", "02-", "03-"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(notebook: Path) -> None:
    cells = nbformat.read(notebook, as_version=4).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    assert code, "a notebook with no code"
    for cell in code:
        assert cell.outputs == [], f"{notebook.name} has outputs: clear them before committing"
        assert cell.execution_count is None


def cells_of(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_match_their_py_pairs(notebook: Path) -> None:
    paired = notebook.with_suffix(".py")
    assert paired.is_file(), f"{notebook.name} has no jupytext pair {paired.name}"
    assert cells_of(jupytext.read(notebook)) == cells_of(jupytext.read(paired)), (
        f"{notebook.name} and {paired.name} differ: run `jupytext --sync {paired}`"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_code_cell_is_the_only_input_cell(notebook: Path) -> None:
    code = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert "EXPORT" in code[0].source and "Path(" in code[0].source
    for cell in code[1:]:
        assert "EXPORT =" not in cell.source, "inputs are set in the first code cell only"
