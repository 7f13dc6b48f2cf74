"""Exploring a CRM history before training: outcomes over time and each sign's raw evidence.

The engine of ``notebooks/01-explore-history``: every table and figure the notebook shows is
computed here, so that the notebook holds no logic and the same views can be tested.

- :func:`explore` reads nothing: it labels a loaded :class:`~walkaway.data.history.History` (won,
  lost, regrettable) and computes each closed deal's point-in-time features as at its creation,
  exactly as training does;
- :func:`outcome_rates_over_time` and :func:`plot_rates_over_time`: win rate and regret rate
  by period of close;
- :func:`sign_evidence`, :func:`evidence_table` and :func:`plot_sign_evidence`: the raw
  evidence of each sign against the outcomes (win rate and regret rate by incumbent tenure, by
  tender type, by ICP-similarity band and by capability coverage band). An export without the
  columns a view needs gets an empty table and a figure panel saying so;
- :func:`icp_profile_figure`: the learned ICP, best vs regretted customers by attribute;
- :func:`ensure_demo_export`: the synthetic demo export, written on first use.

Figures are :class:`matplotlib.figure.Figure` objects built without pyplot (no global state).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from walkaway.analysis.plots import SIGN_COLOURS
from walkaway.data.history import History
from walkaway.data.synth import write_synthetic_history
from walkaway.model.features import build_features
from walkaway.model.features.icp_fit import EMPLOYEE_LABELS, REVENUE_LABELS, icp_in_words
from walkaway.signs import TITLES, day_text

__all__ = [
    "Exploration",
    "SignEvidence",
    "coverage_bands",
    "ensure_demo_export",
    "evidence_table",
    "explore",
    "icp_profile_figure",
    "icp_similarity_bands",
    "outcome_rates_over_time",
    "overview",
    "plot_rates_over_time",
    "plot_sign_evidence",
    "rates_by_band",
    "sign_evidence",
    "tender_bands",
    "tenure_bands",
]

DEMO_DEALS = 5000
DEMO_SEED = 7
SHORT_WINDOW_DAYS = 14  # a tender answered in two weeks or less was probably written for a rival
ICP_QUANTILES = 5
NOT_IN_EXPORT = "not in this export"
WIN_COLOUR = "#1b6ca8"
REGRET_COLOUR = "#c44e52"
COUNT_COLOUR = "#bbbbbb"
FIRMOGRAPHICS = ("industry", "employees", "annual_revenue", "ownership")
TENURE_BANDS = (
    "no incumbent",
    "under 3 years",
    "3-5 years",
    "6-9 years",
    "10+ years",
    "tenure unknown",
)
TENDER_BANDS = (
    "no tender",
    f"tender, window <= {SHORT_WINDOW_DAYS} days",
    f"tender, window > {SHORT_WINDOW_DAYS} days",
    "tender, window unknown",
)
COVERAGE_BANDS = ("under 50%", "50-74%", "75-99%", "100%")
NO_CUSTOMERS_BAND = "no customers known yet"
ATTRIBUTE_ORDER = {"employees_band": EMPLOYEE_LABELS, "revenue_band": REVENUE_LABELS}
ATTRIBUTE_TITLES = {
    "industry": "industry",
    "employees_band": "company size (employees)",
    "revenue_band": "annual revenue",
    "ownership": "ownership",
}
PERCENT = FuncFormatter(lambda value, _: f"{100 * value:.3g}%")  # 0%, 2.5%, 35%
RATE_COLUMNS = ["deals", "won", "win_rate", "matured_wins", "regretted", "regret_rate"]


@dataclass
class Exploration:
    """A labelled history and the point-in-time features of its closed deals.

    Attributes
    ----------
    history : History
        The export as read (canonical deals, accounts, products, mapping).
    labelled : pandas.DataFrame
        Every deal with its firmographics and labels (``won``, ``regret_status``,
        ``regret_label``, ``status_known_date``; see :func:`walkaway.data.labels.label_deals`).
    features : pandas.DataFrame
        Features of the closed deals as at each deal's creation (the index of ``labelled``'s
        closed rows), from the same feature pipeline training uses.
    profile : pandas.DataFrame
        The ICP learned from the whole history: best and regretted customers by attribute
        value (:attr:`walkaway.model.features.icp_fit.IcpFit.profile_`); empty without any customer
        whose regret is known.
    """

    history: History
    labelled: pd.DataFrame
    features: pd.DataFrame
    profile: pd.DataFrame

    @property
    def closed(self) -> pd.DataFrame:
        """The closed (won or lost) deals of ``labelled``."""
        return self.labelled[self.labelled["won"].notna()]

    def icp_in_words(self) -> list[str]:
        """The learned ICP as sentences (see :func:`walkaway.model.features.icp_fit.icp_in_words`)."""
        return icp_in_words(self.profile)


@dataclass(frozen=True)
class SignEvidence:
    """One view of a sign's raw evidence: outcomes by band of one input.

    Attributes
    ----------
    sign : str
        The sign the input belongs to (``glass_walls``, ``icp_fit`` or ``need_fit``).
    title : str
        What the bands are of, in words ("incumbent tenure").
    table : pandas.DataFrame
        Indexed by ``band`` (in their natural order), with the columns of
        :func:`rates_by_band`; empty when the export cannot show this evidence.
    missing : str or None
        Why the table is empty (starting "not in this export" when the export lacks the
        columns); None when it is not.
    """

    sign: str
    title: str
    table: pd.DataFrame
    missing: str | None = None


# ----------------------------------------------------------------------------- the data


def explore(history: History) -> Exploration:
    """Label a history and compute its closed deals' point-in-time features.

    Labels use the mapping's regret horizon and rule, as training does. The feature pipeline
    (:func:`walkaway.model.features.build_features`, with the product catalogue and the mapping's
    extra features) is fitted on the closed deals and each deal is transformed as at its
    creation date, so a deal's history features (the ICP, our record at the account) only use
    what was known before it was created.

    Examples
    --------
    >>> import tempfile
    >>> from walkaway.data.exports import load_history
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_synthetic_history(Path(folder), n_deals=300, seed=1)
    ...     exploration = explore(load_history(Path(folder)))
    >>> len(exploration.features) == len(exploration.closed)
    True
    >>> "icp_similarity" in exploration.features
    True
    """
    labelled = history.labelled()
    closed = labelled[labelled["won"].notna()]
    if closed.empty:
        return Exploration(history, labelled, pd.DataFrame(index=closed.index), pd.DataFrame())
    union = build_features(
        history.catalogue(), history.mapping.extra_features() or None, evidence_counts=True
    )
    union.fit(closed)
    features = union.transform(closed.assign(as_of=closed["created_date"]))
    profile = union.named_transformers["icp_fit"].profile_
    return Exploration(history, labelled, features, profile)


def overview(exploration: Exploration) -> pd.DataFrame:
    """What the export holds, in a few counts: deals, outcomes, regret, dates and mapping.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure`` and ``value`` (text).
    """
    labelled = exploration.labelled
    status = labelled["regret_status"].value_counts()
    closed = exploration.closed
    won = int(closed["won"].sum())
    matured = int(labelled["regret_label"].notna().sum())
    regretted = int(labelled["regret_label"].eq(1).sum())

    def share(part: int, whole: int) -> str:
        return f" ({part / whole:.1%})" if whole else ""

    rows = [
        ("export", exploration.history.source),
        ("mapping", exploration.history.mapping.name),
        ("deals", f"{len(labelled):,}"),
        ("open deals", f"{int(labelled['outcome'].eq('open').sum()):,}"),
        ("closed deals", f"{len(closed):,}"),
        ("won", f"{won:,}{share(won, len(closed))}"),
        ("regret horizon", f"{exploration.history.mapping.regret_horizon_days} days"),
        ("matured wins (regret known)", f"{matured:,}"),
        ("regretted among matured wins", f"{regretted:,}{share(regretted, matured)}"),
        ("wins still censored (too recent)", f"{int(status.get('censored', 0)):,}"),
        ("export date", day_text(exploration.history.export_date)),
        ("first created", day_text(labelled["created_date"].min())),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


def ensure_demo_export(folder: Path, n_deals: int = DEMO_DEALS, seed: int = DEMO_SEED) -> Path:
    """Write the synthetic demo export into ``folder`` unless it already holds deals.

    A fresh clone has no ``data/``: the first run writes the same export as ``make demo``;
    later runs, and a folder holding any ``deals.csv``, are left alone.

    Parameters
    ----------
    folder
        Where the export lives (created when needed).
    n_deals, seed
        Size and seed of the synthetic history (see
        :func:`walkaway.data.synth.write_synthetic_history`).

    Returns
    -------
    Path
        ``folder``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = ensure_demo_export(Path(tmp) / "demo", n_deals=200, seed=1)
    ...     written = (folder / "deals.csv").stat().st_mtime_ns
    ...     again = ensure_demo_export(folder, n_deals=300, seed=2)
    ...     (again / "deals.csv").stat().st_mtime_ns == written
    True
    """
    folder = Path(folder)
    if not (folder / "deals.csv").is_file():
        write_synthetic_history(folder, n_deals=n_deals, seed=seed)
    return folder


# ----------------------------------------------------------------------------- outcomes


def rates_by_band(closed: pd.DataFrame, bands: pd.Series) -> pd.DataFrame:
    """Win rate and regret rate of closed deals by band, bands in their order.

    Deals whose band is missing are left out, and so are bands without deals. The regret rate
    is the regretted share of *matured* wins (``regret_label`` known); NaN without any.

    Parameters
    ----------
    closed
        Labelled closed deals (``won`` and ``regret_label``, from
        :func:`walkaway.data.labels.label_deals`).
    bands
        Each deal's band, aligned with ``closed``; an ordered categorical keeps its order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``band``: ``deals``, ``won``, ``win_rate``, ``matured_wins``, ``regretted``
        and ``regret_rate``.

    Examples
    --------
    >>> closed = pd.DataFrame({"won": [1.0, 0.0, 1.0, 1.0],
    ...                        "regret_label": [1.0, np.nan, 0.0, np.nan]})
    >>> rates_by_band(closed, pd.Series(["a", "a", "b", None])).reset_index()
      band  deals  won  win_rate  matured_wins  regretted  regret_rate
    0    a      2    1       0.5             1          1          1.0
    1    b      1    1       1.0             1          0          0.0
    """
    frame = pd.DataFrame(
        {
            "band": bands.array,  # a categorical keeps its order
            "won": closed["won"].eq(1).to_numpy(),
            "matured": closed["regret_label"].notna().to_numpy(),
            "regretted": closed["regret_label"].eq(1).to_numpy(),
        }
    )
    table = frame.groupby("band", observed=True, sort=True).agg(
        deals=("won", "size"),
        won=("won", "sum"),
        matured_wins=("matured", "sum"),
        regretted=("regretted", "sum"),
    )
    return _with_rates(table)


def _with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    counts = counts.astype("int64")
    counts["win_rate"] = counts["won"] / counts["deals"].where(counts["deals"] > 0)
    counts["regret_rate"] = counts["regretted"] / counts["matured_wins"].where(
        counts["matured_wins"] > 0
    )
    return counts[RATE_COLUMNS]


def outcome_rates_over_time(labelled: pd.DataFrame, freq: str = "QE") -> pd.DataFrame:
    """Win rate and regret rate of closed deals by period of their close.

    The regret rate of a period is the regretted share of its *matured* wins: wins closed
    less than one regret horizon before the export are censored (their regret cannot be known
    yet), so the last periods have none and their regret rate is NaN. Closed deals without a
    close date are left out.

    Parameters
    ----------
    labelled
        Labelled deals (:func:`walkaway.data.labels.label_deals`); open deals are ignored.
    freq
        A pandas period-end frequency: ``"QE"`` (quarters), ``"ME"`` (months), ``"YE"``.

    Returns
    -------
    pandas.DataFrame
        One row per period from the first close to the last (empty periods included),
        indexed by ``period`` (a :class:`pandas.Period`), with the columns of
        :func:`rates_by_band` (``deals`` counts the closed deals).

    Examples
    --------
    >>> labelled = pd.DataFrame({
    ...     "closed_date": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-08-01", None]),
    ...     "won": [1.0, 0.0, 1.0, np.nan], "regret_label": [0.0, np.nan, np.nan, np.nan]})
    >>> outcome_rates_over_time(labelled)[["deals", "win_rate", "regret_rate"]].reset_index()
       period  deals  win_rate  regret_rate
    0  2024Q1      2       0.5          0.0
    1  2024Q2      0       NaN          NaN
    2  2024Q3      1       1.0          NaN
    """
    closed = labelled[labelled["won"].notna() & labelled["closed_date"].notna()]
    dates = pd.to_datetime(closed["closed_date"])
    if dates.dt.tz is not None:  # zoned exports: periods of the UTC calendar
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "closed_date": dates,
            "won": closed["won"].eq(1),
            "matured": closed["regret_label"].notna(),
            "regretted": closed["regret_label"].eq(1),
        }
    )
    counts = frame.groupby(pd.Grouper(key="closed_date", freq=freq)).agg(
        deals=("won", "size"),
        won=("won", "sum"),
        matured_wins=("matured", "sum"),
        regretted=("regretted", "sum"),
    )
    rates = _with_rates(counts)
    rates.index = rates.index.to_period() if len(rates) else pd.Index([], dtype=object)
    rates.index.name = "period"
    return rates


def plot_rates_over_time(rates: pd.DataFrame) -> Figure:
    """Win rate and regret rate by period (top) over the closed deals per period (bottom).

    Examples
    --------
    >>> rates = pd.DataFrame({"deals": [10, 12], "won": [3, 4], "win_rate": [0.3, 1 / 3],
    ...                       "matured_wins": [3, 0], "regretted": [1, 0],
    ...                       "regret_rate": [1 / 3, np.nan]},
    ...                      index=pd.PeriodIndex(["2024Q1", "2024Q2"], freq="Q"))
    >>> len(plot_rates_over_time(rates).axes)
    2
    """
    figure = Figure(figsize=(9.5, 5.5), layout="constrained")
    if rates.empty:
        axis = figure.subplots()
        _say_missing(axis, "Outcomes over time", "no dated closed deals in this export")
        return figure
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    x = np.arange(len(rates))
    labels = [str(period) for period in rates.index]
    top.plot(x, rates["win_rate"], color=WIN_COLOUR, marker="o", label="win rate")
    regret_known = rates["regret_rate"].notna().any()
    if regret_known:
        top.plot(
            x,
            rates["regret_rate"],
            color=REGRET_COLOUR,
            marker="s",
            label="regret rate (of matured wins)",
        )
    top.set_ylim(0, _upper_limit(rates[["win_rate", "regret_rate"]]))
    top.yaxis.set_major_formatter(PERCENT)
    top.set_ylabel("rate")
    top.set_title("Win rate and regret rate by period of close")
    top.legend(loc="upper left", frameon=False, fontsize=9)
    top.grid(alpha=0.3)
    if not regret_known:
        top.text(
            0.99,
            0.97,
            "regret rate: no matured win with known regret in this export",
            transform=top.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            color=REGRET_COLOUR,
        )
    bottom.bar(x, rates["deals"], color=COUNT_COLOUR, label="closed deals")
    bottom.bar(x, rates["won"], color=WIN_COLOUR, alpha=0.6, label="won")
    bottom.set_ylabel("deals")
    bottom.legend(loc="upper left", frameon=False, fontsize=9)
    step = max(1, int(np.ceil(len(x) / 20)))
    bottom.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)
    return figure


# ----------------------------------------------------------------------------- bands


def tenure_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's incumbent-tenure band, from the glass-walls features.

    Examples
    --------
    >>> features = pd.DataFrame({"incumbent_present": [0.0, 1.0, 1.0, 1.0],
    ...                          "incumbent_tenure_years": [0.0, 2.0, 11.0, np.nan]})
    >>> tenure_bands(features).tolist()
    ['no incumbent', 'under 3 years', '10+ years', 'tenure unknown']
    """
    present = features["incumbent_present"].eq(1)
    tenure = features["incumbent_tenure_years"]
    choices = [
        ~present,
        present & tenure.isna(),
        present & (tenure < 3),
        present & (tenure < 6),
        present & (tenure < 10),
        present & (tenure >= 10),
    ]
    names = [TENURE_BANDS[i] for i in (0, 5, 1, 2, 3, 4)]
    return _ordered(np.select(choices, names, default=None), TENURE_BANDS, features.index)


