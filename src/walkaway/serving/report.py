"""The open pipeline review: one self-contained HTML page for a sales leader.

The batch job scores millions of deals in chunks, so the report is not made from the scores
themselves but from a :class:`PipelineDigest` that each chunk is folded into: sums by
recommendation, histograms over fixed bins and the biggest deals to walk away from or keep a
presence in. Its memory does not grow with the pipeline, and its figures do not depend on how
the deals were chunked.

:func:`render_report` turns a digest, the run's figures and the model's own evaluation into one
HTML page (CSS inline, plots as embedded PNG, no external URL); the batch job writes it
atomically with the scores (:mod:`walkaway.serving.batch`).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.plots import SIGN_COLOURS, calibration_figure
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.signs import GROUPS, SIGNS, TITLES

P_GOOD_EDGES = np.linspace(0.0, 1.0, 21)  # 20 bins of 5 points
EFFECT_EDGES = np.arange(-40.0, 42.0, 2.0)  # 40 bins of 2 points; outside values go to the ends
LISTED = ("walk_away", "keep_presence")  # recommendations whose biggest deals are listed
LIST_COLUMNS = (
    "deal_id",
    "account_id",
    "amount",
    "p_win",
    "p_good",
    *(f"effect_{s}" for s in SIGNS),
    *(f"reasons_{s}" for s in SIGNS),
    "recommendation_reason",
)
MEANED = ("p_win", "p_good", *(f"effect_{g}" for g in GROUPS))
REQUIRED = tuple(dict.fromkeys(("recommendation", *LIST_COLUMNS, *MEANED)))
UNKNOWN = "unknown"  # the recommendation of a row that has none

COLOURS = {
    "pursue": "#2e8b57",
    "compete": "#2f6fb5",
    "keep_presence": "#e3a21a",
    "walk_away": "#c8412f",
    "qualify": "#8a9099",
}
OTHER_COLOUR = "#b5b9c0"
LABELS = {
    "pursue": "Pursue",
    "compete": "Compete",
    "keep_presence": "Keep presence",
    "walk_away": "Walk away",
    "qualify": "Qualify",
}
MEANINGS = {
    "pursue": "Good enough to work now.",
    "compete": "A rival is entrenched, but the return justifies a head-to-head.",
    "keep_presence": "Entrenched rival and a modest return: stay present as the second option.",
    "walk_away": (
        "Outside our ideal customer profile or a poor fit for their needs, "
        "with a high risk of regret or loss."
    ),
    "qualify": "No sign dominates, or the evidence is thin: find out more.",
}
SECTIONS = (
    "Deals and pipeline value by recommendation",
    "Spread of p_good across the pipeline",
    "Sign effects across the pipeline",
    "Deals to walk away from",
    "Deals to keep presence in",
    "Calibration of the model used",
)
PREDICTORS = {"walkaway": "walkaway", "logistic": "logistic baseline", "base_rate": "base rate"}
HEADS = {"win": "Win: will we win it?", "regret": "Regret: will a win be regretted?"}
DPI = 110


@dataclass
class PipelineDigest:
    """What the report needs of a scored pipeline, accumulated chunk by chunk (bounded memory).

    Build one with :meth:`empty` and fold each chunk of scores in with :meth:`add`. Every
    figure is a sum, a count or a top-N list, so the digest is the same whatever the chunking.

    Attributes
    ----------
    list_size
        How many deals the walk-away and keep-presence lists keep.
    totals
        Per recommendation (index): ``deals``, ``value`` (sum of amount, missing as 0),
        ``good_value`` (sum of p_good x amount), and for each of :data:`MEANED` its sum
        (``sum_<column>``) and how many rows had it (``n_<column>``).
    p_good_counts
        Per recommendation, deals in each of the 20 p_good bins of :data:`P_GOOD_EDGES`.
    effect_counts
        Per group, deals in each of the 40 effect bins of :data:`EFFECT_EDGES` (points).
    top
        Per listed recommendation (:data:`LISTED`), its biggest deals by amount, descending,
        ties by deal_id, with the columns of :data:`LIST_COLUMNS`.

    Examples
    --------
    >>> digest = PipelineDigest.empty(list_size=2)
    >>> digest.deals, digest.value
    (0, 0.0)
    """

    list_size: int = 25
    totals: pd.DataFrame = field(default_factory=lambda: _empty_totals())
    p_good_counts: dict[str, np.ndarray] = field(default_factory=dict)
    effect_counts: dict[str, np.ndarray] = field(
        default_factory=lambda: {g: np.zeros(len(EFFECT_EDGES) - 1, dtype=np.int64) for g in GROUPS}
    )
    top: dict[str, pd.DataFrame] = field(
        default_factory=lambda: {r: pd.DataFrame(columns=list(LIST_COLUMNS)) for r in LISTED}
    )

    @classmethod
    def empty(cls, list_size: int = 25) -> PipelineDigest:
        """A digest of no deals, keeping the ``list_size`` biggest deals of each list."""
        if list_size < 0:
            raise ValueError(f"list_size must not be negative, got {list_size}")
        return cls(list_size=list_size)

    def add(self, scores: pd.DataFrame) -> None:
        """Fold one chunk of scored deals in.

        Parameters
        ----------
        scores
            Rows of :data:`walkaway.serving.scoring.SCORE_COLUMNS` (extra columns are ignored).

        Raises
        ------
        ValueError
            When a column the report needs is missing.
        """
        missing = [c for c in REQUIRED if c not in scores.columns]
        if missing:
            raise ValueError(f"scores lack the column(s) the report needs: {', '.join(missing)}")
        if scores.empty:
            return
        recommendation = (
            scores["recommendation"].astype(object).where(scores["recommendation"].notna(), UNKNOWN)
        )
        labels = recommendation.astype(str).to_numpy()
        amount = pd.to_numeric(scores["amount"], errors="coerce").astype(float).fillna(0.0)
        p_good = pd.to_numeric(scores["p_good"], errors="coerce").astype(float)
        known = pd.to_numeric(scores["amount"], errors="coerce").notna()
        parts = {
            "deals": np.ones(len(scores)),
            "valued": known.to_numpy(dtype=float),  # deals with an amount
            "value": amount.to_numpy(),
            "good_value": (p_good.fillna(0.0) * amount).to_numpy(),
        }
        for column in MEANED:
            values = pd.to_numeric(scores[column], errors="coerce").astype(float)
            parts[f"sum_{column}"] = values.fillna(0.0).to_numpy()
            parts[f"n_{column}"] = values.notna().to_numpy(dtype=float)
        chunk = pd.DataFrame(parts).groupby(labels, sort=False).sum()
        self.totals = self.totals.add(chunk, fill_value=0.0)

        clipped = np.clip(p_good.to_numpy(), 0.0, 1.0)
        for label in pd.unique(labels):
            counts, _ = np.histogram(clipped[labels == label], bins=P_GOOD_EDGES)
            previous = self.p_good_counts.get(label, np.zeros(len(counts), dtype=np.int64))
            self.p_good_counts[label] = previous + counts
        for group in GROUPS:
            effect = pd.to_numeric(scores[f"effect_{group}"], errors="coerce").to_numpy(float)
            effect = np.clip(effect, EFFECT_EDGES[0], EFFECT_EDGES[-1])
            self.effect_counts[group] = (
                self.effect_counts[group] + np.histogram(effect, bins=EFFECT_EDGES)[0]
            )

        for listed in LISTED:
            rows = scores.loc[labels == listed, list(LIST_COLUMNS)]
            if rows.empty or self.list_size == 0:
                continue
            rows = rows.assign(amount=pd.to_numeric(rows["amount"], errors="coerce"))
            rows = top_by_amount(rows, self.list_size)  # this chunk's best first: bounded memory
            kept = self.top[listed]
            merged = rows if kept.empty else pd.concat([kept, rows], ignore_index=True)
            self.top[listed] = top_by_amount(merged, self.list_size)

    @property
    def deals(self) -> int:
        """How many deals were folded in."""
        return int(round(self.totals["deals"].sum()))

    @property
    def value(self) -> float:
        """Pipeline value: the sum of amounts, missing amounts counting as 0."""
        return float(self.totals["value"].sum())

    @property
    def good_value(self) -> float:
        """Expected good value: the sum of p_good x amount."""
        return float(self.totals["good_value"].sum())

    def recommendations(self) -> list[str]:
        """Every recommendation to show: the five known ones in policy order, then any other
        seen in the scores."""
        seen = [str(r) for r in self.totals.index if r not in RECOMMENDATIONS]
        return [*RECOMMENDATIONS, *sorted(seen)]

    def by_recommendation(self) -> pd.DataFrame:
        """Deals, value, expected good value and means per recommendation.

        Returns
        -------
        pandas.DataFrame
            Indexed by recommendation (every known one, even without deals), with ``deals``,
            ``valued`` (deals with an amount), ``value``, ``good_value``, ``p_win``, ``p_good`` and ``effect_<group>`` (means; NaN
            without deals).

        Examples
        --------
        >>> table = PipelineDigest.empty().by_recommendation()
        >>> table.index.tolist(), table["deals"].tolist()
        (['pursue', 'compete', 'keep_presence', 'walk_away', 'qualify'], [0, 0, 0, 0, 0])
        """
        totals = self.totals.reindex(self.recommendations()).fillna(0.0)
        table = pd.DataFrame(index=totals.index.rename("recommendation"))
        table["deals"] = totals["deals"].round().astype(np.int64)
        table["valued"] = totals["valued"].round().astype(np.int64)
        table["value"] = totals["value"]
        table["good_value"] = totals["good_value"]
        for column in MEANED:
            known = totals[f"n_{column}"]
            table[column] = (totals[f"sum_{column}"] / known).where(known > 0)
        return table

    def p_good_histogram(self) -> pd.DataFrame:
        """Deals per p_good bin (rows, by lower edge) and recommendation (columns).

        The 20 bins are 5 points wide over [0, 1]; the last one includes 1.
        """
        columns = self.recommendations()
        zero = np.zeros(len(P_GOOD_EDGES) - 1, dtype=np.int64)
        counts = {r: self.p_good_counts.get(r, zero) for r in columns}
        return pd.DataFrame(counts, index=pd.Index(P_GOOD_EDGES[:-1], name="p_good_from"))

    def effect_histogram(self) -> pd.DataFrame:
        """Deals per effect bin (rows, by lower edge in points) and group (columns).

        The 40 bins are 2 points wide over [-40, +40]; effects beyond are counted in the end
        bins.
        """
        return pd.DataFrame(
            {g: self.effect_counts[g] for g in GROUPS},
            index=pd.Index(EFFECT_EDGES[:-1], name="points_from"),
        )

    def top_deals(self, recommendation: str) -> pd.DataFrame:
        """The biggest deals (by amount) kept for ``recommendation``, one of :data:`LISTED`."""
        if recommendation not in self.top:
            raise KeyError(f"only {', '.join(LISTED)} deals are listed, not {recommendation!r}")
        return self.top[recommendation].reset_index(drop=True).copy()


def _empty_totals() -> pd.DataFrame:
    columns = ["deals", "valued", "value", "good_value"]
    columns += [f"{kind}_{c}" for c in MEANED for kind in ("sum", "n")]
    return pd.DataFrame(columns=columns, dtype=float)


def top_by_amount(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` rows of largest amount (missing amounts last), ties by deal_id.

    Examples
    --------
    >>> deals = pd.DataFrame({"deal_id": ["b", "a", "c", "d"], "amount": [5.0, 5.0, None, 9.0]})
    >>> top_by_amount(deals, 3)["deal_id"].tolist()
    ['d', 'a', 'b']
    """
    ordered = frame.sort_values(
        ["amount", "deal_id"], ascending=[False, True], na_position="last", kind="stable"
    )
    return ordered.head(n).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Words and numbers


