"""The analysts' review: every step of the train-and-evaluate and pipeline-review notebooks.

The notebooks in ``notebooks/`` hold no logic of their own: each cell calls one function here
and shows what it returns (a table or a :class:`~matplotlib.figure.Figure`). Nothing is done at
import time, and no figure goes through pyplot, so no figure is left behind in global state.

Both notebooks start with :func:`ensure_demo_export` (the demo export on a fresh clone), then
two groups of steps:

- **train and evaluate** (notebook 02): :func:`train_or_load` a model, its
  :func:`holdout_metrics` against the baselines, its :func:`reliability_figure` and
  :func:`importance_figure`, a SHAP beeswarm inside each sign (:func:`sign_beeswarm_figures`)
  and a what-if for one deal (:func:`what_if_deal`, :func:`deal_summary`,
  :func:`what_if_inputs`, :func:`what_if`, :func:`what_if_figure`);
- **review the pipeline** (notebook 03): :func:`champion_or_train`, :func:`open_deals`,
  :func:`scoring_date`, :func:`score_open_deals`, the :func:`recommendation_mix` and its
  figure, the :func:`deal_list` of a recommendation with its :func:`list_caption`, one deal's
  :func:`waterfall` by sign and by feature (:func:`deal_to_explain`,
  :func:`waterfall_figure`), and :func:`write_for_crm`.

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) on each head's raw log-odds, as
in :mod:`walkaway.model.explanations`: per deal they add up, with the bias, to the head's margin.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis import plots
from walkaway.model.explanations import explain_p_good
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.pipeline_digest import top_by_amount
from walkaway.serving.report import colour, compact, label
from walkaway.signs import GROUPS, SIGNS, TITLES, day_text

if TYPE_CHECKING:  # MLflow is only loaded when a step needs the registry
    from walkaway.model.training import TrainingResult
    from walkaway.serving.batch import BatchResult

DEMO_DEALS = 5000
DEMO_SEED = 7
TABLE_SUFFIXES = (".csv", ".gz", ".parquet", ".pq")
LIST_COLUMNS = (
    "deal_id",
    "account_id",
    "amount",
    "p_win",
    "p_regret",
    "p_good",
    *(f"effect_{s}" for s in SIGNS),
    *(f"reasons_{s}" for s in SIGNS),
    "recommendation",
    "recommendation_reason",
)
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
HEAD_TITLES = {"win": "win head: log-odds of winning", "regret": "regret head: log-odds of regret"}


# --------------------------------------------------------------------------------------------
# The demo export and the model


def _registry() -> ModuleType:
    """:mod:`walkaway.serving.registry`, imported on first use. MLflow imports ``tqdm.auto``, which in
    a notebook without ipywidgets warns that it cannot draw widgets; walkaway draws no progress
    bar in a notebook, so that warning is noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        from walkaway.serving import registry
    return registry


def ensure_demo_export(folder: Path, deals: int = DEMO_DEALS, seed: int = DEMO_SEED) -> str:
    """Write the synthetic demo export into ``folder`` when it holds no export yet.

    The writing is :func:`walkaway.analysis.exploration.ensure_demo_export`'s (the same export as
    ``make demo``). This guard adds one rule: a folder holding any CSV or Parquet file is an
    export already and is only read, whatever its deals file is called, so pointing a notebook
    at a real export (Maven's ``sales_pipeline.csv`` beside its ``accounts.csv``) never writes
    demo files into it.

    Parameters
    ----------
    folder
        The export folder (created when missing).
    deals, seed
        Size and seed of the synthetic history (see :func:`walkaway.data.synth.write_synthetic_history`).

    Returns
    -------
    str
        What was found or written, in one sentence.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first = ensure_demo_export(Path(tmp) / "crm", deals=300, seed=1)
    ...     second = ensure_demo_export(Path(tmp) / "crm", deals=300, seed=1)
    >>> first.split(":")[0], second.split(":")[0]
    ('wrote the synthetic demo export of 300 deals (seed 1)', 'using the export in place')
    """
    from walkaway.analysis.exploration import ensure_demo_export as write_demo_export

    folder = Path(folder)
    tables = _table_files(folder)
    if tables:
        return f"using the export in place: {folder} ({', '.join(p.name for p in tables)})"
    write_demo_export(folder, n_deals=deals, seed=seed)
    written = ", ".join(p.name for p in _table_files(folder))
    return f"wrote the synthetic demo export of {deals:,} deals (seed {seed}): {folder} ({written})"


