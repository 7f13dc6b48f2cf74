"""One deal explained and what-if (walkaway.serving.one_deal), and the deal and changes a user
gives (walkaway.serving.deal_inputs), on the session's trained model and the open pipeline of its
synthetic export, read as the batch job reads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkaway.data.exports import resolve_mapping
from walkaway.data.history import History
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving import deal_inputs, one_deal
from walkaway.serving.pipeline_reading import OpenPipeline, read_open_deals
from walkaway.serving.scoring import score_deals
from walkaway.signs import GROUPS

# The best values of the glass-walls inputs: no incumbent, no tender, no rival, the decision
# maker within reach.
NO_GLASS_WALLS = [
    "incumbent_vendor=",
    "incumbent_tenure_years=0",
    "formal_tender=no",
    "competitor_count=0",
    "decision_maker_access=yes",
]


def read(path: Path) -> OpenPipeline:
    return read_open_deals(path, resolve_mapping(path, None))


@pytest.fixture(scope="module")
def model(trained: TrainingResult) -> WalkawayModel:
    return trained.model


@pytest.fixture(scope="module")
def as_of(history: History) -> pd.Timestamp:
    return history.export_date


@pytest.fixture(scope="module")
def pipeline(synthetic_dir: Path) -> OpenPipeline:
    return read(synthetic_dir / "pipeline.csv")


@pytest.fixture(scope="module")
def scores(model: WalkawayModel, pipeline: OpenPipeline, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every open deal scored at once, as the batch job scores a chunk."""
    return score_deals(model, pipeline.deals, as_of).set_index("deal_id")


def deal_of(pipeline: OpenPipeline, deal_id: str) -> pd.DataFrame:
    return deal_inputs.find_deal(pipeline, deal_id, "pipeline.csv")


def worst_deal(scores: pd.DataFrame, group: str) -> str:
    """The deal whose worst group (of the four) is ``group``, costing it most."""
    effects = scores[[f"effect_{g}" for g in GROUPS]]
    worst = effects.idxmin(axis=1) == f"effect_{group}"
    assert worst.any(), f"no open deal has {group} as its worst group"
    return str(effects.loc[worst, f"effect_{group}"].idxmin())


# ------------------------------------------------------------------ one deal explained