def tender_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's tender type: no tender, a short response window, a longer one.

    Examples
    --------
    >>> features = pd.DataFrame({"formal_tender": [0.0, 1.0, 1.0, np.nan],
    ...                          "response_window_days": [np.nan, 10.0, 30.0, np.nan]})
    >>> tender_bands(features).tolist()
    ['no tender', 'tender, window <= 14 days', 'tender, window > 14 days', nan]
    """
    tender = features["formal_tender"]
    window = features["response_window_days"]
    choices = [
        tender.eq(0),
        tender.eq(1) & window.isna(),
        tender.eq(1) & (window <= SHORT_WINDOW_DAYS),
        tender.eq(1) & (window > SHORT_WINDOW_DAYS),
    ]
    names = [TENDER_BANDS[i] for i in (0, 3, 1, 2)]
    return _ordered(np.select(choices, names, default=None), TENDER_BANDS, features.index)


def coverage_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's band of capability coverage (share of required capabilities covered).

    Examples
    --------
    >>> coverage_bands(pd.DataFrame({"capability_coverage": [0.2, 0.5, 0.8, 1.0, np.nan]})).tolist()
    ['under 50%', '50-74%', '75-99%', '100%', nan]
    """
    coverage = features["capability_coverage"]
    choices = [coverage < 0.5, coverage < 0.75, coverage < 1, coverage >= 1]
    return _ordered(
        np.select(choices, COVERAGE_BANDS, default=None), COVERAGE_BANDS, coverage.index
    )