def _table_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES)
    )


@dataclass
class ReviewModel:
    """A model to review with, and where it came from.

    Attributes
    ----------
    model
        The fitted walkaway model (both heads, features, policy and its own evaluation).
    name, version
        Its registered name and version in MLflow; None when it was trained here and not
        registered.
    trained_on
        The mapping of the export it learned from (``synthetic-crm``, ``maven-crm``...).
    story
        How it was obtained, in words (trained, loaded, why).
    tracking_uri
        The MLflow store it is registered in, or would have been.
    result
        The training run's result when the model was trained in this session, else None.
    """

    model: WalkawayModel
    name: str | None
    version: int | None
    trained_on: str | None
    story: str
    tracking_uri: str
    result: TrainingResult | None = None

    @property
    def label(self) -> str:
        """``walkaway v3``, or ``walkaway (not registered)``."""
        if self.version is None:
            return f"{self.name or 'walkaway'} (not registered)"
        return f"{self.name} v{self.version}"

    def summary(self) -> pd.DataFrame:
        """The model's name, version, origin and store, for display (one column)."""
        return pd.Series(
            {
                "model": self.label,
                "trained on (mapping)": self.trained_on or "unknown",
                "trained until": day_text(getattr(self.model, "trained_until_", pd.NaT), "unknown"),
                "how": self.story,
                "MLflow store": self.tracking_uri,
            },
            name="model",
        ).to_frame()


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
    """
    from walkaway.data.exports import resolve_mapping

    models_dir = Path(models_dir)
    wanted = resolve_mapping(Path(history), mapping).name
    why = "asked to train"
    if not train:
        loaded, why = _matching_champion(models_dir, wanted)
        if loaded is not None:
            return loaded
    return _train_and_register(history, models_dir, mapping, why)


def champion_or_train(
    history: Path, models_dir: Path, mapping: str | Path | None = None
) -> ReviewModel:
    """The champion to score with, or a model trained on ``history`` when there is none fit.

    - A champion trained on an export of the same mapping is loaded.
    - With no champion at all, a model is trained and registered (it becomes the champion).
    - A champion trained on another kind of export (another mapping) is left alone: a model
      is trained here, in memory, and not registered, so that reviewing one export never
      replaces the champion of another.
    """
    registry = _registry()
    from walkaway.data.exports import load_history, resolve_mapping
    from walkaway.model.training import train_and_evaluate

    models_dir = Path(models_dir)
    wanted = resolve_mapping(Path(history), mapping).name
    loaded, why = _matching_champion(models_dir, wanted)
    if loaded is not None:
        return loaded
    if registry.champion_version(models_dir=models_dir) is None:
        return _train_and_register(history, models_dir, mapping, why)
    result = train_and_evaluate(load_history(Path(history), mapping))
    return ReviewModel(
        result.model,
        None,
        None,
        wanted,
        f"trained here on {history}, not registered: {why}",
        registry.tracking_uri(models_dir),
        result,
    )


def _matching_champion(models_dir: Path, wanted: str) -> tuple[ReviewModel | None, str]:
    """The champion when it learned from an export of mapping ``wanted``; else why not."""
    registry = _registry()

    version = registry.champion_version(models_dir=models_dir)
    if version is None:
        return None, f"the MLflow store {registry.tracking_uri(models_dir)} has no champion yet"
    loaded = registry.load_model(models_dir=models_dir)
    trained_on = _training_mapping(loaded, models_dir)
    if trained_on is not None and trained_on != wanted:
        return None, (
            f"the champion (version {version}) learned from a '{trained_on}' export, "
            f"not a '{wanted}' one"
        )
    model = ReviewModel(
        loaded.model,
        loaded.name,
        loaded.version,
        trained_on,
        f"loaded @champion (version {loaded.version}) from the MLflow registry",
        registry.tracking_uri(models_dir),
    )
    return model, ""


def _training_mapping(loaded: object, models_dir: Path) -> str | None:
    """The mapping a registered model's training run read its export with (a run param)."""
    registry = _registry()

    try:
        run_id = loaded.pyfunc.metadata.run_id  # type: ignore[attr-defined]
        return registry.connect(models_dir).get_run(run_id).data.params.get("mapping")
    except Exception:  # an older run without the param, or a store that cannot say
        return None


