"""Three ``walkaway train`` runs started at once on one models folder leave a consistent
registry: three versions, one champion, every version's decision kept and every model loadable
(issue 13, a case that already held and is kept true here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.data.synth import write_synthetic_history
from walkaway.serving import registry

RUNS = 3


@pytest.fixture(scope="module")
def small_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest synthetic history the data gate accepts with room to spare (700 deals)."""
    folder = tmp_path_factory.mktemp("small-crm")
    write_synthetic_history(folder, n_deals=700, seed=5)
    return folder


def test_three_concurrent_trains_leave_a_consistent_registry(
    small_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["OMP_NUM_THREADS"] = "1"  # three runs on a 2-core machine: no thread oversubscription
    models_dir = tmp_path / "models"
    # --no-refit: the registry is what is under test, one fit per run is enough.
    command = [
        *(sys.executable, "-m", "walkaway", "train", "--no-refit", "--history"),
        str(small_history),
    ]
    processes = [
        subprocess.Popen(
            [*command, "--models-dir", str(models_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RUNS)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err

    client = registry.connect(models_dir)
    versions = sorted(int(v.version) for v in client.search_model_versions("name='walkaway'"))
    assert versions == list(range(1, RUNS + 1))
    champion = registry.champion_version(models_dir=models_dir)
    assert champion in versions
    aliases = [
        alias for v in versions for alias in client.get_model_version("walkaway", str(v)).aliases
    ]
    assert aliases.count("champion") == 1
    for version in versions:  # each run's automatic decision is on its own version
        assert [d.action for d in registry.decisions(version, models_dir=models_dir)][0] == "train"
        run = client.get_run(client.get_model_version("walkaway", str(version)).run_id)
        assert run.info.status == "FINISHED"
    # Exactly one run says it became the champion on first arrival, and it is version 1.
    firsts = [out for out, _ in outputs if "is the first model" in out]
    assert len(firsts) == 1 and "version 1 " in firsts[0]

    # Every version's model loads from the shared store and scores the same open deals.
    deals = small_history / "pipeline.csv"
    head = pd.read_csv(deals, dtype=str, keep_default_na=False).head(5)
    head.to_csv(tmp_path / "five.csv", index=False)
    for version in versions:
        out = tmp_path / f"scored-v{version}.csv"
        code = main(
            [
                "score",
                *("--deals", str(tmp_path / "five.csv"), "--out", str(out)),
                *("--models-dir", str(models_dir), "--model", f"models:/walkaway/{version}"),
                *("--as-of", "2025-12-31"),
            ]
        )
        assert code == 0
        assert len(pd.read_csv(out)) == 5