def icp_similarity_bands(features: pd.DataFrame, quantiles: int = ICP_QUANTILES) -> pd.Series:
    """Each deal's quantile band of point-in-time ICP similarity.

    Deals created before any customer's regret was known have nothing to be compared with:
    they get their own first band, and the quantiles are of the other deals.

    Examples
    --------
    >>> features = pd.DataFrame({"icp_similarity": [0.0, -2.0, -1.0, 1.0, 2.0],
    ...                          "icp_known_customers": [0, 9, 9, 9, 9]})
    >>> icp_similarity_bands(features, quantiles=2).tolist()
    ['no customers known yet', '-2.0 to +0.0', '-2.0 to +0.0', '+0.0 to +2.0', '+0.0 to +2.0']
    """
    similarity = features["icp_similarity"]
    compared = features["icp_known_customers"].gt(0) & similarity.notna()
    bands = pd.Series(None, index=features.index, dtype=object)
    bands[features["icp_known_customers"].eq(0)] = NO_CUSTOMERS_BAND
    names = [NO_CUSTOMERS_BAND]
    if compared.any():
        codes, edges = pd.qcut(
            similarity[compared], quantiles, labels=False, retbins=True, duplicates="drop"
        )
        ranges = [
            f"{low:+.1f} to {high:+.1f}" for low, high in zip(edges[:-1], edges[1:], strict=True)
        ]
        names += ranges
        bands[compared] = [ranges[int(code)] for code in codes]
    return _ordered(bands.to_numpy(), tuple(dict.fromkeys(names)), features.index)


