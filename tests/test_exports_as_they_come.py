"""Exports as they come (issue 12): a Salesforce-like export with its own column names and US
dates, trained with ``--mapping`` and scored without it, reads the way training read it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from walkaway.cli import main
from walkaway.mapping import load_mapping
from walkaway.synth import write_synthetic_history

# The synthetic export's columns under the names another company's CRM gives them.
OWN_NAMES = {
    "Opportunity ID": "Opp Ref",
    "Account ID": "Customer Ref",
    "Created Date": "Opened On",
    "Close Date": "Closed On",
    "Stage": "Pipeline Stage",
    "Amount": "Deal Value (USD)",
    "Sales Region": "Territory",
}
DATES = ("Created Date", "Close Date", "Churn Date")


def rename_export(source: Path, target: Path) -> None:
    """Copy a synthetic export under OWN_NAMES with month-first dates."""
    target.mkdir()
    for name in ("deals.csv", "pipeline.csv", "accounts.csv", "products.csv"):
        frame = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        for column in DATES:
            if column in frame:
                day = pd.to_datetime(frame[column], format="%d/%m/%Y", errors="coerce")
                frame[column] = day.dt.strftime("%m/%d/%Y").where(day.notna(), frame[column])
        frame.rename(columns=OWN_NAMES).to_csv(target / name, index=False)


def own_mapping(path: Path) -> Path:
    document = load_mapping("synthetic-crm").to_document()
    document["name"] = "acme-crm"
    document["date_format"] = "%m/%d/%Y"
    for table in document["tables"].values():
        table["columns"] = {k: OWN_NAMES.get(v, v) for k, v in table["columns"].items()}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The renamed export, its mapping kept apart from it, and a store trained with both."""
    root = tmp_path_factory.mktemp("acme")
    write_synthetic_history(root / "synthetic", n_deals=1_500, seed=5)
    rename_export(root / "synthetic", root / "export")
    mapping = own_mapping(root / "acme-crm.yaml")
    models = root / "models"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        args = ["train", "--history", str(root / "export"), "--mapping", str(mapping)]
        assert main([*args, "--models-dir", str(models)]) == 0
    return {"root": root, "export": root / "export", "mapping": mapping, "models": models}


def score(deals: Path, out: Path, models: Path, *extra: str) -> int:
    args = ["score", "--deals", str(deals), "--out", str(out), "--models-dir", str(models)]
    return main([*args, "--as-of", "2025-12-31", *extra])


