"""A questionnaire-style export handed over as it comes (issue 12): semicolons, decimal commas,
no id, no amount, no dates, 21 Yes/No and category answers with a known effect on winning.

Its mapping is drafted by `walkaway mapping init` and used unedited; walkaway is trained as
`walkaway train` trains it and judged on its (stratified) win holdout against a LightGBM with
library defaults on the one-hot answers, fitted on exactly walkaway's training rows
(:func:`walkaway.model.training.split_holdouts`). The tests build the same export
(``tests/test_exports_as_they_come.py``)::

    .venv/bin/python -m benchmarks.questionnaire --deals 1500 --seed 2 [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from walkaway.data.drafting.draft import draft_mapping
from walkaway.data.exports import load_history
from walkaway.data.history import History
from walkaway.model.training import TrainingResult, split_holdouts, train_and_evaluate

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
ANSWERS = (*YES_NO, *CATEGORIES, "Discount %")


def questionnaire(n: int, seed: int, outcome: bool = True) -> pd.DataFrame:
    """The export's rows: Yes/No and category answers and a discount written with a decimal
    comma; winning depends on them as :data:`YES_NO` and :data:`CATEGORIES` say. Without
    ``outcome`` every row is an open deal."""
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


def write_questionnaire(folder: Path, deals: int, seed: int, open_deals: int = 120) -> Path:
    """The export as its owner hands it over (``deals.csv``, ``open.csv``, ';'-separated) and
    the mapping `walkaway mapping init` drafts for it, beside it, unedited."""
    folder.mkdir(parents=True, exist_ok=True)
    questionnaire(deals, seed).to_csv(folder / "deals.csv", sep=";", index=False)
    opened = questionnaire(open_deals, seed + 1, outcome=False)
    opened.to_csv(folder / "open.csv", sep=";", index=False)
    (folder / "mapping.yaml").write_text(draft_mapping(folder / "deals.csv").to_yaml())
    return folder


@dataclass
class Comparison:
    walkaway_auc: float
    one_hot_auc: float
    holdout: int
    result: TrainingResult


def compare_with_one_hot(history: History) -> Comparison:
    """walkaway's win-holdout ROC AUC and a default LightGBM's on the one-hot answers, fitted
    on walkaway's training rows and judged on its holdout."""
    result = train_and_evaluate(history)
    labelled = history.labelled()
    train, holdout, _ = split_holdouts(labelled[labelled["won"].notna()])
    source = {v: k for k, v in history.mapping.source_names("deals").items()}

    def one_hot(frame: pd.DataFrame) -> pd.DataFrame:
        columns = frame[[source[a] for a in ANSWERS]].astype(str)
        columns["discount"] = columns.pop(source["Discount %"]).astype(float)  # a number
        dummies = pd.get_dummies(columns, dtype=float)
        return dummies.set_axis([f"f{i}" for i in range(dummies.shape[1])], axis=1)

    both = one_hot(pd.concat([train, holdout], keys=["train", "holdout"]))
    peer = lgb.LGBMClassifier(verbose=-1, random_state=0)
    peer.fit(both.loc["train"], train["won"].astype(int))
    y = holdout["won"].astype(int).to_numpy()
    return Comparison(
        walkaway_auc=float(roc_auc_score(y, result.win.predictions["walkaway"])),
        one_hot_auc=float(roc_auc_score(y, peer.predict_proba(both.loc["holdout"])[:, 1])),
        holdout=len(y),
        result=result,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_500)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the export (and its drafted mapping) here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        export = write_questionnaire(args.out or Path(folder) / "survey", args.deals, args.seed)
        comparison = compare_with_one_hot(load_history(export))
    importance = comparison.result.sign_importance()
    print(f"Questionnaire export: {args.deals:,} deals, seed {args.seed}, mapping drafted unedited")
    print(
        f"Win holdout ({comparison.holdout:,} deals, stratified: no dates): walkaway ROC AUC "
        f"{comparison.walkaway_auc:.4f}, one-hot LightGBM {comparison.one_hot_auc:.4f} "
        f"(gap {comparison.walkaway_auc - comparison.one_hot_auc:+.4f})"
    )
    print(
        "Mean |effect on p_good| over the win holdout: "
        + ", ".join(f"{sign} {points:.1f} pts" for sign, points in importance.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
