"""Train and evaluate: the logic of ``notebooks/02-train-and-evaluate``.

The questions an analyst answers before trusting a model with a sales team, one function per
notebook cell so that the notebook holds no logic and every step is tested:

- which model: :func:`train_or_load` trains and registers with ``walkaway train``'s own job, or
  loads the champion (a :class:`~walkaway.analysis.review_common.ReviewModel`);
- is it better than something simple: :func:`holdout_metrics` against the baselines;
- can its probabilities be read as they are: :func:`reliability_figure`;
- what does it listen to: :func:`importance_figure` by sign, then a SHAP beeswarm inside each
  sign over the win holdout (:func:`holdout_deals`, :func:`sign_beeswarm_figures`);
- does it react as a seller would expect: a what-if on one deal (:func:`what_if_deal`,
  :func:`what_if_inputs`, :func:`what_if`, :func:`what_if_figure`; the deal itself is shown by
  :func:`~walkaway.analysis.review_common.deal_summary`).

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) on the win head's raw log-odds,
as in :mod:`walkaway.model.explanations`. Figures are built without pyplot, so none is left in
global state, and nothing runs at import.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis import plots
from walkaway.analysis.review_common import ReviewModel, matching_champion, train_and_register
from walkaway.model.walkaway_model import ModelEvaluation, WalkawayModel
from walkaway.serving.one_deal import score_variants
from walkaway.signs import SIGNS, TITLES

# The inputs a what-if moves, one per sign, and the sign each one speaks for. The product sets
# how much of the buyer's required capabilities we cover (need fit); it is also deal context.
WHAT_IF_SIGNS = {
    "incumbent_tenure_years": "glass_walls",
    "employees": "icp_fit",
    "industry": "icp_fit",
    "product": "need_fit",
    "required_capabilities": "need_fit",
}
WHAT_IF_LABELS = {
    "incumbent_tenure_years": "incumbent tenure (years)",
    "employees": "employees",
    "industry": "industry",
    "product": "product offered",
    "required_capabilities": "required capabilities",
}
TENURE_YEARS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0)
EMPLOYEES = (20.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 50000.0)
_Tried = TypeVar("_Tried", float, str)  # the values a what-if tries: numbers, or texts


# --------------------------------------------------------------------------------------------
# The model


def train_or_load(
    history: Path,
    models_dir: Path,
    mapping: str | Path | None = None,
    train: bool = True,
) -> ReviewModel:
    """Train and register a model on ``history``, or load the champion.

    The champion is loaded when ``train`` is False and it was trained on an export of the same
    mapping; otherwise a model is trained with :func:`walkaway.jobs.train_job` and registered
    in the MLflow store of ``models_dir`` (SQLite ``models_dir/mlflow.db`` unless
    ``MLFLOW_TRACKING_URI`` is set), where it becomes ``@champion`` if it is the first model or
    no worse than the champion on its holdout.

    Parameters
    ----------
    history
        The export folder (or deals file) to learn from.
    models_dir
        The MLflow store's folder.
    mapping
        A mapping file or shipped name; None detects it from the export's columns.
    train
        Train a new version even when a champion exists.

    Returns
    -------
    ReviewModel
        The model to review, and how it was obtained.
    """
    from walkaway.data.exports import resolve_mapping

    models_dir = Path(models_dir)
    wanted = resolve_mapping(Path(history), mapping).name
    why = "asked to train"
    if not train:
        loaded, why = matching_champion(models_dir, wanted)
        if loaded is not None:
            return loaded
    return train_and_register(history, models_dir, mapping, why)


# --------------------------------------------------------------------------------------------
# Evaluation


def _evaluation(model: WalkawayModel) -> ModelEvaluation:
    evaluation = getattr(model, "evaluation_", None)
    if not evaluation:
        raise ValueError(
            "this model carries no evaluation of its own: train it again with this version of "
            "walkaway to see its holdout metrics"
        )
    return evaluation


def holdout_metrics(model: WalkawayModel, decimals: int = 3) -> pd.DataFrame:
    """The model's holdout metrics beside the baselines, one row per (head, predictor).

    Both heads are judged on their newest deals, which they never learned from: the win head
    on the newest 20% of closed deals' snapshots (each deal at creation and at the landmark
    ages it was still open at), the regret head on the newest 20% of matured wins.
    Predictors: ``walkaway``, a ``logistic`` regression on the same features, the
    ``base_rate``, and ``truth`` (the true probabilities: the ceiling) for a synthetic export.

    Returns
    -------
    pandas.DataFrame
        ROC AUC, PR AUC, log loss, Brier, lift in the top decile, ECE and the calibration
        slope and intercept, rounded to ``decimals``.
    """
    metrics = _evaluation(model)["metrics"]
    return metrics.round(decimals)


def reliability_figure(model: WalkawayModel) -> Figure:
    """Reliability curves of both heads on their holdouts (:func:`walkaway.analysis.plots.calibration_figure`)."""
    return plots.calibration_figure(_evaluation(model)["calibration"])


def importance_figure(model: WalkawayModel) -> Figure:
    """Mean absolute effect of each sign on p_good over the win holdout
    (:func:`walkaway.analysis.plots.sign_importance_figure`)."""
    return plots.sign_importance_figure(_evaluation(model)["sign_importance"])


def holdout_deals(history: Path, mapping: str | Path | None = None) -> pd.DataFrame:
    """The deals of the win head's holdout, labelled (``won``), each once, as training splits
    them (the metrics score each at creation and at the landmark ages it was still open at).
    The holdout metrics come from a model fitted without them; the registered model is refit
    on every closed deal, these included.

    Parameters
    ----------
    history, mapping
        The export the model learned from, and its mapping (None: detected from its columns).

    Returns
    -------
    pandas.DataFrame
        One row per holdout deal, in the order training judges them.
    """
    from walkaway.data.exports import load_history
    from walkaway.model.training import split_holdouts

    labelled = load_history(Path(history), mapping).labelled()
    closed = labelled[labelled["won"].notna()]
    _, win_holdout, _ = split_holdouts(closed)
    return closed.loc[win_holdout["deal_row"].unique()]


def sign_features(model: WalkawayModel, sign: str) -> list[str]:
    """The features of one sign the model has values for (in its feature order)."""
    catalogue = model.feature_catalogue
    return [n for n in model.available_features_ if catalogue[n].sign == sign]


def sign_beeswarm_figures(
    model: WalkawayModel, deals: pd.DataFrame, max_display: int = 10, seed: int = 0
) -> dict[str, Figure]:
    """A SHAP beeswarm of the win head inside each sign, over ``deals``.

    Each dot is one deal: its feature's TreeSHAP contribution to the win head's log-odds
    (LightGBM ``pred_contrib``), coloured by the feature's value (high red, low blue; text
    features and missing values grey). Deals are featurised as at their creation, as in
    training. The ``shap`` package only draws. A sign the export has no inputs for gets a
    figure that says so.

    Returns
    -------
    dict
        Sign -> its figure.
    """
    shap = _import_shap()
    explained = model.explain(model.with_amounts(deals))
    contributions, X = explained["win_contrib"], explained["X"]
    catalogue = model.feature_catalogue
    figures = {}
    for sign in SIGNS:
        names = sign_features(model, sign)
        if not names:
            figures[sign] = _no_features_figure(sign)
            continue
        columns = [model.feature_names_.index(n) for n in names]
        data = X[names].rename(columns={n: catalogue[n].label for n in names})
        explanation = shap.Explanation(
            values=contributions[:, columns],
            base_values=contributions[:, -1],
            data=data,
            feature_names=list(data.columns),
        )
        figure = Figure(figsize=(8.0, 0.42 * min(len(names), max_display) + 1.6))
        axis = figure.subplots()
        with _pyplot_left_clean(), _seeded(seed):
            shap.plots.beeswarm(
                explanation, max_display=max_display, ax=axis, show=False, plot_size=None
            )
        axis.set_xlabel("contribution to the win head's log-odds (TreeSHAP)", fontsize=10)
        axis.set_title(f"{TITLES[sign].capitalize()}: what moves p_win, deal by deal", fontsize=11)
        axis.tick_params("y", labelsize=10)
        figure.tight_layout()
        figures[sign] = figure
    return figures


def _no_features_figure(sign: str) -> Figure:
    figure = Figure(figsize=(8.0, 1.2))
    axis = figure.subplots()
    axis.text(
        0.5,
        0.5,
        f"{TITLES[sign].capitalize()}: this export has no inputs for this sign",
        ha="center",
        va="center",
        fontsize=11,
        color="#5f6368",
    )
    axis.set_axis_off()
    return figure


def _import_shap() -> ModuleType:
    """shap, imported on first use (it is slow to import) without its own deprecation noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap
    return shap