def test_a_deal_is_explained_with_the_figures_the_batch_job_gives_it(
    model: WalkawayModel, pipeline: OpenPipeline, scores: pd.DataFrame, as_of: pd.Timestamp
) -> None:
    for deal_id in scores.index[:: max(1, len(scores) // 6)]:
        explained = one_deal.explain_deal(model, deal_of(pipeline, deal_id), as_of, "walkaway", 3)
        batch = scores.loc[deal_id]
        assert explained.deal_id == deal_id and explained.model == "walkaway v3"
        for column in ("p_win", "p_regret", "p_good", "p_good_base"):
            assert getattr(explained, column) == pytest.approx(batch[column], abs=1e-12)
        for effect in explained.effects:
            assert effect.points == pytest.approx(batch[f"effect_{effect.group}"], abs=1e-9)
            assert "; ".join(effect.reasons) == batch[f"reasons_{effect.group}"]
        assert explained.recommendation == batch["recommendation"]
        assert explained.recommendation_reason == batch["recommendation_reason"]
        moved = sum(e.points for e in explained.effects) / 100
        assert explained.p_good_base + moved == pytest.approx(explained.p_good, abs=1e-9)


def test_the_json_of_a_deal_has_stable_keys_and_no_nan(
    model: WalkawayModel, pipeline: OpenPipeline, scores: pd.DataFrame, as_of: pd.Timestamp
) -> None:
    deal_id = str(scores.index[0])
    explained = one_deal.explain_deal(model, deal_of(pipeline, deal_id), as_of)
    document = json.loads(json.dumps(explained.to_dict(), allow_nan=False))
    assert list(document) == [
        "deal_id",
        "account_id",
        "amount",
        "as_of",
        "model_name",
        "model_version",
        "p_win",
        "p_regret",
        "p_good",
        "p_good_base",
        "signs",
        "recommendation",
        "recommendation_reason",
    ]
    assert list(document["signs"]) == list(GROUPS)
    assert document["as_of"] == as_of.strftime("%Y-%m-%d")
    assert document["p_good"] == pytest.approx(explained.p_good, abs=5e-5)
    for group, sign in document["signs"].items():
        assert set(sign) == {"title", "points", "reasons"}
        assert sign["points"] == pytest.approx(explained.effect(group).points, abs=5e-3)
    table = explained.table()
    assert table["points"].tolist() == [round(e.points, 1) for e in explained.effects]


def test_a_deal_without_an_amount_says_so_in_json(
    model: WalkawayModel, pipeline: OpenPipeline, as_of: pd.Timestamp
) -> None:
    deal = pipeline.deals.head(1).assign(amount=np.nan, product=np.nan)
    document = one_deal.explain_deal(model, deal, as_of).to_dict()
    assert document["amount"] is None
    json.dumps(document, allow_nan=False)


def test_without_a_date_a_deal_is_scored_as_at_its_creation(
    model: WalkawayModel, pipeline: OpenPipeline
) -> None:
    deal = pipeline.deals.head(1)
    explained = one_deal.explain_deal(model, deal)
    assert explained.as_of is None
    assert explained.p_good == pytest.approx(model.predict(deal)["p_good"].iloc[0], abs=1e-12)


# ------------------------------------------------------------------ what if


def test_a_what_if_without_changes_changes_nothing(
    model: WalkawayModel, pipeline: OpenPipeline, scores: pd.DataFrame, as_of: pd.Timestamp
) -> None:
    changed = one_deal.what_if(model, deal_of(pipeline, str(scores.index[0])), {}, as_of)
    assert changed.before == changed.after
    assert changed.p_good_points == 0 and not changed.recommendation_changed
    assert changed.notes == () and "stays" in changed.summary()


def test_a_what_if_scores_the_deal_as_the_batch_job_scores_the_edited_row(
    model: WalkawayModel,
    pipeline: OpenPipeline,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
    synthetic_dir: Path,
    tmp_path: Path,
) -> None:
    """Setting glass walls' inputs to their best gives the figures of the same row edited in
    the export and scored by the batch job, and raises p_good for the deal they cost most."""
    deal_id = worst_deal(scores, "glass_walls")
    deal = deal_of(pipeline, deal_id)
    changed = one_deal.what_if(model, deal, deal_inputs.parse_changes(NO_GLASS_WALLS, deal), as_of)
    assert changed.p_good_points > 0
    assert changed.after.effect("glass_walls").points > changed.before.effect("glass_walls").points
    assert [c.column for c in changed.changes] == [s.split("=")[0] for s in NO_GLASS_WALLS]

    for name in ("accounts.csv", "products.csv"):
        shutil.copy(synthetic_dir / name, tmp_path / name)
    raw = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    row = raw["Opportunity ID"] == deal_id
    edits = {
        "Incumbent Vendor": "",
        "Incumbent Tenure (years)": "0",
        "Formal Tender": "No",
        "Competitors": "0",
        "Decision Maker Access": "Yes",
    }
    for column, text in edits.items():
        raw.loc[row, column] = text
    raw.to_csv(tmp_path / "pipeline.csv", index=False)
    edited = one_deal.explain_deal(model, deal_of(read(tmp_path / "pipeline.csv"), deal_id), as_of)
    assert edited.p_good == pytest.approx(changed.after.p_good, abs=1e-12)
    for read_back, set_here in zip(edited.effects, changed.after.effects, strict=True):
        assert read_back.points == pytest.approx(set_here.points, abs=1e-9)
        assert read_back.reasons == set_here.reasons
    assert edited.recommendation == changed.after.recommendation


def test_a_what_if_notes_changes_that_cannot_move_the_scores(
    model: WalkawayModel, pipeline: OpenPipeline, as_of: pd.Timestamp
) -> None:
    deals = pipeline.deals
    rival = deals["incumbent_vendor"].notna() & (deals["incumbent_tenure_years"] > 0)
    rival &= deals["competitor_count"].notna()
    deal = deals[rival].head(1)
    own = deal["competitor_count"].iloc[0]

    changes = {"competitor_count": own, "account_name": "Another name", "incumbent_vendor": np.nan}
    notes = one_deal.what_if(model, deal, changes, as_of).notes
    assert notes == (
        f"competitor_count is {one_deal.value_words(own)} already",
        "account_name moves no input the model reads here: its scores cannot move",
        # A tenure still says there is an incumbent...
        "incumbent_vendor moves no input the model reads here: its scores cannot move",
    )
    # ...but with no tenure either, the blank vendor is what says there is none.
    both = {"incumbent_vendor": np.nan, "incumbent_tenure_years": 0.0}
    assert one_deal.what_if(model, deal, both, as_of).notes == ()


def test_the_what_if_table_holds_p_good_and_each_sign_before_and_after(
    model: WalkawayModel, pipeline: OpenPipeline, scores: pd.DataFrame, as_of: pd.Timestamp
) -> None:
    deal = deal_of(pipeline, worst_deal(scores, "glass_walls"))
    changed = one_deal.what_if(model, deal, deal_inputs.parse_changes(NO_GLASS_WALLS, deal), as_of)
    table = changed.table()
    assert list(table.index) == ["p_good (%)", *(e.title for e in changed.before.effects)]
    assert table.loc["p_good (%)", "change"] == pytest.approx(changed.p_good_points, abs=0.051)
    document = json.loads(json.dumps(changed.to_dict(), allow_nan=False))
    assert document["p_good_change_points"] == pytest.approx(changed.p_good_points, abs=5e-3)
    assert document["changes"][0] == {
        "column": "incumbent_vendor",
        "before": deal["incumbent_vendor"].iloc[0],
        "after": None,
    }


def test_score_variants_scores_each_copy_as_at_its_creation_without_a_date(
    model: WalkawayModel, pipeline: OpenPipeline
) -> None:
    deal = pipeline.deals.head(1)
    scored = one_deal.score_variants(model, deal, [{}, {"competitor_count": 9.0}])
    expected = model.predict(one_deal.changed_deal(deal, {"competitor_count": 9.0}))
    assert scored["p_good"].iloc[1] == pytest.approx(expected["p_good"].iloc[0], abs=1e-12)
    assert list(scored.index) == [0, 1]
    assert one_deal.score_variants(model, deal, []).empty
    with pytest.raises(ValueError, match="one deal"):
        one_deal.score_variants(model, pipeline.deals.head(2), [{}])


# ------------------------------------------------------------------ --set, read by the contract


def test_settings_are_read_by_the_contracts_parsers() -> None:
    changes = deal_inputs.parse_changes(
        [
            "decision_maker_access=Yes",
            "formal_tender=n",
            "competitor_count= 1 ",
            "industry=  Retail ",
            "incumbent_vendor=",
            "created_date=2025-06-01",
            "required_capabilities=sso; api access",
        ]
    )
    assert changes["decision_maker_access"] is True and changes["formal_tender"] is False
    assert changes["competitor_count"] == 1.0 and changes["industry"] == "retail"
    assert np.isnan(changes["incumbent_vendor"])  # type: ignore[arg-type]
    assert changes["created_date"] == pd.Timestamp("2025-06-01")
    assert changes["required_capabilities"] == "sso; api access"


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("competitors=2", "unknown column 'competitors' (did you mean competitor_count?)"),
        ("blue=2", "unknown column 'blue' (canonical columns: created_date, "),
        ("competitor_count=many", "column 'competitor_count': not a number"),
        ("competitor_count=-1", "column 'competitor_count': must be >= 0"),
        ("formal_tender=perhaps", "column 'formal_tender': not a yes/no value"),
        ("created_date=31/12/2025", "column 'created_date': unparseable date"),
        ("employees=-3", "column 'employees': must be >= 0"),
        ("deal_id=D-1", "column 'deal_id' cannot change"),
        ("outcome=won", "column 'outcome' cannot change: only open deals are scored"),
        ("churn_date=2025-01-01", "known only after the close"),
        ("decision_maker_access", "expected COLUMN=VALUE"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_column_and_the_rule(setting: str, said: str) -> None:
    with pytest.raises(deal_inputs.BadChange) as raised:
        deal_inputs.parse_changes([setting])
    message = str(raised.value)
    assert said in message and "\n" not in message


def test_extra_columns_are_set_as_written_when_the_deal_has_them() -> None:
    deal = pd.DataFrame({"deal_id": ["D-1"], "x_competitor_type": ["incumbent"]})
    assert deal_inputs.parse_changes(["x_competitor_type= challenger "], deal) == {
        "x_competitor_type": "challenger"
    }
    assert deal_inputs.parse_changes(["x_anything=1"]) == {"x_anything": "1"}  # deal not read yet
    with pytest.raises(deal_inputs.BadChange, match="unknown column 'x_other'"):
        deal_inputs.parse_changes(["x_other=1"], deal)


# ------------------------------------------------------------------ finding the deal


def test_a_deal_absent_from_the_file_is_one_line_naming_the_file_and_column(
    pipeline: OpenPipeline,
) -> None:
    with pytest.raises(deal_inputs.DealNotFound) as raised:
        deal_inputs.find_deal(pipeline, "NOPE-1", "pipeline.csv")
    message = str(raised.value)
    assert message.startswith(
        "pipeline.csv, column 'Opportunity ID': no row holds deal id 'NOPE-1'"
    )
    assert "\n" not in message


def test_a_deal_whose_row_breaks_the_contract_is_one_line_naming_row_column_and_rule(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    raw = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    raw.loc[3, "Competitors"] = "-2"  # the 4th deal: row 5 of the file, after the header
    raw.to_csv(tmp_path / "pipeline.csv", index=False)
    deal_id = raw.loc[3, "Opportunity ID"]
    with pytest.raises(deal_inputs.DealNotFound) as raised:
        deal_inputs.find_deal(read(tmp_path / "pipeline.csv"), deal_id, "pipeline.csv")
    assert str(raised.value) == (
        f"deal '{deal_id}' cannot be scored: pipeline.csv, row 5, column 'Competitors': "
        "must be >= 0: '-2.0'"
    )


def test_a_closed_deal_cannot_be_explained(synthetic_dir: Path) -> None:
    history = read(synthetic_dir / "deals.csv")
    closed = history.rejects[history.rejects["reason"].str.contains("already closed")].iloc[0]
    with pytest.raises(deal_inputs.DealNotFound, match="already closed"):
        deal_inputs.find_deal(history, str(closed["deal_id"]), "deals.csv")
