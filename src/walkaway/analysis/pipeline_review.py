"""Review the open pipeline: the logic of ``notebooks/03-review-pipeline``.

One function per notebook cell, so that the notebook holds no logic and every step is tested:
the model to score with (:func:`champion_or_train`), the open deals and their scores
(:func:`open_deals`, :func:`score_open_deals`), the :func:`recommendation_mix`, the
:func:`deal_list` of a recommendation, one deal's :func:`waterfall` by sign and by feature
(exact TreeSHAP on each head's log-odds, as in :mod:`walkaway.model.explanations`), and the
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

from walkaway.analysis import plots
from walkaway.analysis.review_common import (
    ReviewModel,
    matching_champion,
    quiet_registry,
    train_and_register,
)
from walkaway.model.explanations import explain_p_good
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.pipeline_digest import top_by_amount
from walkaway.serving.report import colour, compact, label
from walkaway.signs import GROUPS, SIGNS, TITLES

if TYPE_CHECKING:
    from walkaway.serving.batch import BatchResult

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
HEAD_TITLES = {"win": "win head: log-odds of winning", "regret": "regret head: log-odds of regret"}


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
        registry.tracking_uri(models_dir),
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
    from walkaway.serving.batch import rejects_path

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