def _ordered(values: np.ndarray, order: Sequence[str], index: pd.Index) -> pd.Series:
    values = pd.Series(values, index=index, dtype=object)
    return pd.Series(pd.Categorical(values, categories=list(order), ordered=True), index=index)


# ----------------------------------------------------------------------------- evidence


def sign_evidence(labelled: pd.DataFrame, features: pd.DataFrame) -> dict[str, SignEvidence]:
    """Each sign's raw evidence against the outcomes of the closed deals.

    - ``incumbent_tenure`` (glass walls): no incumbent, then bands of the rival's tenure;
    - ``tender`` (glass walls): no tender, a tender answered in 14 days or less, a longer one;
    - ``icp_similarity`` (ICP): quantile bands of point-in-time ICP similarity, after the
      deals created before any customer's regret was known;
    - ``capability_coverage`` (need fit): bands of the share of required capabilities the
      offered product covers.

    A view whose inputs the export does not have gets an empty table and its reason.

    Parameters
    ----------
    labelled
        Labelled deals (:attr:`Exploration.labelled`): the rows of ``features`` are looked up
        in it, and its columns say which inputs the export has.
    features
        Point-in-time features of the closed deals (:attr:`Exploration.features`).

    Returns
    -------
    dict of str to SignEvidence
        In the order above.
    """
    closed = labelled.loc[features.index]

    def has(*columns: str) -> bool:
        return any(c in closed and closed[c].notna().any() for c in columns)

    def view(sign: str, title: str, make_bands, available: str | None) -> SignEvidence:
        if available is not None:
            return SignEvidence(sign, title, _empty_rates(), available)
        return SignEvidence(sign, title, rates_by_band(closed, make_bands(features)))

    icp_missing = None
    if not has(*FIRMOGRAPHICS):
        icp_missing = f"{NOT_IN_EXPORT}: no account industry, size, revenue or ownership"
    elif not features["icp_known_customers"].gt(0).any():
        icp_missing = (
            "no best or regretted customer known yet: no win has passed the regret "
            "horizon or shown regret (churn, flag or margin)"
        )
    need_missing = None
    if not has("required_capabilities"):
        need_missing = f"{NOT_IN_EXPORT}: no required capabilities per deal"
    elif not features["capability_coverage"].notna().any():
        need_missing = f"{NOT_IN_EXPORT}: no product catalogue of capabilities"
    return {
        "incumbent_tenure": view(
            "glass_walls",
            "incumbent tenure",
            tenure_bands,
            None
            if has("incumbent_tenure_years", "incumbent_vendor")
            else f"{NOT_IN_EXPORT}: no incumbent vendor or tenure",
        ),
        "tender": view(
            "glass_walls",
            "tender type",
            tender_bands,
            None if has("formal_tender") else f"{NOT_IN_EXPORT}: no formal tender column",
        ),
        "icp_similarity": view(
            "icp_fit",
            "ICP similarity (log-odds best vs regretted, quantiles)",
            icp_similarity_bands,
            icp_missing,
        ),
        "capability_coverage": view(
            "need_fit", "capability coverage", coverage_bands, need_missing
        ),
    }