def _train_and_register(
    history: Path, models_dir: Path, mapping: str | Path | None, why: str
) -> ReviewModel:
    registry = _registry()
    from walkaway.jobs import train_job

    run = train_job(Path(history), mapping, models_dir=models_dir)
    registered = run.registered
    return ReviewModel(
        run.result.model,
        registry.MODEL_NAME,
        registered.version,
        run.mapping,
        f"trained on {history} in {run.seconds:.0f} s ({why}) and registered: "
        f"{registered.decision}",
        registered.tracking_uri,
        run.result,
    )


# --------------------------------------------------------------------------------------------
# Evaluation


def _evaluation(model: WalkawayModel) -> dict[str, object]:
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
    on every closed deal, these included."""
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


def _import_shap() -> object:
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

    Returns a one-row frame of canonical deal columns. When no deal has all four inputs, the
    median deal of them all is taken.
    """
    known = pd.Series(True, index=deals.index)
    for column in ("incumbent_vendor", "incumbent_tenure_years", "employees", "product"):
        if column in deals:
            known &= deals[column].notna()
    candidates = deals[known] if known.any() else deals
    p = model.predict(candidates)["p_good"]
    chosen = (p - p.median()).abs().sort_values(kind="stable").index[0]
    return deals.loc[[chosen]]