class _pyplot_left_clean:
    """Close any pyplot figure a drawing library opens inside the block, so none leaks."""

    def __enter__(self) -> None:
        self.before = set(self._numbers())

    def __exit__(self, *exc: object) -> None:
        if "matplotlib.pyplot" in sys.modules:
            pyplot = sys.modules["matplotlib.pyplot"]
            for number in set(self._numbers()) - self.before:
                pyplot.close(number)

    @staticmethod
    def _numbers() -> list[int]:
        pyplot = sys.modules.get("matplotlib.pyplot")
        return list(pyplot.get_fignums()) if pyplot is not None else []


class _seeded:
    """NumPy's global random state seeded inside the block (shap jitters dots with it), and
    given back unchanged after it."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self) -> None:
        # shap draws from the legacy global generator, so that is the one to seed
        self.state = np.random.get_state()  # noqa: NPY002
        np.random.seed(self.seed)  # noqa: NPY002

    def __exit__(self, *exc: object) -> None:
        np.random.set_state(self.state)  # noqa: NPY002


# --------------------------------------------------------------------------------------------
# What-if


def what_if_deal(model: WalkawayModel, deals: pd.DataFrame) -> pd.DataFrame:
    """One deal to play what-if with: among deals with an incumbent rival and a known size and
    product, the one whose p_good is the median's nearest (an ordinary deal, not an extreme).

    Returns
    -------
    pandas.DataFrame
        One row of canonical deal columns. When no deal has all four inputs, the median deal of
        them all is taken.
    """
    known = pd.Series(True, index=deals.index)
    for column in ("incumbent_vendor", "incumbent_tenure_years", "employees", "product"):
        if column in deals:
            known &= deals[column].notna()
    candidates = deals[known] if known.any() else deals
    p = model.predict(candidates)["p_good"]
    chosen = (p - p.median()).abs().sort_values(kind="stable").index[0]
    return deals.loc[[chosen]]


def what_if_inputs(model: WalkawayModel, deal: pd.DataFrame) -> dict[str, list[float] | list[str]]:
    """Values to try for one input of each sign the model knows, the deal's own value included.

    - glass walls: the incumbent's tenure, 0 to 12 years;
    - ideal customer profile: the account's employees, 20 to 50,000;
    - need fit: the product offered (each product of the catalogue), which sets how much of
      the buyer's required capabilities we cover.

    Returns
    -------
    dict
        Canonical column -> the values to try, as :func:`what_if` takes them.
    """
    available = set(model.available_features_)
    row = deal.iloc[0]
    inputs: dict[str, list[float] | list[str]] = {}
    if "incumbent_tenure_years" in available:
        inputs["incumbent_tenure_years"] = _with_own(
            list(TENURE_YEARS), row, "incumbent_tenure_years"
        )
    if "employees" in available:
        inputs["employees"] = _with_own(list(EMPLOYEES), row, "employees")
    products = sorted(model.features_.named_transformers["need_fit"].capabilities_by_product_)
    if products and "capability_coverage" in available:
        inputs["product"] = _with_own(products, row, "product")
    return inputs


def _with_own(values: list[_Tried], row: pd.Series, column: str) -> list[_Tried]:
    # The data contract gives a number column numbers and a text column texts: the deal's own
    # value is of the kind tried.
    own: _Tried = row.get(column)
    if _missing(own):
        return values
    if isinstance(own, str):
        return values if own in values else values + [own]
    own = float(own)
    return values if own in values else sorted(values + [own])


def what_if(
    model: WalkawayModel,
    deal: pd.DataFrame,
    changes: Mapping[str, Sequence[object]],
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Re-score copies of one deal with one input changed at a time.

    The copies are scored by the what-if of ``walkaway whatif``
    (:func:`walkaway.serving.one_deal.score_variants`), one change each.

    Parameters
    ----------
    model
        A fitted model.
    deal
        One canonical deal (a one-row frame, with its account's columns joined).
    changes
        Canonical column -> the values to try (e.g. ``{"employees": [100, 1000]}``).
    as_of
        The scoring date; None scores the deal as at its creation (as training does).

    Returns
    -------
    pandas.DataFrame
        One row per (input, value): ``input``, ``sign``, ``value``, ``p_win``, ``p_regret``,
        ``p_good``, and ``own`` (True where the value is the deal's own, so p_good is the
        deal's own).
    """
    if len(deal) != 1:
        raise ValueError(f"a what-if changes one deal, got {len(deal)}")
    row = deal.iloc[0]
    variants: list[dict[str, object]] = []
    keys = []
    for column, values in changes.items():
        for value in values:
            variants.append({column: value})
            own = row.get(column)
            same = (own == value) if not _missing(own) else _missing(value)
            keys.append((column, WHAT_IF_SIGNS.get(column, ""), value, bool(same)))
    if not variants:
        return pd.DataFrame(
            columns=["input", "sign", "value", "p_win", "p_regret", "p_good", "own"]
        )
    scored = score_variants(model, deal, variants, as_of)
    table = pd.DataFrame(keys, columns=["input", "sign", "value", "own"])
    for column in ("p_win", "p_regret", "p_good"):
        table[column] = scored[column].to_numpy()
    return table[["input", "sign", "value", "p_win", "p_regret", "p_good", "own"]]


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def what_if_figure(table: pd.DataFrame, own_p_good: float | None = None) -> Figure:
    """One panel per input: p_good as the input moves, the deal's own value marked.

    Numeric inputs are lines (a log scale for values spanning more than 50 times); text inputs
    are bars. A dashed line marks the deal's own p_good (from its own row, or ``own_p_good``).

    Examples
    --------
    >>> table = pd.DataFrame({"input": ["employees"] * 3, "sign": ["icp_fit"] * 3,
    ...     "value": [100.0, 1000.0, 5000.0], "p_win": [0.2, 0.3, 0.25],
    ...     "p_regret": [0.3, 0.1, 0.2], "p_good": [0.14, 0.27, 0.2], "own": [False, True, False]})
    >>> len(what_if_figure(table).axes)
    1
    """
    inputs = list(dict.fromkeys(table["input"]))
    figure = Figure(figsize=(4.4 * max(1, len(inputs)), 3.9), layout="constrained")
    axes = figure.subplots(1, max(1, len(inputs)), squeeze=False)[0]
    own_rows = table[table["own"]]
    if own_p_good is None and len(own_rows):
        own_p_good = float(own_rows["p_good"].iloc[0])
    for axis, name in zip(axes, inputs, strict=False):
        rows = table[table["input"] == name]
        sign = rows["sign"].iloc[0]
        shade = plots.SIGN_COLOURS.get(sign, "#8c8c8c")
        numeric = pd.to_numeric(rows["value"], errors="coerce")
        if numeric.notna().all():
            order = numeric.sort_values().index
            x, y = numeric[order].to_numpy(float), rows.loc[order, "p_good"].to_numpy(float)
            axis.plot(x, 100 * y, color=shade, marker="o", linewidth=1.6)
            if x.min() > 0 and x.max() / x.min() > 50:
                axis.set_xscale("log")
            mine = rows[rows["own"]]
            if len(mine):
                axis.plot(
                    pd.to_numeric(mine["value"]).to_numpy(float),
                    100 * mine["p_good"].to_numpy(float),
                    marker="o",
                    markersize=11,
                    markerfacecolor="none",
                    markeredgecolor="#202124",
                    linestyle="none",
                    label="this deal as it is",
                )
        else:
            names = rows["value"].astype(str).to_numpy()
            heights = 100 * rows["p_good"].to_numpy(float)
            edge = ["#202124" if own else shade for own in rows["own"]]
            axis.bar(
                names,
                heights,
                color=shade,
                edgecolor=edge,
                linewidth=[2.2 if o else 0 for o in rows["own"]],
            )
            axis.tick_params("x", rotation=30)
        if own_p_good is not None:
            axis.axhline(100 * own_p_good, color="#5f6368", linestyle="--", linewidth=1)
        axis.set_title(
            f"{TITLES.get(sign, sign)}: {WHAT_IF_LABELS.get(name, name)}", fontsize=10, loc="left"
        )
        axis.set_ylabel("p_good (%)")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle(
        "What-if: p_good as one input changes, everything else held (dashed: this deal)",
        fontsize=11,
    )
    return figure
