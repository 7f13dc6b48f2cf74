"""Review the open pipeline: the logic of ``notebooks/03-review-pipeline``.

One function per notebook cell, so that the notebook holds no logic and every step is tested:
the model to score with (:func:`champion_or_train`), the open deals and their scores
(:func:`open_deals`, :func:`score_open_deals`), the :func:`recommendation_mix`, the
:func:`deal_list` of a recommendation, the deal worth explaining first
(:func:`deal_to_explain`, explained by :mod:`walkaway.serving.one_deal` as ``walkaway explain``
explains it; its waterfall is :mod:`walkaway.analysis.deal_waterfall`), and the
list written for the CRM by ``walkaway score``'s own job (:func:`write_for_crm`). Figures are
built without pyplot, so none is left in global state; nothing runs at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.review_common import (
    ReviewModel,
    matching_champion,
    quiet_registry,
    train_and_register,
)
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.serving import model_store
from walkaway.serving.page_words import colour, compact, label
from walkaway.serving.pipeline_digest import top_by_amount
from walkaway.signs import SIGNS

if TYPE_CHECKING:
    from walkaway.serving.batch import BatchResult
    from walkaway.serving.pipeline_reading import OpenPipeline

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


# --------------------------------------------------------------------------------------------
# The model


def champion_or_train(
    history: Path, models_dir: Path, mapping: str | Path | None = None
) -> ReviewModel:
    """The champion to score with, or a model trained on ``history`` when there is none fit.

    - A champion trained on an export of the same mapping is loaded.
    - With no champion at all, a model is trained and registered by ``walkaway train``'s job
      (:func:`walkaway.jobs.train_job`); it becomes the champion.
    - A champion trained on another kind of export (another mapping) is left alone: a model
      is trained here, in memory, and not registered (the train job registers all it trains),
      so that reviewing one export never replaces the champion of another.

    Parameters
    ----------
    history, mapping
        The export the model knows, and its mapping (None: detected from its columns).
    models_dir
        The MLflow store's folder.

    Returns
    -------
    ReviewModel
        The model to score with, and how it was obtained.
    """
    registry = quiet_registry()
    from walkaway.data.exports import load_history, resolve_mapping
    from walkaway.model.training import train_and_evaluate

    models_dir = Path(models_dir)
    wanted = resolve_mapping(Path(history), mapping).name
    loaded, why = matching_champion(models_dir, wanted)
    if loaded is not None:
        return loaded
    if registry.champion_version(models_dir=models_dir) is None:
        return train_and_register(history, models_dir, mapping, why)
    result = train_and_evaluate(load_history(Path(history), mapping))
    return ReviewModel(
        result.model,
        None,
        None,
        wanted,
        f"trained here on {history}, not registered: {why}",
        model_store.tracking_uri(models_dir),
        result,
    )


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
    """The open deals of a pipeline file in canonical form, and the rows left out, read as the
    batch job reads them (:func:`walkaway.serving.pipeline_reading.read_open_deals`).

    Attributes
    ----------
    read
        What reading the file gave: the open deals (canonical, with their account's
        firmographics, related tables and stage history joined), the rows left out and why.
    source
        The pipeline file.
    """

    read: OpenPipeline
    source: Path

    @property
    def deals(self) -> pd.DataFrame:
        """Canonical open deals, joined."""
        return self.read.deals

    @property
    def rejects(self) -> pd.DataFrame:
        """One row per row left out: ``row`` (as a spreadsheet numbers it), ``deal_id`` and
        ``reason`` (broken rules, an already closed deal, a repeated id, a malformed line)."""
        return self.read.rejects

    @property
    def mapping(self) -> str:
        """The name of the mapping the file was read with."""
        return self.read.mapping.name

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
        """One open deal by id, as a one-row frame, as ``walkaway explain`` finds it
        (:func:`walkaway.serving.deal_inputs.find_deal`: a deal left out, or absent, is a
        :class:`~walkaway.serving.deal_inputs.DealNotFound` saying why in one line)."""
        from walkaway.serving.deal_inputs import find_deal

        return find_deal(self.read, deal_id, self.source.name)


def open_deals(pipeline: Path, mapping: str | Path | None = None) -> OpenDeals:
    """Read a pipeline export: its open deals in canonical form, joined with their accounts,
    related tables and stage history.

    The file is read by the batch job's own reading
    (:func:`walkaway.serving.pipeline_reading.read_open_deals`): rows breaking the contract, deals already
    closed, repeated ids and malformed lines are left out with their reasons, as ``walkaway
    score`` leaves them out.

    Parameters
    ----------
    pipeline
        The pipeline file; its accounts and related tables are read from beside it.
    mapping
        A mapping file or shipped name; None detects it from the file's columns.

    Returns
    -------
    OpenDeals
        The open deals, and the rows left out with their reasons.
    """
    from walkaway.data.exports import resolve_mapping
    from walkaway.serving.pipeline_reading import read_open_deals

    pipeline = Path(pipeline)
    return OpenDeals(read_open_deals(pipeline, resolve_mapping(pipeline, mapping)), pipeline)


def score_open_deals(reviewed: ReviewModel, deals: OpenDeals, as_of: pd.Timestamp) -> pd.DataFrame:
    """Scores, sign effects, reasons and recommendation of each open deal (one row each, in
    order), with the model's name and version.

    Scored in memory by the function the batch job scores each chunk with
    (:func:`walkaway.serving.scoring.score_deals`): the score job writes files and returns only
    counts, and the lists and the waterfall need the scores beside the canonical deals.
    """
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
# Writing the list for the CRM


def write_for_crm(
    pipeline: Path,
    out: Path,
    reviewed: ReviewModel,
    mapping: str | Path | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Score the pipeline into ``out`` as ``walkaway score`` does: CSV or Parquet by extension,
    formulas made inert, rejects beside it, written atomically.

    A registered model is scored by the command line's own job (:func:`walkaway.jobs.score_job`,
    loading that very version from the registry). A model trained here and not registered has
    no model URI to give the job, so the batch scoring it wraps
    (:func:`walkaway.serving.batch.score_file`) scores it in memory.

    Parameters
    ----------
    pipeline, out
        The pipeline file of open deals, and the output file (``.csv`` or ``.parquet``).
    reviewed
        The model to score with.
    mapping, as_of
        The mapping (None: the model's own, else detected) and the scoring date (None: today).

    Returns
    -------
    pandas.DataFrame
        One column: where the files went and how many rows were read, scored and rejected.
    """
    from walkaway.serving.batch_outputs import rejects_path

    if reviewed.name and reviewed.version is not None and reviewed.models_dir is not None:
        from walkaway.jobs import score_job

        run = score_job(
            Path(pipeline),
            Path(out),
            mapping,
            model_uri=f"models:/{reviewed.name}/{reviewed.version}",
            as_of=as_of,
            models_dir=reviewed.models_dir,
        )
        result: BatchResult = run.batch
    else:
        from walkaway.serving.batch import score_file

        result = score_file(
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