def _empty_rates() -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in RATE_COLUMNS})
    table.index.name = "band"
    return table


def evidence_table(evidence: dict[str, SignEvidence]) -> pd.DataFrame:
    """All evidence tables in one, for reading: sign, evidence, band and the rates.

    Views the export cannot show are one row saying why, with empty counts.
    """
    rows = []
    for item in evidence.values():
        if item.table.empty:
            rows.append(
                {"sign": TITLES[item.sign], "evidence": item.title, "band": item.missing or ""}
            )
            continue
        for band, values in item.table.iterrows():
            rows.append(
                {"sign": TITLES[item.sign], "evidence": item.title, "band": str(band)}
                | values.to_dict()
            )
    table = pd.DataFrame.from_records(rows, columns=["sign", "evidence", "band", *RATE_COLUMNS])
    counts = ["deals", "won", "matured_wins", "regretted"]
    table[counts] = table[counts].astype("Int64")
    table[["win_rate", "regret_rate"]] = table[["win_rate", "regret_rate"]].astype(float)
    return table


def plot_sign_evidence(evidence: dict[str, SignEvidence]) -> Figure:
    """One panel per view: win rate by band (bars, with their deal counts) and the regret
    rate of their matured wins (diamonds); a view the export cannot show says why.

    Examples
    --------
    >>> table = rates_by_band(pd.DataFrame({"won": [1.0, 0.0], "regret_label": [0.0, np.nan]}),
    ...                       pd.Series(["a", "b"]))
    >>> figure = plot_sign_evidence({
    ...     "x": SignEvidence("glass_walls", "x", table),
    ...     "y": SignEvidence("need_fit", "y", _empty_rates(), "not in this export: no y")})
    >>> len(figure.axes)
    2
    """
    items = list(evidence.values())
    columns = 2 if len(items) > 1 else 1
    rows = max(1, int(np.ceil(len(items) / columns)))
    figure = Figure(figsize=(6.2 * columns, 4.3 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, item in zip(axes, items, strict=False):
        title = f"{TITLES[item.sign]}: {item.title}"
        if item.table.empty:
            _say_missing(axis, title, item.missing or NOT_IN_EXPORT)
        else:
            _evidence_panel(axis, title, item)
    for axis in axes[len(items) :]:
        axis.set_axis_off()
    figure.suptitle("Each sign's raw evidence against the outcomes of closed deals")
    return figure


def _evidence_panel(axis: Axes, title: str, item: SignEvidence) -> None:
    table = item.table
    x = np.arange(len(table))
    win_rate = table["win_rate"].to_numpy(dtype=float)
    axis.bar(x, win_rate, color=SIGN_COLOURS[item.sign], alpha=0.85, label="win rate")
    for position, rate, deals in zip(x, win_rate, table["deals"], strict=True):
        # Inside the bar, at its foot: clear of the regret markers above.
        axis.text(
            position,
            0.005,
            f"{rate:.0%}\nn={int(deals):,}",
            ha="center",
            va="bottom",
            fontsize=8,
            color="#1a1a1a",
        )
    overall = table["won"].sum() / table["deals"].sum()
    axis.axhline(overall, color="#555555", linestyle="--", linewidth=1, label="win rate, all shown")
    if table["regret_rate"].notna().any():
        axis.plot(
            x,
            table["regret_rate"].to_numpy(dtype=float),
            linestyle="none",
            marker="D",
            color=REGRET_COLOUR,
            label="regret rate (matured wins)",
        )
    axis.set_ylim(0, _upper_limit(table[["win_rate", "regret_rate"]], headroom=1.3))
    axis.yaxis.set_major_formatter(PERCENT)
    axis.set_xticks(x, [str(band) for band in table.index], rotation=25, ha="right", fontsize=9)
    axis.set_title(title, fontsize=11)
    axis.legend(loc="upper right", frameon=False, fontsize=8)
    axis.spines[["top", "right"]].set_visible(False)


def _say_missing(axis: Axes, title: str, reason: str) -> None:
    axis.set_axis_off()
    axis.set_title(title, fontsize=11)
    axis.text(
        0.5,
        0.5,
        textwrap.fill(reason, 44),
        transform=axis.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="#555555",
    )


def _upper_limit(rates: pd.DataFrame, headroom: float = 1.15) -> float:
    values = rates.to_numpy(dtype=float)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    return min(1.05, max(0.05, top * headroom))


# ----------------------------------------------------------------------------- the ICP


def icp_profile_figure(
    profile: pd.DataFrame,
    attributes: Sequence[str] = ("industry", "employees_band", "revenue_band"),
) -> Figure:
    """The learned ICP: the share of best and of regretted customers holding each value.

    One panel per attribute the profile has (industry, size band, revenue band...); an
    empty profile (no customer whose regret is known) gives one panel saying so.

    Parameters
    ----------
    profile
        :attr:`Exploration.profile` (``attribute``, ``value``, ``share_of_best``,
        ``share_of_regretted``...).
    attributes
        The attributes to show, in order; those the profile lacks are skipped.

    Examples
    --------
    >>> profile = pd.DataFrame({"attribute": ["industry", "industry"],
    ...                         "value": ["retail", "logistics"], "best": [5, 15],
    ...                         "regretted": [8, 2], "share_of_best": [0.25, 0.75],
    ...                         "share_of_regretted": [0.8, 0.2]})
    >>> len(icp_profile_figure(profile).axes)
    1
    >>> icp_profile_figure(pd.DataFrame()).axes[0].texts[0].get_text()[:27]
    'No matured customers yet: t'
    """
    shown = [a for a in attributes if not profile.empty and profile["attribute"].eq(a).any()]
    if not shown:
        figure = Figure(figsize=(7, 2.5), layout="constrained")
        _say_missing(figure.subplots(), "The learned ICP", icp_in_words(pd.DataFrame())[0])
        return figure
    heights = [max(2.0, 0.42 * profile["attribute"].eq(a).sum() + 1.0) for a in shown]
    figure = Figure(figsize=(5.2 * len(shown), max(heights) + 0.6), layout="constrained")
    axes = figure.subplots(1, len(shown), squeeze=False)[0]
    for axis, attribute in zip(axes, shown, strict=True):
        rows = profile[profile["attribute"].eq(attribute)]
        order = ATTRIBUTE_ORDER.get(attribute)
        if order is None:  # most typical of best customers on top
            ratio = rows["share_of_best"] / rows["share_of_regretted"].clip(lower=1e-9)
            rows = rows.assign(_ratio=ratio).sort_values("_ratio")
        else:
            position = {value: i for i, value in enumerate(order)}
            rows = rows.assign(_order=rows["value"].map(position)).sort_values(
                "_order", ascending=False
            )
        y = np.arange(len(rows))
        axis.barh(y + 0.2, rows["share_of_best"], height=0.4, color=WIN_COLOUR, label="best")
        axis.barh(
            y - 0.2, rows["share_of_regretted"], height=0.4, color=REGRET_COLOUR, label="regretted"
        )
        axis.set_yticks(y, [str(v) for v in rows["value"]])
        axis.xaxis.set_major_formatter(PERCENT)
        axis.set_xlabel("share of the group's customers")
        axis.set_title(ATTRIBUTE_TITLES.get(attribute, attribute), fontsize=11)
        axis.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    best = int(profile.groupby("attribute")["best"].sum().max())
    regretted = int(profile.groupby("attribute")["regretted"].sum().max())
    figure.suptitle(
        f"The learned ICP: {best:,} best customers (wins kept) vs {regretted:,} regretted"
    )
    return figure