def test_scored_without_mapping_it_reads_with_the_one_it_was_trained_with(
    acme: dict[str, Path], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = acme["root"] / "scored.csv"
    assert score(acme["export"] / "pipeline.csv", out, acme["models"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Mapping: acme-crm (the mapping the model was trained with)" in printed

    # The same pipeline under its original names and mapping: the same deals are scored.
    original = acme["root"] / "original.csv"
    given = ("--mapping", "synthetic-crm")
    assert score(acme["root"] / "synthetic" / "pipeline.csv", original, acme["models"], *given) == 0
    scored = pd.read_csv(out)
    assert len(scored) > 150
    assert scored["deal_id"].tolist() == pd.read_csv(original)["deal_id"].tolist()
    rejects = pd.read_csv(acme["root"] / "scored.csv.rejects.csv")
    assert not rejects["reason"].str.contains("date").any()


def test_a_wrong_mapping_given_by_hand_says_which_and_why_everything_was_rejected(
    acme: dict[str, Path], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    deals = acme["export"] / "pipeline.csv"
    out = acme["root"] / "wrong.csv"
    assert score(deals, out, acme["models"], "--mapping", "salesforce-opportunity") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "missing required column 'Id' (deal_id)" in err
    assert "of the mapping salesforce-opportunity (given with --mapping)" in err


# --------------------------------------------------------------------------- a questionnaire

YES_NO = {  # column -> effect on the log-odds of winning when "Yes"
    "Competitors present": -0.5,
    "Incumbent supplier": -1.0,
    "Formal tender": -0.6,
    "RFI issued": -0.3,
    "Decision maker met": 0.8,
    "Executive sponsor": 0.5,
    "Needs documented": 0.6,
    "Customisation needed": -0.6,
    "Integration required": -0.3,
    "Trial requested": 0.4,
    "Budget confirmed": 0.7,
    "Reference customer": 0.3,
}
CATEGORIES = {  # column -> {value: effect}
    "Customer status": {"New": -0.4, "Current": 0.6, "Past": -0.2},
    "Industry": {"Retail": 0.4, "Banking": -0.3, "Health": 0.3, "Public": -0.6, "Energy": 0.0},
    "Company size": {"Small": -0.3, "Medium": 0.2, "Large": 0.3},
    "Region": {"NA": 0.0, "EMEA": 0.1, "APAC": -0.1, "LATAM": 0.0},
    "Product line": {"Core": 0.2, "Plus": 0.0, "Suite": -0.2},
    "Lead source": {"Referral": 0.5, "Web": 0.0, "Event": -0.1, "Outbound": -0.3},
    "Contract type": {"Subscription": 0.1, "Perpetual": -0.1},
    "Buying stage at first call": {"Exploring": -0.4, "Evaluating": 0.2, "Deciding": 0.3},
}


def questionnaire(n: int, seed: int, outcome: bool = True) -> pd.DataFrame:
    """A small real-B2B-like export: Yes/No and category answers, a discount with a decimal
    comma; no id, no amount, no dates. Winning depends on the answers as the tables say."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(index=range(n))
    logit = np.full(n, -0.3)
    for column, effect in YES_NO.items():
        yes = rng.random(n) < 0.45
        frame[column] = np.where(yes, "Yes", "No")
        logit += effect * yes
    for column, effects in CATEGORIES.items():
        values = rng.choice(list(effects), n)
        frame[column] = values
        logit += np.array([effects[v] for v in values])
    discount = rng.uniform(0, 30, n)
    frame["Discount %"] = [f"{d:.1f}".replace(".", ",") for d in discount]
    logit += -0.03 * (discount - 15)
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    label = np.where(won, "Won", "Lost") if outcome else np.full(n, "Open")
    frame.insert(0, "Outcome", label)
    return frame


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The questionnaire export as its owner would hand it over, with its drafted mapping."""
    from walkaway.mapping_draft import draft_mapping

    folder = tmp_path_factory.mktemp("survey")
    questionnaire(1_500, seed=2).to_csv(folder / "deals.csv", sep=";", index=False)
    questionnaire(120, seed=3, outcome=False).to_csv(folder / "open.csv", sep=";", index=False)
    (folder / "mapping.yaml").write_text(draft_mapping(folder / "deals.csv").to_yaml())
    return folder


def test_a_questionnaire_drafts_a_mapping_that_trains_unedited(survey: Path) -> None:
    from walkaway.exports import load_history
    from walkaway.mapping import load_mapping

    mapping = load_mapping(survey / "mapping.yaml")
    deals = mapping.tables["deals"]
    assert (mapping.delimiter, mapping.decimal, mapping.dated) == (";", ",", False)
    assert deals.id_from == ("row_number",)
    assert "account_id" not in deals.columns, "a 3-value status names no account"
    assert deals.columns["formal_tender"] == "Formal tender", "the exact name beats 'RFI'"
    assert "incumbent_vendor" not in deals.columns, "Yes/No says a rival bids, not who"
    mapped = set(deals.columns.values()) | set(deals.features)
    every = set(questionnaire(5, seed=0).columns)
    assert every <= mapped, f"left out: {sorted(every - mapped)}"
    history = load_history(survey)
    assert history.deals["x_discount"].astype(float).between(0, 30).all()
    assert history.deals.loc[history.deals["region"].eq("na")].shape[0] > 0


def test_a_questionnaire_model_is_as_good_as_one_hot_lightgbm_and_uses_every_sign(
    survey: Path,
) -> None:
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    from walkaway.exports import load_history
    from walkaway.training import split_holdouts, train_and_evaluate

    history = load_history(survey)
    result = train_and_evaluate(history)
    labelled = history.labelled()
    train, holdout, _ = split_holdouts(labelled[labelled["won"].notna()])
    answers = [c for c in questionnaire(5, seed=0).columns if c != "Outcome"]
    source = {v: k for k, v in history.mapping.source_names("deals").items()}

    def one_hot(frame: pd.DataFrame) -> pd.DataFrame:
        columns = frame[[source[a] for a in answers]].astype(str)
        columns["discount"] = columns.pop(source["Discount %"]).astype(float)  # a number
        dummies = pd.get_dummies(columns, dtype=float)
        return dummies.set_axis([f"f{i}" for i in range(dummies.shape[1])], axis=1)

    both = one_hot(pd.concat([train, holdout], keys=["train", "holdout"]))
    X_train, X_holdout = both.loc["train"], both.loc["holdout"]
    peer = lgb.LGBMClassifier(verbose=-1, random_state=0).fit(X_train, train["won"].astype(int))
    y = holdout["won"].astype(int).to_numpy()
    peer_auc = roc_auc_score(y, peer.predict_proba(X_holdout)[:, 1])
    walkaway_auc = roc_auc_score(y, result.win.predictions["walkaway"])
    assert walkaway_auc >= peer_auc - 0.02, (walkaway_auc, peer_auc)
    importance = result.sign_importance()
    assert all(importance[sign] > 0 for sign in ("glass_walls", "icp_fit", "need_fit"))


def test_a_questionnaire_trains_and_scores_on_the_command_line(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    models = tmp_path / "models"
    assert main(["train", "--history", str(survey), "--models-dir", str(models)]) == 0
    out = tmp_path / "scored.csv"
    assert score(survey / "open.csv", out, models) == 0
    scored = pd.read_csv(out)
    assert len(scored) == 120
    assert scored["deal_id"].iloc[0] == "row-2"
    reasons = scored[[c for c in scored if c.startswith("reasons_")]].fillna("").agg(" ".join, 1)
    assert reasons.str.contains(r"Customer status: (?:New|Current|Past)").any(), "as spelled"
    assert not reasons.str.contains(r"Customer status: (?:new|current|past)").any()
