"""A property over corrupted pipelines (issue 13): whatever is done to some of its lines
(bytes, quotes, field counts, encodings, huge cells, non-finite numbers, formula prefixes),
``walkaway score`` never shows a traceback, every line comes out scored or rejected, and a run
that fails leaves the previous outputs as they were."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walkaway.cli import main

DEALS = 12  # open deals in the pipeline each example corrupts

DAMAGES = {
    "extra field": lambda line: line + ",extra",
    "missing fields": lambda line: ",".join(line.split(",")[:3]),
    "opened quote": lambda line: line.replace(",", ',"', 1),
    "stray quote": lambda line: line.replace(",", ',"x"y', 1),
    "NUL byte": lambda line: line[:5] + "\x00" + line[5:],
    "Latin-1 byte": lambda line: line.replace("a", "\xe9", 1),
    "huge cell": lambda line: _with_field(line, 1, '"' + "z" * 140_000 + '"'),
    "infinite amount": lambda line: _with_field(line, AMOUNT_FIELD, "inf"),
    "overflowing amount": lambda line: _with_field(line, AMOUNT_FIELD, "1e400"),
    "formula prefix": lambda line: line.replace(",", ',=HYPERLINK("http://x")', 1),
    "blank": lambda line: "",
    "delimiter soup": lambda line: line.replace(",", ";"),
}
AMOUNT_FIELD = 5  # "Amount" in the synthetic export's header


def _with_field(line: str, position: int, value: str) -> str:
    fields = line.split(",")
    fields[position] = value
    return ",".join(fields)


@pytest.fixture(scope="module")
def clean_lines(synthetic_dir: Path) -> list[str]:
    lines = (synthetic_dir / "pipeline.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[AMOUNT_FIELD] == "Amount"
    return lines[: DEALS + 1]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    damage=st.dictionaries(
        st.integers(min_value=1, max_value=DEALS),
        st.sampled_from(sorted(DAMAGES)),
        min_size=1,
        max_size=4,
    ),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
def test_corrupted_lines_are_rejects_never_tracebacks(
    clean_lines: list[str],
    champion_models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    damage: dict[int, str],
    encoding: str,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = tmp_path_factory.mktemp("corrupted")
    lines = [
        DAMAGES[damage[i]](line) if i in damage else line for i, line in enumerate(clean_lines)
    ]
    deals = folder / "pipeline.csv"
    deals.write_bytes(("\n".join(lines) + "\n").encode(encoding, errors="replace"))
    out = folder / "scored.csv"
    out.write_text("previous output\n", encoding="utf-8")
    rejects = folder / "scored.csv.rejects.csv"
    rejects.write_text("previous rejects\n", encoding="utf-8")

    capsys.readouterr()
    code = main(
        [
            "score",
            *("--deals", str(deals), "--out", str(out), "--report", str(folder / "r.html")),
            *("--models-dir", str(champion_models_dir), "--as-of", "2025-12-31"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    assert code in (0, 1), (code, err)
    if code == 1:  # refused as a whole: one line, and the previous outputs untouched
        assert "\n" not in err
        assert out.read_text(encoding="utf-8") == "previous output\n"
        assert rejects.read_text(encoding="utf-8") == "previous rejects\n"
        return
    scored = pd.read_csv(out, dtype=str)
    rejected = pd.read_csv(rejects, dtype=str)
    assert len(scored) + len(rejected) == DEALS  # read = scored + rejected, line for line
    lines_accounted = sorted(rejected["row"].astype(int).tolist())
    assert len(set(lines_accounted)) == len(lines_accounted)
    assert not scored.apply(lambda c: c.str.contains("\x00", regex=False)).any().any()
    assert not scored["amount"].astype(float).abs().eq(float("inf")).any()
