"""The notebooks are committed clean and in step with their reviewable .py pairs, and each runs
to the end with a real Jupyter kernel.

They run on copies, in a temporary project tree laid out like this one (``notebooks/``,
``data/{raw,interim,processed}``, ``models/``), so that their relative paths (``../models``,
``../data/raw/synthetic-crm``) land there: notebook 02 trains and registers into the temporary
store, 03 reviews with that champion and writes its list into the temporary ``data/processed``,
04 continues the demo world month by month into the temporary ``data/interim/monitor``, scores
each month with that champion and backtests the scores. The project's own ``models/`` and ``data/`` are never touched (``tests/conftest.py`` checks it
for the whole session)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from walkaway.analysis.exploration import ensure_demo_export

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

# The demo export every notebook defaults to, relative to the notebooks' folder.
DEMO_EXPORT = Path("../data/raw/synthetic-crm")
# Seconds a single cell may run (nbmake's --nbmake-timeout used to be 300).
CELL_TIMEOUT = 300
# Variables that would point a kernel at another MLflow store than the temporary one.
STORE_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
# What a notebook must leave in the temporary project (relative to its root) once it has run.
WRITES = {
    "02-train-and-evaluate.ipynb": ["models/mlflow.db"],
    "03-review-pipeline.ipynb": ["data/processed/notebook-scored-open-deals.csv"],
    "04-monitor.ipynb": [
        "data/interim/monitor/month-6/pipeline.csv",
        "data/interim/monitor/scores/scores-2026-06.csv.drift.csv",
        "data/interim/monitor/monitor.html",
    ],
}


def test_there_are_four_numbered_notebooks() -> None:
    assert [p.stem[:3] for p in NOTEBOOKS] == ["01-", "02-", "03-", "04-"]


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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebooks_paths_stay_inside_the_project(notebook: Path, tmp_path: Path) -> None:
    """Every path a notebook's code names is relative and resolves inside the project, so that
    run from a copy of the project it reads and writes only the copy."""
    (tmp_path / "notebooks").mkdir()
    code = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    paths = re.findall(r"""Path\(\s*["']([^"']*)["']""", "\n".join(code))
    assert str(DEMO_EXPORT) in paths, f"{notebook.name} no longer defaults to the demo export"
    for path in paths:
        resolved = (tmp_path / "notebooks" / path).resolve()
        assert resolved.is_relative_to(tmp_path), f"{notebook.name}: {path!r} leaves the project"
    assert "Path.home" not in "".join(code) and "Path.cwd" not in "".join(code)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway project tree holding copies of the notebooks, an empty MLflow store and the
    demo export, written once here and shared by all the notebooks."""
    root = tmp_path_factory.mktemp("notebook-project")
    for folder in ("notebooks", "data/raw", "data/interim", "data/processed", "models"):
        (root / folder).mkdir(parents=True)
    for notebook in NOTEBOOKS:
        shutil.copy2(notebook, root / "notebooks" / notebook.name)
    ensure_demo_export((root / "notebooks" / DEMO_EXPORT).resolve())
    return root


def kernel_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in STORE_VARIABLES}


def failure_report(notebook: Path, nb: nbformat.NotebookNode, index: int, error: Exception) -> str:
    """Which cell failed (its index among all cells and among code cells), its source, and the
    error with its traceback, without the terminal colours."""
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    where = (
        f"cell {index} (code cell {code.index(index) + 1} of {len(code)})"
        if index in code
        else "before the first cell ran"
    )
    detail = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    return (
        f"{notebook.name} failed in {where}: {type(error).__name__}\n\n{detail}\n\n"
        f"The executed copy, with every output so far: {notebook}"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_runs_in_a_temporary_project(
    notebook: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each notebook runs top to bottom with a real kernel, in numbered order, on the copy in
    the temporary project: 01 explores the demo export, 02 trains and registers into the
    temporary store, 03 scores with its champion and writes its list beside it, 04 simulates
    six months, scores each and writes the monitoring page."""
    copy = project / "notebooks" / notebook.name
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, record_timing=True)
    started = {"index": -1}

    def note_start(cell: nbformat.NotebookNode, cell_index: int) -> None:
        started["index"] = cell_index

    client.on_cell_start = note_start
    failure = None
    try:
        client.execute(cwd=str(copy.parent), env=kernel_environment())
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        failure = failure_report(copy, nb, started["index"], error)
    finally:
        nbformat.write(nb, copy)
    if failure:  # outside the handler: the report already holds the kernel's traceback
        pytest.fail(failure, pytrace=False)

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for written in WRITES.get(notebook.name, []):
        assert (project / written).is_file(), f"{notebook.name} did not write {written}"
    if "models/mlflow.db" in WRITES.get(notebook.name, []):
        from walkaway.serving import registry

        assert registry.champion_version(models_dir=project / "models") is not None
