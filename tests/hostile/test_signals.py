"""A score job stopped mid-run by SIGKILL, Ctrl-C (SIGINT) or SIGTERM leaves the previous
outputs byte for byte, and, given the chance, no partial file (issue 13: a case that already
held, kept true here, and SIGTERM's one-line message, defect 10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def big_pipeline(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic pipeline 60 times over, ids made unique: long enough to be stopped."""
    frame = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    repeated = pd.concat(
        [frame.assign(**{"Opportunity ID": frame["Opportunity ID"] + f"-{k}"}) for k in range(60)]
    )
    path = tmp_path_factory.mktemp("big") / "big.csv"
    repeated.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_a_job_stopped_mid_run_leaves_the_previous_outputs_intact(
    big_pipeline: Path, champion_models_dir: Path, tmp_path: Path, how: signal.Signals
) -> None:
    out = tmp_path / "scored.csv"
    out.write_text("deal_id\nfrom-an-earlier-run\n", encoding="utf-8")
    rejects = tmp_path / "scored.csv.rejects.csv"
    rejects.write_text("row,reason\n2,from an earlier run\n", encoding="utf-8")
    before = {path: path.read_bytes() for path in (out, rejects)}
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    command = [
        *(sys.executable, "-m", "walkaway", "score"),
        *("--deals", str(big_pipeline), "--out", str(out), "--report", str(tmp_path / "r.html")),
        *("--models-dir", str(champion_models_dir), "--chunk-size", "200", "--as-of", AS_OF),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".scored.csv.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".scored.csv.partial-*")), "the job never started writing"
    process.send_signal(how)
    _, err = process.communicate(timeout=60)

    assert process.returncode != 0
    assert "Traceback" not in err
    if how == signal.SIGTERM:  # said as Ctrl-C is, in one line
        assert process.returncode == 143
        assert err.strip() == "walkaway: stopped by SIGTERM: no output was changed"
    if how == signal.SIGINT:
        assert "\n" not in err.strip() and "no output was changed" in err
    assert {path: path.read_bytes() for path in before} == before
    assert not (tmp_path / "r.html").exists()
    if how != signal.SIGKILL:  # given the chance, the job cleans up after itself
        assert not list(tmp_path.glob(".*partial-*"))
