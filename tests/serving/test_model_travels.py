"""The registered model travels (issue 16): it carries walkaway's code, so a Python without walkaway
installed loads and scores it, and ``mlflow models serve`` answers with the batch job's scores."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.data.exports import load_history
from walkaway.data.wire_format import to_wire
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.serving import model_store, registry
from walkaway.serving.scoring import SCORE_COLUMNS

AS_OF = "2025-12-31"
CHAMPION = "models:/walkaway@champion"
TEXT_COLUMNS = [c for c in SCORE_COLUMNS if c.startswith("reasons_") or c.startswith("recommend")]
NUMBER_COLUMNS = [c for c in SCORE_COLUMNS if c.startswith(("p_", "effect_", "expected_"))]


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def three_deals(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pipeline export of three open deals, with the accounts and products beside it."""
    folder = tmp_path_factory.mktemp("three-deals")
    pipeline = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    pipeline.head(3).to_csv(folder / "pipeline.csv", index=False)
    for name in ("accounts.csv", "products.csv"):
        (folder / name).write_bytes((synthetic_dir / name).read_bytes())
    return folder / "pipeline.csv"


@pytest.fixture(scope="module")
def wire(three_deals: Path) -> pd.DataFrame:
    """The three deals as canonical columns in the pyfunc's plain types, scored as of AS_OF."""
    deals = load_history(three_deals).deal_frame()
    return to_wire(deals).assign(as_of=AS_OF).reset_index(drop=True)


def child_env(models_dir: Path) -> dict[str, str]:
    """The environment of a child process reading the champion's store as registry.connect does
    (and writing no bytecode into the store's copy of the code)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTHONPATH")}
    env["MLFLOW_TRACKING_URI"] = model_store.tracking_uri(models_dir)
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # `mlflow models serve` starts `uvicorn` by name: the venv's scripts must be on the PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


# Run with `python -S`: no site processing, so the editable install's .pth is not read and
# walkaway cannot be imported; the venv's packages (MLflow, pandas, LightGBM...) are added by hand.
WITHOUT_WALKAWAY = """
import sys
sys.path.append({packages!r})
try:
    import walkaway
except ModuleNotFoundError:
    pass
else:
    sys.exit("walkaway is importable here, from " + walkaway.__file__)
import warnings
warnings.simplefilter("ignore")
import mlflow
import pandas as pd
model = mlflow.pyfunc.load_model({uri!r})
model.predict(pd.read_pickle({deals!r})).to_pickle({out!r})
import walkaway
print(walkaway.__file__)
"""


def test_a_python_without_walkaway_loads_the_champion_and_scores_like_walkaway(
    champion_models_dir: Path, wire: pd.DataFrame, tmp_path: Path
) -> None:
    deals, out = tmp_path / "deals.pkl", tmp_path / "scores.pkl"  # pickles: the same dtypes
    wire.to_pickle(deals)
    snippet = WITHOUT_WALKAWAY.format(
        packages=sysconfig.get_paths()["purelib"], uri=CHAMPION, deals=str(deals), out=str(out)
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", snippet],
        cwd=tmp_path,
        env=child_env(champion_models_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # walkaway came with the model: its code folder, as the package was when it trained.
    code = Path(done.stdout.strip().splitlines()[-1]).parent
    assert code.parent.name == "code" and code.name == "walkaway"
    files = [p for p in code.rglob("*") if p.is_file()]
    assert (code / "serving" / "registry.py").is_file()
    assert {p.name for p in (code / "serving" / "templates").iterdir()} >= {"report.html.j2"}
    assert (code / "mappings" / "synthetic-crm.yaml").is_file()
    assert not [p for p in code.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    assert sum(p.stat().st_size for p in files) < 5_000_000

    in_process = registry.load_model(CHAMPION, models_dir=champion_models_dir).pyfunc.predict(wire)
    scores = pd.read_pickle(out)
    assert len(scores) == 3
    pd.testing.assert_frame_equal(scores, in_process.reset_index(drop=True))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(server: subprocess.Popen, url: str, errors: Path, timeout: float = 90) -> None:
    """Poll ``url`` until it answers 200; fail with the server's stderr if it dies or is slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server stopped ({server.returncode}):\n{errors.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the server did not answer in {timeout:.0f} s:\n{errors.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """Stop the server and the uvicorn it started (its own process group)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def test_mlflow_models_serve_answers_with_the_batch_jobs_scores(
    champion_models_dir: Path, three_deals: Path, wire: pd.DataFrame, tmp_path: Path
) -> None:
    # The batch job's scores for the three deals, as of the same day.
    scored = tmp_path / "scored.csv"
    args = ["score", "--deals", str(three_deals), "--out", str(scored)]
    assert main([*args, "--models-dir", str(champion_models_dir), "--as-of", AS_OF]) == 0
    batch = pd.read_csv(scored, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False)

    port = free_port()
    errors = tmp_path / "server.err"
    with errors.open("w") as err, (tmp_path / "server.out").open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", CHAMPION]
            + ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=child_env(champion_models_dir),
            stdout=out,
            stderr=err,
            start_new_session=True,  # one process group: the CLI and the uvicorn it runs
        )
    try:
        wait_until_up(server, f"http://127.0.0.1:{port}/ping", errors)
        body = {"dataframe_split": json.loads(wire.to_json(orient="split", index=False))}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            online = pd.DataFrame(json.load(answer)["predictions"])
    finally:
        stop(server)

    assert online["deal_id"].tolist() == batch["deal_id"].tolist() == wire["deal_id"].tolist()
    for column in NUMBER_COLUMNS:
        pd.testing.assert_series_equal(
            online[column].astype(float), batch[column].astype(float), rtol=1e-9
        )
    for column in TEXT_COLUMNS:
        assert online[column].tolist() == batch[column].tolist(), column
    assert set(online["recommendation"]) <= set(RECOMMENDATIONS)


def test_spark_udf_on_the_champion_returns_the_pyfunc_columns(
    wire: pd.DataFrame,
    champion_models_dir: Path,
    spark: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``mlflow.pyfunc.spark_udf`` on the registered champion, in a user's own Spark job (as the
    README shows it): the struct it returns holds the pyfunc's columns and values."""
    import mlflow
    from pyspark.sql import functions as F

    from walkaway.serving.pyfunc_contract import input_columns

    loaded = registry.load_model(CHAMPION, models_dir=champion_models_dir)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", model_store.tracking_uri(champion_models_dir))
    columns = [(name, kind) for name, kind, _ in input_columns(loaded.model) if name in wire]
    schema = ", ".join(f"`{name}` {kind}" for name, kind in columns)
    plain = wire[[name for name, _ in columns]].astype(object)
    deals = spark.createDataFrame(plain.where(plain.notna(), None), schema=schema)

    udf = mlflow.pyfunc.spark_udf(spark, CHAMPION, env_manager="local")
    scored = deals.withColumn("score", udf(F.struct(*deals.columns))).select("score.*")
    got = scored.toPandas()
    expected = loaded.pyfunc.predict(wire)

    assert list(got.columns) == list(expected.columns)
    assert got["deal_id"].tolist() == expected["deal_id"].tolist()
    for column in NUMBER_COLUMNS:
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-9)
    for column in TEXT_COLUMNS:
        assert got[column].tolist() == expected[column].tolist()