def deal_summary(
    model: WalkawayModel, deal: pd.DataFrame, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """One deal at a glance (one column, named by its id): its amount, what the model knows of
    it inside each sign (every input in words), and its scores and recommendation.

    ``as_of`` is the scoring date; None scores the deal as at its creation (as training does).
    """
    if len(deal) != 1:
        raise ValueError(f"a summary is of one deal, got {len(deal)}")
    deal = model.with_amounts(deal)
    raw = model.featurise(deal, as_of).iloc[0]
    scores = model.predict(deal, as_of=as_of).iloc[0]
    catalogue = model.feature_catalogue
    facts: dict[str, object] = {
        "deal_id": deal["deal_id"].iloc[0],
        "amount": deal["amount"].iloc[0] if "amount" in deal else np.nan,
    }
    if "outcome" in deal:
        facts["outcome"] = deal["outcome"].iloc[0]
    for group in GROUPS:
        names = [n for n in model.available_features_ if catalogue[n].sign == group]
        facts[TITLES[group]] = "; ".join(catalogue[n].describe(raw[n]) for n in names) or "–"
    for column in ("p_win", "p_regret", "p_good", "recommendation", "recommendation_reason"):
        facts[column] = scores[column]
    return pd.Series(facts, name=str(facts["deal_id"]), dtype=object).to_frame()


def what_if_inputs(model: WalkawayModel, deal: pd.DataFrame) -> dict[str, list[object]]:
    """Values to try for one input of each sign the model knows, the deal's own value included.

    - glass walls: the incumbent's tenure, 0 to 12 years;
    - ideal customer profile: the account's employees, 20 to 50,000;
    - need fit: the product offered (each product of the catalogue), which sets how much of
      the buyer's required capabilities we cover.
    """
    available = set(model.available_features_)
    row = deal.iloc[0]
    inputs: dict[str, list[object]] = {}
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


def _with_own(values: list[object], row: pd.Series, column: str) -> list[object]:
    own = row.get(column)
    if _missing(own):
        return values
    own = own if isinstance(own, str) else float(own)
    if own in values:
        return values
    merged = [*values, own]
    return merged if isinstance(own, str) else sorted(merged)


def what_if(
    model: WalkawayModel,
    deal: pd.DataFrame,
    changes: dict[str, list[object]],
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Re-score copies of one deal with one input changed at a time.

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
    copies, keys = [], []
    for column, values in changes.items():
        for value in values:
            copy = deal.reset_index(drop=True).copy()
            copy[column] = [value]
            copies.append(copy)
            own = row.get(column)
            same = (own == value) if not _missing(own) else _missing(value)
            keys.append((column, WHAT_IF_SIGNS.get(column, ""), value, bool(same)))
    if not copies:
        return pd.DataFrame(
            columns=["input", "sign", "value", "p_win", "p_regret", "p_good", "own"]
        )
    scored = model.predict(pd.concat(copies, ignore_index=True), as_of=as_of)
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


# --------------------------------------------------------------------------------------------
# The open pipeline


def scoring_date(
    history: Path, mapping: str | Path | None = None, as_of: object = None
) -> pd.Timestamp:
    """The day open deals are scored as at: ``as_of`` when given, else the day the export was
    taken (its latest date), so an old export is not scored as if today.
    """
    if as_of is not None:
        return pd.Timestamp(as_of).normalize()
    from walkaway.data.exports import load_history

    date = load_history(Path(history), mapping).export_date
    return pd.Timestamp.now().normalize() if pd.isna(date) else date


@dataclass
class OpenDeals:
    """The open deals of a pipeline file in canonical form, and the rows left out.

    Attributes
    ----------
    deals
        Canonical open deals with their account's firmographics (and related tables) joined.
    rejects
        One row per row left out: ``row`` (as a spreadsheet numbers it), ``deal_id`` and
        ``reason`` (broken rules, or an already closed deal).
    source
        The pipeline file.
    mapping
        The mapping it was read with.
    """

    deals: pd.DataFrame
    rejects: pd.DataFrame
    source: Path
    mapping: str

    def summary(self) -> pd.DataFrame:
        """Rows read, open deals kept and rows left out, for display (one column)."""
        return pd.Series(
            {
                "file": str(self.source),
                "mapping": self.mapping,
                "rows read": len(self.deals) + len(self.rejects),
                "open deals": len(self.deals),
                "left out": len(self.rejects),
            },
            name="pipeline",
        ).to_frame()

    def deal(self, deal_id: str) -> pd.DataFrame:
        """One open deal by id, as a one-row frame."""
        found = self.deals[self.deals["deal_id"] == deal_id]
        if found.empty:
            raise KeyError(f"no open deal {deal_id!r} in {self.source.name}")
        return found.head(1)


def open_deals(pipeline: Path, mapping: str | Path | None = None) -> OpenDeals:
    """Read a pipeline export: its open deals in canonical form, joined with their accounts.

    Rows breaking the contract and deals already closed are left out, with their reasons, as
    the batch job (:func:`walkaway.serving.batch.score_file`) does.
    """
    from walkaway.data.exports import load_related, read_checked, resolve_mapping
    from walkaway.data.history import join_accounts, join_related
    from walkaway.serving.batch import load_accounts

    pipeline = Path(pipeline)
    chosen = resolve_mapping(pipeline, mapping)
    checked = read_checked(pipeline, chosen, "deals")
    frame = checked.frame
    closed = frame["outcome"].isin(["won", "lost"])
    reasons: dict[int, list[str]] = {}
    for problem in checked.problems:
        reasons.setdefault(int(problem.row or 0), []).append(problem.reason)
    for row, outcome in frame.loc[closed, "outcome"].items():
        reasons.setdefault(int(row), []).append(
            f"already closed ({outcome}): only open deals are scored"
        )
    ids = frame["deal_id"].reindex(sorted(reasons))
    rejects = pd.DataFrame(
        {
            "row": sorted(reasons),
            "deal_id": ids.to_numpy(dtype=object),
            "reason": ["; ".join(reasons[r]) for r in sorted(reasons)],
        }
    )
    kept = frame[~closed]
    accounts = None
    if "accounts" in chosen.tables:
        beside = pipeline.parent / chosen.tables["accounts"].file
        if beside.is_file() and beside != pipeline:
            accounts, _ = load_accounts(beside, chosen)
    deals, _ = join_related(join_accounts(kept, accounts), load_related(pipeline.parent, chosen))
    if accounts is not None:
        deals["account_found"] = kept["account_id"].isin(accounts["account_id"])
    return OpenDeals(deals, rejects, pipeline, chosen.name)


def score_open_deals(reviewed: ReviewModel, deals: OpenDeals, as_of: pd.Timestamp) -> pd.DataFrame:
    """Scores, sign effects, reasons and recommendation of each open deal
    (:func:`walkaway.serving.scoring.score_deals`), with the model's name and version."""
    from walkaway.serving.scoring import score_deals

    scores = score_deals(reviewed.model, deals.deals, as_of).reset_index(drop=True)
    scores["model_name"] = reviewed.name
    scores["model_version"] = reviewed.version
    return scores


def recommendation_mix(scores: pd.DataFrame) -> pd.DataFrame:
    """Deals and pipeline value per recommendation, with their shares.

    Every known recommendation is listed, in policy order, even without deals. Value is the sum
    of amounts (a missing amount counts as 0); ``good_value`` is the sum of p_good x amount.

    Examples
    --------
    >>> scores = pd.DataFrame({"recommendation": ["pursue", "walk_away", "walk_away"],
    ...                        "amount": [100.0, 50.0, None], "p_good": [0.5, 0.1, 0.2]})
    >>> mix = recommendation_mix(scores)
    >>> mix["deals"].tolist(), mix["value"].tolist()
    ([1, 0, 0, 2, 0], [100.0, 0.0, 0.0, 50.0, 0.0])
    >>> mix["value_share"].round(3).tolist()
    [0.667, 0.0, 0.0, 0.333, 0.0]
    >>> mix.index.tolist()
    ['pursue', 'compete', 'keep_presence', 'walk_away', 'qualify']
    """
    recommendation = (
        scores["recommendation"].astype(object).where(scores["recommendation"].notna(), "unknown")
    )
    amount = pd.to_numeric(scores["amount"], errors="coerce").astype(float).fillna(0.0)
    p_good = pd.to_numeric(scores["p_good"], errors="coerce").astype(float)
    parts = pd.DataFrame(
        {
            "deals": 1,
            "value": amount.to_numpy(),
            "good_value": (p_good.fillna(0.0) * amount).to_numpy(),
            "p_good": p_good.to_numpy(),
        }
    )
    grouped = parts.groupby(recommendation.to_numpy(), sort=False)
    seen = [r for r in grouped.groups if r not in RECOMMENDATIONS]
    order = pd.Index([*RECOMMENDATIONS, *sorted(seen)], name="recommendation")
    mix = grouped[["deals", "value", "good_value"]].sum().reindex(order, fill_value=0)
    mix["deals"] = mix["deals"].astype(np.int64)
    mix["deals_share"] = mix["deals"] / max(int(mix["deals"].sum()), 1)
    total = float(mix["value"].sum())
    mix["value_share"] = mix["value"] / total if total else 0.0
    mix["mean_p_good"] = grouped["p_good"].mean().reindex(order)
    return mix[["deals", "deals_share", "value", "value_share", "good_value", "mean_p_good"]]


def recommendation_mix_figure(mix: pd.DataFrame) -> Figure:
    """Two bar charts side by side: deals and pipeline value per recommendation.

    Examples
    --------
    >>> mix = recommendation_mix(pd.DataFrame({"recommendation": ["pursue"], "amount": [1.0],
    ...                                        "p_good": [0.5]}))
    >>> [axis.get_title(loc="left") for axis in recommendation_mix_figure(mix).axes]
    ['Deals', 'Pipeline value']
    """
    figure = Figure(figsize=(11, 0.42 * len(mix) + 1.4), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    names = list(mix.index)
    for axis, (column, share, title, words) in zip(
        axes,
        (
            ("deals", "deals_share", "Deals", lambda v: f"{v:,.0f}"),
            ("value", "value_share", "Pipeline value", compact),
        ),
        strict=True,
    ):
        values = mix[column].to_numpy(dtype=float)
        axis.barh([label(r) for r in names], values, color=[colour(r) for r in names], height=0.62)
        top = max(values.max(initial=0.0), 1.0)
        for y, (value, part) in enumerate(zip(values, mix[share], strict=True)):
            axis.text(
                value + top * 0.01, y, f"{words(value)} ({part:.0%})", va="center", fontsize=9
            )
        axis.set_xlim(0, top * 1.3)
        axis.set_title(title, fontsize=11, loc="left")
        axis.xaxis.set_major_formatter(lambda x, _: compact(x))
        axis.spines[["top", "right"]].set_visible(False)
        axis.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    return figure


def deal_list(scores: pd.DataFrame, recommendation: str, top: int = 15) -> pd.DataFrame:
    """The ``top`` biggest deals (by amount, descending; ties by deal id) with one
    recommendation, with their scores, sign effects and reasons. Empty when there are none.

    Examples
    --------
    >>> scores = pd.DataFrame({"deal_id": ["a", "b", "c"], "amount": [5.0, 9.0, 7.0],
    ...                        "recommendation": ["walk_away", "walk_away", "pursue"]})
    >>> deal_list(scores, "walk_away")[["deal_id", "amount"]].to_dict("list")
    {'deal_id': ['b', 'a'], 'amount': [9.0, 5.0]}
    """
    columns = [c for c in LIST_COLUMNS if c in scores.columns]
    chosen = scores.loc[scores["recommendation"] == recommendation, columns]
    chosen = chosen.assign(amount=pd.to_numeric(chosen["amount"], errors="coerce"))
    return top_by_amount(chosen, top)


def list_caption(scores: pd.DataFrame, recommendation: str, top: int = 15) -> str:
    """What a deal list shows, in one sentence (and says so when it is empty).

    Examples
    --------
    >>> scores = pd.DataFrame({"recommendation": ["walk_away", "pursue"], "amount": [5.0, 9.0]})
    >>> list_caption(scores, "walk_away")
    'Walk away: 1 of 2 open deals (value 5), all shown, biggest first.'
    >>> list_caption(scores, "keep_presence")
    'Keep presence: no open deal gets this recommendation.'
    """
    chosen = scores[scores["recommendation"] == recommendation]
    if chosen.empty:
        return f"{label(recommendation)}: no open deal gets this recommendation."
    value = pd.to_numeric(chosen["amount"], errors="coerce").sum()
    shown = "all shown" if len(chosen) <= top else f"the {top} biggest shown"
    return (
        f"{label(recommendation)}: {len(chosen):,} of {len(scores):,} open deals "
        f"(value {compact(value)}), {shown}, biggest first."
    )


def deal_to_explain(scores: pd.DataFrame) -> str:
    """The deal worth explaining first: the biggest to walk away from, else the biggest to keep
    a presence in, to compete for, to qualify, to pursue.

    Examples
    --------
    >>> deal_to_explain(pd.DataFrame({"deal_id": ["a", "b"], "amount": [5.0, 9.0],
    ...                               "recommendation": ["walk_away", "pursue"]}))
    'a'
    """
    if scores.empty:
        raise ValueError("no scored deal to explain")
    for recommendation in ("walk_away", "keep_presence", "compete", "qualify", "pursue"):
        listed = deal_list(scores, recommendation, top=1)
        if len(listed):
            return str(listed["deal_id"].iloc[0])
    return str(top_by_amount(scores, 1)["deal_id"].iloc[0])


# --------------------------------------------------------------------------------------------
# One deal's waterfall


def waterfall(
    model: WalkawayModel,
    deal: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    top_features: int = 3,
) -> pd.DataFrame:
    """One deal's TreeSHAP contributions on each head's log-odds, by sign and by feature.

    Per head (``win``, ``regret``) the rows are, in order: the ``bias`` (the log-odds of an
    average deal), one ``sign`` row per group (the sum of its features' contributions), the
    ``feature`` rows (the ``top_features`` of each group by size, then one row for the rest of
    the group, so a group's feature rows add up to its sign row), and the ``margin`` (the
    head's raw log-odds: bias plus the sign rows).

    Returns
    -------
    pandas.DataFrame
        ``head``, ``part``, ``group``, ``feature`` (name, or ``other`` for the rest),
        ``words`` (the value in a seller's words), ``log_odds``, ``p_good_points`` (the part's
        effect on p_good in points, both heads together, as in the scores: a sign's features
        add up to it; NaN for bias and margin) and
        ``probability`` (on margin rows: the calibrated p_win or p_regret).
    """
    if len(deal) != 1:
        raise ValueError(f"a waterfall explains one deal, got {len(deal)}")
    deal = model.with_amounts(deal)
    explained = model.explain(deal, as_of)
    raw = explained["raw"].iloc[0]
    contributions = {"win": explained["win_contrib"][0], "regret": explained["regret_contrib"][0]}
    heads = {"win": model.win_head_, "regret": model.regret_head_}
    catalogue = model.feature_catalogue
    names = model.feature_names_
    members = {g: [i for i, n in enumerate(names) if catalogue[n].sign == g] for g in GROUPS}
    ranked = {
        g: sorted(m, key=lambda i: -abs(contributions["win"][i]) - abs(contributions["regret"][i]))
        for g, m in members.items()
    }

    parts: list[tuple[str, str, str, str, list[int]]] = []  # part, group, feature, words, columns
    for group in GROUPS:
        parts.append(("sign", group, "", TITLES[group], members[group]))
    for group in GROUPS:
        shown = ranked[group][:top_features]
        for i in shown:
            parts.append(
                ("feature", group, names[i], catalogue[names[i]].describe(raw[names[i]]), [i])
            )
        rest = ranked[group][top_features:]
        if rest:
            parts.append(("feature", group, "other", f"{len(rest)} other features", rest))

    p_good_points = explain_p_good(
        explained["win_contrib"],
        explained["regret_contrib"],
        model.groups_,
        model.win_head_.calibrate,
        model.regret_head_.calibrate,
    )
    points = [
        p_good_points.groups[0, GROUPS.index(group)]
        if part == "sign"
        else p_good_points.features[0, columns].sum()
        for part, group, _, _, columns in parts
    ]

    rows = []
    for head, values in contributions.items():
        rows.append((head, "bias", "", "", "average deal", values[-1], np.nan, np.nan))
        for (part, group, feature, words, columns), effect in zip(parts, points, strict=True):
            rows.append((head, part, group, feature, words, values[columns].sum(), effect, np.nan))
        margin = values.sum()
        probability = float(heads[head].calibrate(np.array([margin]))[0])
        rows.append((head, "margin", "", "", "this deal", margin, np.nan, probability))
    return pd.DataFrame(
        rows,
        columns=[
            "head",
            "part",
            "group",
            "feature",
            "words",
            "log_odds",
            "p_good_points",
            "probability",
        ],
    )


def waterfall_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """One row of panels per head that learned (a constant head has nothing to show): on the
    left, the waterfall from the average deal's log-odds through each sign to this deal's; on
    the right, the features inside each sign that move it most.
    """
    heads = [
        h
        for h in ("win", "regret")
        if (table.loc[(table["head"] == h) & (table["part"] == "feature"), "log_odds"] != 0).any()
    ]
    figure = Figure(figsize=(13, 3.6 * max(1, len(heads)) + 0.6), layout="constrained")
    axes = figure.subplots(max(1, len(heads)), 2, squeeze=False, width_ratios=[1, 1.25])
    for (left, right), head in zip(axes, heads, strict=False):
        rows = table[table["head"] == head]
        _draw_waterfall(left, rows, head)
        _draw_features(right, rows)
    probabilities = table[table["part"] == "margin"].set_index("head")["probability"]
    p_win, p_regret = probabilities.get("win", np.nan), probabilities.get("regret", np.nan)
    summary = f"p_win {p_win:.0%} · p_regret {p_regret:.0%} · p_good {p_win * (1 - p_regret):.0%}"
    if "regret" not in heads:
        summary += " (the regret head did not learn: p_regret is the base rate)"
    figure.suptitle(f"{title}  {summary}".strip(), fontsize=11)
    return figure


def _draw_waterfall(axis: object, rows: pd.DataFrame, head: str) -> None:
    bias = float(rows.loc[rows["part"] == "bias", "log_odds"].iloc[0])
    margin_row = rows[rows["part"] == "margin"].iloc[0]
    signs = rows[rows["part"] == "sign"]
    labels = [
        "average deal",
        *[
            f"{TITLES[g]}\n({points:+.1f} pts of p_good)"
            for g, points in zip(signs["group"], signs["p_good_points"], strict=True)
        ],
        "this deal",
    ]
    starts, widths, colours = [0.0], [bias], ["#bbbbbb"]
    running = bias
    for _, row in signs.iterrows():
        starts.append(running)
        widths.append(float(row["log_odds"]))
        colours.append(plots.SIGN_COLOURS.get(row["group"], "#8c8c8c"))
        running += float(row["log_odds"])
    starts.append(0.0)
    widths.append(float(margin_row["log_odds"]))
    colours.append("#202124")
    y = np.arange(len(labels))
    axis.barh(y, widths, left=starts, color=colours, height=0.6)
    for position, (start, width) in enumerate(zip(starts, widths, strict=True)):
        text = f"{width:+.2f}" if 0 < position < len(labels) - 1 else f"{width:.2f}"
        axis.text(max(start, start + width), position, f" {text}", va="center", fontsize=8.5)
    for position in range(1, len(labels) - 1):  # connectors between the steps
        end = starts[position] + widths[position]
        axis.plot([end, end], [position - 0.3, position + 0.7], color="#9aa0a6", linewidth=0.7)
    axis.set_yticks(y, labels)
    axis.invert_yaxis()
    axis.axvline(0, color="#5f6368", linewidth=0.8)
    axis.set_title(
        f"{HEAD_TITLES[head]} → {'p_win' if head == 'win' else 'p_regret'} "
        f"{margin_row['probability']:.0%}",
        fontsize=10,
        loc="left",
    )
    axis.set_xlabel("log-odds (TreeSHAP, pred_contrib)")
    axis.spines[["top", "right"]].set_visible(False)
    _pad_right(axis)


def _draw_features(axis: object, rows: pd.DataFrame) -> None:
    features = rows[(rows["part"] == "feature") & (rows["log_odds"] != 0)]
    features = features[features["feature"] != "other"]
    features = features.reindex(features["log_odds"].abs().sort_values(ascending=False).index)
    features = features.head(10)
    y = np.arange(len(features))
    axis.barh(
        y,
        features["log_odds"].to_numpy(float),
        color=[plots.SIGN_COLOURS.get(g, "#8c8c8c") for g in features["group"]],
        height=0.6,
    )
    axis.set_yticks(y, [_shorten(w) for w in features["words"]])
    axis.invert_yaxis()
    axis.axvline(0, color="#5f6368", linewidth=0.8)
    axis.set_title("the features that move it most (colour: sign)", fontsize=10, loc="left")
    axis.set_xlabel("contribution to log-odds")
    axis.tick_params("y", labelsize=8.5)
    axis.spines[["top", "right"]].set_visible(False)


def _pad_right(axis: object) -> None:
    low, high = axis.get_xlim()
    axis.set_xlim(low, high + 0.18 * (high - low))


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Writing the list for the CRM


def write_for_crm(
    pipeline: Path,
    out: Path,
    reviewed: ReviewModel,
    mapping: str | Path | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Score the pipeline into ``out`` with the batch job (:func:`walkaway.serving.batch.score_file`):
    CSV or Parquet by extension, formulas made inert, rejects beside it, written atomically.

    Returns
    -------
    pandas.DataFrame
        One column: where the files went and how many rows were read, scored and rejected.
    """
    from walkaway.serving.batch import rejects_path, score_file

    result: BatchResult = score_file(
        Path(pipeline),
        Path(out),
        reviewed.model,
        model_name=reviewed.name or "walkaway (not registered)",
        model_version=reviewed.version,
        mapping=mapping,
        as_of=as_of,
    )
    return pd.Series(
        {
            "scored deals": str(out) if result.scored else "not written: no row could be scored",
            "rejects": str(rejects_path(Path(out))),
            "rows read": result.read,
            "scored": result.scored,
            "rejected": result.rejected,
            "seconds": round(result.seconds, 2),
        },
        name="written for the CRM",
    ).to_frame()
