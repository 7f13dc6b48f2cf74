"""``walkaway explain`` and ``walkaway whatif`` through the CLI, on the session's registered
champion (a real MLflow store, SQLite, temporary) and the open pipeline of its synthetic export:
the panel and its JSON say the same as the batch job, a deal that cannot be explained is one
line, and setting the inputs of a deal's worst sign to their best values raises its p_good."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.data.cell_values import normalise_category
from walkaway.serving.one_deal import percent, points, value_words
from walkaway.signs import GROUPS, TITLES

AS_OF = "2025-12-31"  # the synthetic export's date: deals are scored at their age then
# The best value of each input of a sign (need fit's capabilities are the product's own).
BEST = {
    "glass_walls": [
        "incumbent_vendor=",
        "incumbent_tenure_years=0",
        "formal_tender=no",
        "competitor_count=0",
        "decision_maker_access=yes",
    ],
    "need_fit": ["needs_defined=yes", "customisation_required=no"],
}


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def scored(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    """The pipeline scored by ``walkaway score`` with the champion, indexed by deal id."""
    out = tmp_path_factory.mktemp("one-deal") / "scored.csv"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        code = main(
            [
                "score",
                "--deals",
                str(synthetic_dir / "pipeline.csv"),
                "--out",
                str(out),
                "--models-dir",
                str(champion_models_dir),
                "--as-of",
                AS_OF,
            ]
        )
    assert code == 0
    return pd.read_csv(out, keep_default_na=False, na_values=[""]).set_index("deal_id")


def run(
    capsys: pytest.CaptureFixture, models_dir: Path, deals: Path, *args: str
) -> tuple[int, str, str]:
    """One command on one deal file, with the champion as of the export's date."""
    capsys.readouterr()
    command, *rest = args
    code = main(
        [command, *rest, "--deals", str(deals), "--models-dir", str(models_dir), "--as-of", AS_OF]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def flat(text: str) -> str:
    """Text without spaces, line ends and box lines, so that a reason wrapped inside a table
    cell reads as one."""
    return re.sub(r"[\s│─╭╮╰╯━┃]+", "", text)


def worst_deal(scored: pd.DataFrame, group: str, having: pd.Series | None = None) -> str:
    """The deal whose worst group (of the four) is ``group``, costing it most."""
    effects = scored[[f"effect_{g}" for g in GROUPS]]
    worst = effects.idxmin(axis=1).eq(f"effect_{group}")
    if having is not None:
        worst &= having.reindex(scored.index, fill_value=False)
    assert worst.any(), f"no open deal has {group} as its worst group"
    return str(effects.loc[worst, f"effect_{group}"].idxmin())


# ------------------------------------------------------------------ explain


def test_explain_prints_the_batch_jobs_figures_and_its_json_says_the_same(
    capsys: pytest.CaptureFixture,
    champion_models_dir: Path,
    synthetic_dir: Path,
    scored: pd.DataFrame,
) -> None:
    pipeline = synthetic_dir / "pipeline.csv"
    said = scored["reasons_glass_walls"].notna() & scored["reasons_deal_context"].notna()
    deal_id = str(scored.index[said][0])
    batch = scored.loc[deal_id]

    code, text, err = run(capsys, champion_models_dir, pipeline, "explain", deal_id)
    assert code == 0 and err == ""
    code, out, err = run(capsys, champion_models_dir, pipeline, "explain", deal_id, "--json")
    assert code == 0 and err == ""
    document = json.loads(out)

    # The JSON: the batch job's figures under stable keys.
    assert document["deal_id"] == deal_id and document["as_of"] == AS_OF
    assert document["model_name"] == "walkaway" and document["model_version"] == 1
    for column in ("p_win", "p_regret", "p_good", "p_good_base"):
        assert document[column] == pytest.approx(batch[column], abs=5e-5)
    assert list(document["signs"]) == list(GROUPS)
    for group, sign in document["signs"].items():
        assert sign["title"] == TITLES[group]
        assert sign["points"] == pytest.approx(batch[f"effect_{group}"], abs=5e-3)
        assert "; ".join(sign["reasons"]) == (
            "" if pd.isna(batch[f"reasons_{group}"]) else batch[f"reasons_{group}"]
        )
    assert document["recommendation"] == batch["recommendation"]
    assert document["recommendation_reason"] == batch["recommendation_reason"]

    # The panel: the same figures, reasons and recommendation, in words.
    panel = flat(text)
    assert flat(f"Deal {deal_id}") in panel
    for column in ("p_win", "p_regret", "p_good"):
        assert flat(f"{column} {percent(batch[column])}") in panel
    for group, sign in document["signs"].items():
        assert flat(f"{sign['title']} {points(batch[f'effect_{group}'])}") in panel
        for reason in sign["reasons"]:
            assert flat(reason) in panel
    words = document["recommendation"].replace("_", " ")
    assert flat(f"Recommendation: {words} — {document['recommendation_reason']}") in panel
    assert flat(f"scored by walkaway v1 as of {AS_OF}") in panel


def test_explain_of_a_deal_not_in_the_file_is_one_line(
    capsys: pytest.CaptureFixture, champion_models_dir: Path, synthetic_dir: Path
) -> None:
    code, out, err = run(
        capsys, champion_models_dir, synthetic_dir / "pipeline.csv", "explain", "NOPE-1"
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(
        "walkaway: error: pipeline.csv, column 'Opportunity ID': no row holds deal id 'NOPE-1'"
    )


def test_explain_of_a_row_that_breaks_the_contract_names_its_file_row_column_and_rule(
    capsys: pytest.CaptureFixture, champion_models_dir: Path, synthetic_dir: Path, tmp_path: Path
) -> None:
    for name in ("accounts.csv", "products.csv"):
        shutil.copy(synthetic_dir / name, tmp_path / name)
    raw = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    raw.loc[6, "Amount"] = "a lot"  # the 7th deal: row 8 of the file, after the header
    raw.to_csv(tmp_path / "pipeline.csv", index=False)
    deal_id = raw.loc[6, "Opportunity ID"]

    code, out, err = run(capsys, champion_models_dir, tmp_path / "pipeline.csv", "explain", deal_id)
    assert code == 1 and out == ""
    assert err == (
        f"walkaway: error: deal '{deal_id}' cannot be scored: pipeline.csv, row 8, column "
        "'Amount': not a number: 'a lot'\n"
    )


# ------------------------------------------------------------------ whatif


def best_need_fit(synthetic_dir: Path, deal_id: str) -> list[str]:
    """Need fit at its best for a deal: defined needs, no customisation, and required and
    must-have capabilities that its product covers."""
    deals = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    products = pd.read_csv(synthetic_dir / "products.csv", dtype=str)
    catalogue = dict(
        zip(normalise_category(products["Product"]), products["Capabilities"], strict=True)
    )
    product = normalise_category(deals.loc[deals["Opportunity ID"] == deal_id, "Product"]).iloc[0]
    covered = catalogue[product]
    return [
        *BEST["need_fit"],
        f"required_capabilities={covered}",
        f"must_have_capabilities={covered}",
    ]


def has_a_catalogued_product(synthetic_dir: Path) -> pd.Series:
    deals = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    products = pd.read_csv(synthetic_dir / "products.csv", dtype=str)
    known = normalise_category(deals["Product"]).isin(normalise_category(products["Product"]))
    return pd.Series(known.to_numpy(), index=deals["Opportunity ID"])


@pytest.mark.parametrize("sign", ["glass_walls", "need_fit"])
def test_whatif_setting_the_worst_signs_inputs_to_their_best_raises_p_good(
    capsys: pytest.CaptureFixture,
    champion_models_dir: Path,
    synthetic_dir: Path,
    scored: pd.DataFrame,
    sign: str,
) -> None:
    having = has_a_catalogued_product(synthetic_dir) if sign == "need_fit" else None
    deal_id = worst_deal(scored, sign, having)
    best = BEST[sign] if sign == "glass_walls" else best_need_fit(synthetic_dir, deal_id)
    settings = [part for setting in best for part in ("--set", setting)]
    code, out, err = run(
        capsys,
        champion_models_dir,
        synthetic_dir / "pipeline.csv",
        "whatif",
        deal_id,
        *settings,
        "--json",
    )
    assert code == 0 and err == ""
    changed = json.loads(out)
    before, after = changed["before"], changed["after"]
    assert before["p_good"] == pytest.approx(scored.loc[deal_id, "p_good"], abs=5e-5)
    assert after["p_good"] > before["p_good"]
    assert changed["p_good_change_points"] > 0
    assert changed["p_good_change_points"] == pytest.approx(
        100 * (after["p_good"] - before["p_good"]), abs=0.02
    )
    assert after["signs"][sign]["points"] > before["signs"][sign]["points"]
    assert [c["column"] for c in changed["changes"]] == [s.split("=")[0] for s in best]
    assert changed["recommendation_changed"] == (
        before["recommendation"] != after["recommendation"]
    )


def test_whatif_prints_both_panels_and_the_change_in_p_good_and_recommendation(
    capsys: pytest.CaptureFixture,
    champion_models_dir: Path,
    synthetic_dir: Path,
    scored: pd.DataFrame,
) -> None:
    deal_id = worst_deal(scored, "glass_walls")
    settings = [part for setting in BEST["glass_walls"] for part in ("--set", setting)]
    pipeline = synthetic_dir / "pipeline.csv"
    code, text, err = run(capsys, champion_models_dir, pipeline, "whatif", deal_id, *settings)
    assert code == 0 and err == ""
    code, out, _ = run(
        capsys, champion_models_dir, pipeline, "whatif", deal_id, *settings, "--json"
    )
    changed = json.loads(out)
    before, after = changed["before"], changed["after"]

    panel = flat(text)
    assert flat(f"Deal {deal_id}") in panel and "(before)" in text and "(after)" in text
    for change in changed["changes"]:
        words = [value_words(change[when]) for when in ("before", "after")]
        assert flat(f"{change['column']}: {words[0]} → {words[1]}") in panel
    p_good_row = f"p_good {percent(before['p_good'])} {percent(after['p_good'])} "
    assert flat(p_good_row + points(changed["p_good_change_points"])) in panel
    recommendation = [
        r.replace("_", " ") for r in (before["recommendation"], after["recommendation"])
    ]
    moved = "changed" if changed["recommendation_changed"] else "same"
    assert flat(f"recommendation {' '.join(recommendation)} {moved}") in panel
    for explained in (before, after):
        assert flat(f"Recommendation: {explained['recommendation'].replace('_', ' ')}") in panel


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("competitors=2", "--set competitors=2: unknown column 'competitors' (did you mean "),
        ("competitor_count=many", "--set competitor_count=many: column 'competitor_count': "),
        ("regrettable=yes", "--set regrettable=yes: column 'regrettable' cannot change"),
    ],
)
def test_whatif_with_a_bad_setting_is_one_line_naming_the_column_and_rule(
    capsys: pytest.CaptureFixture,
    champion_models_dir: Path,
    synthetic_dir: Path,
    scored: pd.DataFrame,
    setting: str,
    said: str,
) -> None:
    deal_id = str(scored.index[0])
    pipeline = synthetic_dir / "pipeline.csv"
    code, out, err = run(capsys, champion_models_dir, pipeline, "whatif", deal_id, "--set", setting)
    assert code == 1 and out == ""
    assert err.startswith(f"walkaway: error: {said}") and err.count("\n") == 1


def test_whatif_without_a_change_is_a_usage_mistake(
    capsys: pytest.CaptureFixture, champion_models_dir: Path, synthetic_dir: Path
) -> None:
    code, _, err = run(
        capsys, champion_models_dir, synthetic_dir / "pipeline.csv", "whatif", "OPP-0000001"
    )
    assert code == 2 and "--set" in err