def esc(value: object) -> str:
    """Text from the data, safe inside HTML (quotes included); missing values are empty.

    >>> esc('<script>alert("x")</script> & co')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def as_float(value: object) -> float:
    """A number from the data, NaN when missing or not a number.

    >>> as_float(3), as_float(None), as_float(pd.NA), as_float("x")
    (3.0, nan, nan, nan)
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number


def money(value: float) -> str:
    """An amount with thousands separators, no decimals; missing is a dash.

    >>> money(1234567.4), money(float("nan"))
    ('1,234,567', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}"


def compact(value: float) -> str:
    """A large amount made short (three significant digits) for a chart label.

    >>> compact(1_234_567), compact(2_000_000), compact(45_600), compact(999), compact(999_999)
    ('1.23 M', '2 M', '45.6 k', '999', '1 M')
    """
    for size, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= size * 0.9995:  # what would round to 1000 of a unit takes the next
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def percent(value: float) -> str:
    """A probability as a percentage; below one percent says so.

    >>> percent(0.3687), percent(0.004), percent(0.0), percent(float("nan"))
    ('37%', '<1%', '0%', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    if 0 < value < 0.005:
        return "<1%"
    return f"{value:.0%}"


def points(value: float) -> str:
    """An effect in probability points, always signed.

    >>> points(4.21), points(-12.0), points(float("nan"))
    ('+4.2', '-12.0', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    return f"{value:+.1f}"


def label(recommendation: str) -> str:
    """A recommendation as a seller reads it.

    >>> label("keep_presence"), label("something_else")
    ('Keep presence', 'Something else')
    """
    return LABELS.get(recommendation, recommendation.replace("_", " ").capitalize())


def colour(recommendation: str) -> str:
    """The colour of a recommendation, the same in every table and chart."""
    return COLOURS.get(recommendation, OTHER_COLOUR)


# --------------------------------------------------------------------------------------------
# Figures


def png(figure: Figure) -> str:
    """A figure as a ``data:image/png;base64`` URI (no metadata, so no URL inside)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _tidy(axis: Axes, grid_axis: str = "x") -> None:
    axis.spines[["top", "right"]].set_visible(False)
    axis.spines[["left", "bottom"]].set_color("#9aa0a6")
    axis.tick_params(colors="#3c4043", labelsize=9)
    axis.grid(axis=grid_axis, color="#e3e6ea", linewidth=0.8)
    axis.set_axisbelow(True)


def value_figure(table: pd.DataFrame) -> Figure:
    """Horizontal bars: pipeline value per recommendation, labelled with value and deals."""
    figure = Figure(figsize=(9.6, 0.45 * len(table) + 0.9), layout="constrained")
    axis = figure.subplots()
    names = list(table.index)
    values = table["value"].to_numpy(dtype=float)
    axis.barh([label(r) for r in names], values, color=[colour(r) for r in names], height=0.62)
    axis.invert_yaxis()
    top = max(values.max(initial=0.0), 1.0)
    for y, (value, deals) in enumerate(zip(values, table["deals"], strict=True)):
        axis.text(
            value + top * 0.01,
            y,
            f"{compact(value)}  ·  {deals:,} deals",
            va="center",
            fontsize=9,
            color="#3c4043",
        )
    axis.set_xlim(0, top * 1.22)
    axis.xaxis.set_major_formatter(lambda x, _: compact(x))
    axis.set_xlabel("pipeline value (sum of amounts)", fontsize=9, color="#5f6368")
    _tidy(axis)
    axis.tick_params(axis="y", length=0, labelsize=10)
    return figure


def p_good_figure(histogram: pd.DataFrame, mean: float) -> Figure:
    """Deals per p_good bin, stacked by recommendation, with the mean marked."""
    figure = Figure(figsize=(9.6, 3.4), layout="constrained")
    axis = figure.subplots()
    centres = (histogram.index.to_numpy(dtype=float) + 0.025) * 100
    bottom = np.zeros(len(histogram))
    for recommendation in histogram.columns:
        counts = histogram[recommendation].to_numpy(dtype=float)
        if counts.sum() == 0:
            continue
        axis.bar(
            centres,
            counts,
            width=4.6,
            bottom=bottom,
            color=colour(recommendation),
            label=label(recommendation),
        )
        bottom += counts
    if np.isfinite(mean):
        axis.axvline(mean * 100, color="#202124", linestyle="--", linewidth=1)
        axis.annotate(
            f"mean {mean:.0%}",
            (mean * 100, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=9,
            color="#202124",
        )
    axis.set_xlim(0, 100)
    axis.xaxis.set_major_formatter(lambda x, _: f"{x:.0f}%")
    axis.set_xlabel("p_good: chance the deal is won and not regretted", fontsize=9, color="#5f6368")
    axis.set_ylabel("deals", fontsize=9, color="#5f6368")
    _tidy(axis, "y")
    if bottom.sum():
        axis.legend(frameon=False, fontsize=9, ncols=5, loc="lower right", bbox_to_anchor=(1, 1.0))
    return figure


def effects_figure(histogram: pd.DataFrame) -> Figure:
    """Small multiples: per group, deals by its effect on p_good in points."""
    figure = Figure(figsize=(10, 3.1), layout="constrained")
    axes = figure.subplots(1, len(histogram.columns), sharex=True, sharey=True, squeeze=False)[0]
    lower = histogram.index.to_numpy(dtype=float)
    for axis, group in zip(axes, histogram.columns, strict=True):
        counts = histogram[group].to_numpy(dtype=float)
        axis.bar(lower + 1.0, counts, width=1.8, color=SIGN_COLOURS.get(group, OTHER_COLOUR))
        axis.axvline(0, color="#202124", linewidth=0.8)
        total = counts.sum()
        costly = counts[lower + 2 <= -4].sum() / total if total else np.nan
        axis.set_title(f"{TITLES.get(group, group).capitalize()}\n", fontsize=10, loc="left", pad=2)
        axis.text(
            0,
            1.02,
            f"costs over 4 points on {percent(costly)} of deals",
            transform=axis.transAxes,
            fontsize=8,
            color="#5f6368",
        )
        axis.set_xlim(-40, 40)
        axis.set_xticks([-40, -20, 0, 20, 40])
        axis.xaxis.set_major_formatter(lambda x, _: f"{x:+.0f}" if x else "0")
        _tidy(axis, "y")
    axes[0].set_ylabel("deals", fontsize=9, color="#5f6368")
    figure.supxlabel("effect on p_good (points)", fontsize=9, color="#5f6368")
    return figure


# --------------------------------------------------------------------------------------------
# HTML


CSS = """
:root { --ink:#202124; --muted:#5f6368; --line:#e3e6ea; --stripe:#f7f8fa; --card:#f4f6f9; }
* { box-sizing: border-box; }
body { margin:0; background:#fff; color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1100px; margin:0 auto; padding:32px 24px 56px; }
h1 { font-size:30px; margin:0 0 4px; letter-spacing:-0.01em; }
h2 { font-size:21px; margin:44px 0 6px; padding-top:20px; border-top:1px solid var(--line); }
p { margin:6px 0 12px; }
.meta { color:var(--muted); font-size:13.5px; margin:0 0 18px; }
.meta b { color:var(--ink); font-weight:600; }
.lead { color:var(--muted); max-width:860px; }
.cards { display:grid; grid-template-columns:repeat(5,1fr); gap:12px; margin:18px 0 6px; }
.card { background:var(--card); border-radius:10px; padding:14px 16px; }
.card .k { color:var(--muted); font-size:12.5px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:25px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
.card .s { color:var(--muted); font-size:12.5px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:8px 0 14px; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:12.5px;
  border-bottom:2px solid var(--line); padding:7px 10px; vertical-align:bottom; }
td { padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:baseline; }
tbody tr:nth-child(even) { background:var(--stripe); }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
th.num { text-align:right; white-space:normal; }
tfoot td { font-weight:600; border-top:2px solid var(--line); border-bottom:none; }
.rec { white-space:nowrap; font-weight:600; }
.dot { display:inline-block; width:11px; height:11px; border-radius:3px; margin-right:7px;
  vertical-align:-1px; }
.what { color:var(--muted); min-width:240px; }
.neg { color:#b3261e; } .pos { color:#1e7b45; }
td.worst { font-weight:700; background:#fcebe8; }
.id { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px;
  white-space:nowrap; }
.why b { font-weight:600; }
.why .r { color:var(--muted); font-size:12.5px; }
.why .r i { font-style:normal; color:var(--ink); }
img { display:block; max-width:100%; height:auto; margin:10px 0; }
.note { color:var(--muted); font-size:13px; }
.empty { color:var(--muted); font-style:italic; }
.best { font-weight:700; }
table.compact { width:auto; min-width:62%; }
table.compact td, table.compact th { padding-left:14px; padding-right:14px; }
th.eff { width:78px; white-space:normal; }
td.why { min-width:380px; line-height:1.4; }
.metrics tbody tr:nth-child(even) { background:none; }
.metrics tr.first td { border-top:2px solid var(--line); }
.metrics td[rowspan] { border-right:1px solid var(--line); font-weight:600; }
footer { margin-top:48px; color:var(--muted); font-size:12.5px; border-top:1px solid var(--line);
  padding-top:12px; }
@media (max-width:800px) { .cards { grid-template-columns:repeat(2,1fr); } }
@media print { h2 { break-before:auto; } table, img { break-inside:avoid; } }
"""


def _table(head: Iterable[str], rows: Iterable[str], foot: str = "", classes: str = "") -> str:
    """An HTML table from already-rendered header cells and rows."""
    attribute = f' class="{classes}"' if classes else ""
    footer = f"<tfoot>{foot}</tfoot>" if foot else ""
    return (
        f"<table{attribute}><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody>{footer}</table>"
    )


def _points_cell(value: float, worst: bool = False) -> str:
    value = as_float(value)
    tone = "neg" if value <= -0.05 else "pos" if value >= 0.05 else ""
    return f'<td class="num {tone}{" worst" if worst else ""}">{points(value)}</td>'


def _rec_cell(recommendation: str) -> str:
    return (
        f'<td class="rec"><span class="dot" style="background:{colour(recommendation)}"></span>'
        f"{esc(label(recommendation))}</td>"
    )


def _image(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">'


def _header(
    digest: PipelineDigest,
    *,
    model_name: str | None,
    model_version: int | None,
    model_uri: str,
    read: int,
    scored: int,
    rejected: int,
    scored_at: str,
    source: str,
) -> str:
    version = f"version {model_version}" if model_version is not None else "version unknown"
    share = digest.good_value / digest.value if digest.value else float("nan")
    cards = [
        ("Deals read", f"{read:,}", "rows in the source"),
        ("Scored", f"{scored:,}", f"{scored / read:.0%} of those read" if read else ""),
        ("Rejected", f"{rejected:,}", "failed the data contract" if rejected else "none failed"),
        ("Pipeline value", money(digest.value), f"{digest.deals:,} deals in this review"),
        ("Expected good value", money(digest.good_value), f"{percent(share)} of pipeline value"),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div>'
        f'<div class="s">{esc(s)}</div></div>'
        for k, v, s in cards
    )
    return (
        "<header><h1>Open pipeline review</h1>"
        f'<p class="meta">Source <b>{esc(source)}</b> · scored at <b>{esc(scored_at)}</b> · '
        f"model <b>{esc(model_name or 'unnamed model')}</b> {esc(version)} "
        f"(<code>{esc(model_uri)}</code>)</p>"
        f'<div class="cards">{card_html}</div>'
        '<p class="note">p_good is the chance a deal ends in a win we are glad of: won, and not '
        "regretted later. Expected good value weighs each deal's amount by its p_good; deals "
        "without an amount count as 0.</p></header>"
    )


def _recommendation_section(digest: PipelineDigest) -> str:
    table = digest.by_recommendation()
    unvalued = bool(digest.deals) and table["valued"].sum() == 0
    figure = _image(png(value_figure(table)), "Pipeline value by recommendation")
    if unvalued:  # an export without amounts: the value is unknown, not 0
        table[["value", "good_value"]] = np.nan
        figure = "<p>No deal has an amount: the pipeline value is unknown.</p>"
    deals, value = max(digest.deals, 1), digest.value or 1.0
    head = [
        "<th>Recommendation</th>",
        "<th>What it means</th>",
        '<th class="num">Deals</th>',
        '<th class="num">Share</th>',
        '<th class="num">Pipeline value</th>',
        '<th class="num">Share</th>',
        '<th class="num">Expected good value</th>',
        '<th class="num">Mean p_win</th>',
        '<th class="num">Mean p_good</th>',
    ]
    rows = [
        f"<tr>{_rec_cell(row.Index)}"
        f'<td class="what">{esc(MEANINGS.get(row.Index, ""))}</td>'
        f'<td class="num">{row.deals:,}</td>'
        f'<td class="num">{percent(row.deals / deals)}</td>'
        f'<td class="num">{money(row.value)}</td>'
        f'<td class="num">{percent(row.value / value)}</td>'
        f'<td class="num">{money(row.good_value)}</td>'
        f'<td class="num">{percent(row.p_win)}</td>'
        f'<td class="num">{percent(row.p_good)}</td></tr>'
        for row in table.itertuples()
    ]
    overall = table[["deals", "value", "good_value"]].sum(min_count=1)
    mean_p_win = _overall_mean(digest, "p_win")
    mean_p_good = _overall_mean(digest, "p_good")
    foot = (
        f"<tr><td>All deals</td><td></td><td class='num'>{int(overall['deals']):,}</td>"
        f"<td class='num'>{percent(1.0 if digest.deals else float('nan'))}</td>"
        f"<td class='num'>{money(overall['value'])}</td>"
        f"<td class='num'>{percent(1.0 if digest.value else float('nan'))}</td>"
        f"<td class='num'>{money(overall['good_value'])}</td>"
        f"<td class='num'>{percent(mean_p_win)}</td><td class='num'>{percent(mean_p_good)}</td>"
        "</tr>"
    )
    return (
        f"<section><h2>{SECTIONS[0]}</h2>"
        '<p class="lead">What the model recommends for each open deal, and how much of the '
        "pipeline sits behind each recommendation.</p>"
        f"{_table(head, rows, foot)}"
        f"{figure}</section>"
    )


def _overall_mean(digest: PipelineDigest, column: str) -> float:
    known = digest.totals[f"n_{column}"].sum()
    return float(digest.totals[f"sum_{column}"].sum() / known) if known else float("nan")


def _p_good_section(digest: PipelineDigest) -> str:
    histogram = digest.p_good_histogram()
    mean = _overall_mean(digest, "p_good")
    return (
        f"<section><h2>{SECTIONS[1]}</h2>"
        '<p class="lead">How many deals have each chance of ending in a good win, in bands of 5 '
        "points, coloured by recommendation.</p>"
        f"{_image(png(p_good_figure(histogram, mean)), 'Histogram of p_good')}</section>"
    )


def _effects_section(digest: PipelineDigest, evaluation: Mapping | None) -> str:
    table = digest.by_recommendation()
    head = ["<th>Recommendation</th>", '<th class="num">Deals</th>'] + [
        f'<th class="num">{esc(TITLES[g].capitalize())}</th>' for g in GROUPS
    ]
    rows = [
        f"<tr>{_rec_cell(rec)}<td class='num'>{deals:,}</td>"
        + "".join(_points_cell(table.at[rec, f"effect_{g}"]) for g in GROUPS)
        + "</tr>"
        for rec, deals in table["deals"].items()
    ]
    foot = (
        f"<tr><td>All deals</td><td class='num'>{digest.deals:,}</td>"
        + "".join(_points_cell(_overall_mean(digest, f"effect_{g}")) for g in GROUPS)
        + "</tr>"
    )
    importance = ""
    if evaluation is not None and evaluation.get("sign_importance") is not None:
        sizes = evaluation["sign_importance"]
        words = ", ".join(
            f"{esc(TITLES.get(str(g), str(g)))} {float(v):.1f}" for g, v in sizes.items()
        )
        importance = (
            f'<p class="note">For comparison, on the deals the model was tested on, the average '
            f"size of each effect was (points, either way): {words}.</p>"
        )
    return (
        f"<section><h2>{SECTIONS[2]}</h2>"
        '<p class="lead">Each sign adds points to a deal\'s p_good or takes them away, compared '
        "with an average deal: <b>glass walls</b> (an entrenched rival), <b>ideal customer "
        "profile</b> (do they look like our best customers), <b>need fit</b> (does what we sell "
        "meet what they need), and the <b>deal context</b> (size, region, seller, source). "
        "Left of zero, the sign costs the deal.</p>"
        f"{_image(png(effects_figure(digest.effect_histogram())), 'Sign effects')}"
        "<p>Mean effect on p_good by recommendation, in points:</p>"
        f"{_table(head, rows, foot, classes='compact')}{importance}</section>"
    )


def _deals_section(digest: PipelineDigest, recommendation: str, title: str, lead: str) -> str:
    deals = digest.top_deals(recommendation)
    total = int(digest.by_recommendation().loc[recommendation, "deals"])
    if deals.empty:
        body = (
            f'<p class="empty">No deal is recommended to {esc(label(recommendation).lower())}.</p>'
        )
    else:
        head = [
            "<th>Deal</th>",
            "<th>Account</th>",
            '<th class="num">Amount</th>',
            '<th class="num">p_good</th>',
        ]
        head += [f'<th class="num eff">{esc(TITLES[s].capitalize())}</th>' for s in SIGNS]
        head.append("<th>Why</th>")
        rows = []
        for deal in deals.itertuples(index=False):
            record = deal._asdict()
            effects = {s: as_float(record[f"effect_{s}"]) for s in SIGNS}
            costliest = min(effects, key=lambda s: effects[s] if math.isfinite(effects[s]) else 0.0)
            reasons = "".join(
                f'<div class="r"><i>{esc(TITLES[s].capitalize())}:</i> {esc(record[f"reasons_{s}"])}</div>'
                for s in SIGNS
                if esc(record[f"reasons_{s}"])
            )
            rows.append(
                f'<tr><td class="id">{esc(record["deal_id"])}</td>'
                f'<td class="id">{esc(record["account_id"])}</td>'
                f'<td class="num">{money(record["amount"])}</td>'
                f'<td class="num">{percent(record["p_good"])}</td>'
                + "".join(
                    _points_cell(effects[s], worst=s == costliest and effects[s] <= -0.05)
                    for s in SIGNS
                )
                + f'<td class="why"><b>{esc(record["recommendation_reason"])}</b>{reasons}</td></tr>'
            )
        body = _table(head, rows)
    shown = len(deals)
    count = (
        f"The {shown:,} biggest of {total:,} deals by amount."
        if total > shown
        else f"All {total:,} such deals, biggest first."
    )
    return (
        f"<section><h2>{esc(title)}</h2>"
        f'<p class="lead">{esc(lead)} {count} Sign effects are in points of p_good; the '
        "costliest sign of each deal is shaded.</p>"
        f"{body}</section>"
    )


def _calibration_section(evaluation: Mapping | None) -> str:
    title = f"<section><h2>{SECTIONS[5]}</h2>"
    if evaluation is None:
        return (
            f'{title}<p class="empty">The model carries no evaluation, so its calibration '
            "cannot be shown here. Retrain it to record one.</p></section>"
        )
    parts = [
        '<p class="lead">Is a 30% chance really 30%? On deals the model never saw in training '
        "(the newest closed ones), each point is a group of deals: the chance predicted on "
        "average against how often it actually happened. On the dashed diagonal, the "
        "predictions can be taken at face value.</p>"
    ]
    curves = evaluation.get("calibration") or {}
    if curves:
        parts.append(_image(png(calibration_figure(curves)), "Reliability of the model"))
    else:
        parts.append('<p class="empty">Too few test deals to draw reliability curves.</p>')
    metrics = evaluation.get("metrics")
    if metrics is not None and len(metrics):
        parts.append(_metrics_table(metrics))
        parts.append(
            '<p class="note">ROC AUC: how well the model ranks deals that happen above those '
            "that do not (0.5 is chance, 1 is perfect; higher is better). Brier score and log "
            "loss: how far the probabilities are from what happened (lower is better). The "
            "logistic baseline is a simple model on the same inputs; the base rate gives every "
            "deal the average chance. Best per question in bold.</p>"
        )
    return title + "".join(parts) + "</section>"


def _metrics_table(metrics: pd.DataFrame) -> str:
    """ROC AUC, Brier and log loss per head for walkaway, the logistic baseline, the base rate."""
    columns = {"roc_auc": ("ROC AUC", max), "brier": ("Brier", min), "log_loss": ("Log loss", min)}
    head = ["<th>Question</th>", "<th>Predictor</th>"] + [
        f'<th class="num">{name}</th>' for name, _ in columns.values()
    ]
    rows = []
    heads = list(dict.fromkeys(metrics.index.get_level_values(0)))
    for head_name in heads:
        block = metrics.xs(head_name, level=0)
        block = block.loc[[p for p in PREDICTORS if p in block.index]]
        best = {c: pick(block[c].dropna()) for c, (_, pick) in columns.items() if c in block}
        for position, (predictor, row) in enumerate(block.iterrows()):
            question = (
                f'<td rowspan="{len(block)}">{esc(HEADS.get(str(head_name), str(head_name)))}</td>'
                if position == 0
                else ""
            )
            cells = "".join(
                f'<td class="num{" best" if c in best and row[c] == best[c] else ""}">'
                f"{_decimal(row.get(c))}</td>"
                for c in columns
            )
            first = ' class="first"' if position == 0 else ""
            rows.append(
                f"<tr{first}>{question}<td>{esc(PREDICTORS[str(predictor)])}</td>{cells}</tr>"
            )
    return _table(head, rows, classes="metrics compact")


def _decimal(value: object) -> str:
    number = as_float(value)
    return f"{number:.3f}" if math.isfinite(number) else "–"


def render_report(
    digest: PipelineDigest,
    *,
    model_name: str | None,
    model_version: int | None,
    model_uri: str,
    evaluation: dict | None,
    read: int,
    scored: int,
    rejected: int,
    scored_at: str,
    source: str,
) -> str:
    """One self-contained HTML page (plots embedded as base64 PNG, CSS inline, no external URL).

    Parameters
    ----------
    digest
        The scored pipeline, see :class:`PipelineDigest`.
    model_name, model_version, model_uri
        The model that scored it.
    evaluation
        The model's ``evaluation_`` (metrics, calibration curves, sign importance), or None
        when it carries none.
    read, scored, rejected
        Deals read from the source, scored, and rejected by the data contract.
    scored_at, source
        When the deals were scored, and from which file.

    Returns
    -------
    str
        The page; every text from the data is HTML-escaped.
    """
    sections = [
        _header(
            digest,
            model_name=model_name,
            model_version=model_version,
            model_uri=model_uri,
            read=read,
            scored=scored,
            rejected=rejected,
            scored_at=scored_at,
            source=source,
        ),
        _recommendation_section(digest),
        _p_good_section(digest),
        _effects_section(digest, evaluation),
        _deals_section(
            digest,
            "walk_away",
            SECTIONS[3],
            "Outside our ideal customer profile or a poor fit for their needs, with a high risk "
            "of regret or loss: the time is better spent elsewhere.",
        ),
        _deals_section(
            digest,
            "keep_presence",
            SECTIONS[4],
            "A rival is entrenched and the return is modest: stay present as the second option, "
            "without a costly head-to-head.",
        ),
        _calibration_section(evaluation),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Open pipeline review · {esc(source)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(sections)}"
        f"<footer>Made by walkaway from {esc(source)} at {esc(scored_at)} with "
        f"{esc(model_uri)}.</footer></main></body></html>\n"
    )
