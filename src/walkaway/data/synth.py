"""Synthetic CRM history: a messy Salesforce-like export whose true drivers are known.

Every deal gets two probabilities on the logit scale, each a sum of terms named by the
"sign" that a seller can read before bidding (tables and coefficients: docs/synthetic-spec.md):

- glass_walls -- the deal is already decided elsewhere. A long-tenured incumbent, a formal
  tender with a short response window, no access to the decision maker and many competitors
  all lower the chance of winning, and a tender at an account whose incumbent has been there
  three years or more (a bid invited for compliance) lowers it much further. A tender also slightly raises regret if we do win.
- icp_fit -- the account is our kind of customer (industry fit plus a company-size sweet spot
  around 1,000 employees). Good fit raises winning a little and lowers regret a lot, so a bad
  fit mostly shows up as wins that later churn or lose money.
- need_fit -- what the buyer needs versus what the product covers. Low coverage of the required
  capabilities, an uncovered must-have and undefined needs lower winning; low coverage, an
  uncovered must-have and required customisation raise regret strongly.
- deal_context (not a sign, but reported) -- size of the deal, region, seller skill, lead
  source and deal type move winning; new business regrets a little more than expansion.

p_win = sigmoid(B0 + sum of win terms) and p_regret = sigmoid(C0 + sum of regret terms);
B0 and C0 put the win rate near 0.30 and the regret rate among wins near 0.25. There is no
hidden noise: the noise is the Bernoulli draws and the mess of the export. Every deal is
won with p_win; a won deal is regrettable with p_regret, and its churn or negative margin
appears 30-364 days after the close, so only events up to the export date are visible.

Time: a deal's cycle is drawn given its eventual outcome (wins take about 2 months, losses
about 5; larger deals, tenders and undefined needs take longer), and a deal whose close would
fall after the export date is open. So the chance that an open deal wins falls as it ages:
for an open deal, ``truth.parquet``'s ``p_win`` (and p_good, the effects) are as of the export,
given its age (:func:`p_win_at_age`); ``p_win_at_creation`` is the chance it had at creation.

The good outcome is a win that is not regretted: p_good = p_win * (1 - p_regret). The truth
effect of a sign is p_good minus p_good with that sign's win and regret terms set to their
population means (taken from a fixed 200,000-deal reference sample, seed 0), so a negative
effect says "this sign makes the deal worse than an average deal". ``true_driver`` is the
sign among glass_walls, icp_fit and need_fit with the most negative effect.

The export is deliberately messy: inconsistent casing of categories, several spellings of
booleans, empty cells and amounts typed 100 times too large.

Determinism and memory: randomness comes from ``np.random.SeedSequence(seed)`` with one
stream for accounts, one for sellers and one per fixed block of ``BLOCK_ROWS`` deals. The
``chunk_size`` argument only sets how many blocks are formatted and appended per write (it is
rounded up to whole blocks), so the files do not depend on it.

Later exports of the same world: the deals of an export are a :class:`Cohort` (deals created
over a span of days from streams of their own). Everything a deal will ever do is drawn when
it is created, and :func:`write_cohorts` shows the cohorts as a CRM would on any export date,
so a later export shows the same deals further on, plus the cohorts created since
(:mod:`walkaway.data.synth_continuation`), whose rules a :class:`SegmentShift` may change.
``synth.json`` records what is needed to do so (:mod:`walkaway.data.synth_manifest`).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtr

from walkaway.data.synth_manifest import SynthManifest

__all__ = [
    "BLOCK_ROWS",
    "EXPORT_DATE",
    "HISTORY_START",
    "SIGNS",
    "Cohort",
    "CohortCounts",
    "SegmentShift",
    "SynthSummary",
    "count_accounts",
    "day_of",
    "write_cohorts",
    "write_synthetic_history",
]

EXPORT_DATE: pd.Timestamp = pd.Timestamp("2025-12-31")
HISTORY_START: pd.Timestamp = pd.Timestamp("2022-01-01")
SIGNS: tuple[str, ...] = ("glass_walls", "icp_fit", "need_fit")
# The truth file also reports the context group, which is never a "driver".
EFFECT_GROUPS: tuple[str, ...] = (*SIGNS, "deal_context")

# Rows drawn from one random stream. Fixed, so output never depends on chunk_size.
BLOCK_ROWS = 10_000

# Intercepts found with _solve_intercepts() on the 200,000-deal seed-0 reference sample:
# B0 makes the expected win rate 0.30 and C0 the expected regret rate among wins 0.25.
B0 = -0.021
C0 = -0.7199

# Time to close (days) ~ lognormal given the eventual outcome: wins take about 2 months and
# losses about 5 (a public CRM study found 2 and 6), so the chance that a deal still open wins
# falls as it ages. Larger deals, formal tenders and undefined needs take longer either way.
CYCLE_MEDIAN_WON = 60.0
CYCLE_MEDIAN_LOST = 150.0
CYCLE_SIGMA_WON = 0.5
CYCLE_SIGMA_LOST = 0.7
CYCLE_DAYS = (7, 720)

REFERENCE_DEALS = 200_000
REFERENCE_SEED = 0

_EXPORT_DAY = int((EXPORT_DATE - HISTORY_START).days)  # day offsets count from HISTORY_START

# ---------------------------------------------------------------------------------------------
# Tables of the generative model (docs/synthetic-spec.md)
# ---------------------------------------------------------------------------------------------
INDUSTRIES = (
    "manufacturing",
    "logistics",
    "healthcare",
    "technology",
    "financial services",
    "public sector",
    "retail",
    "hospitality",
)
INDUSTRY_WEIGHTS = np.array([0.18, 0.12, 0.14, 0.16, 0.12, 0.10, 0.12, 0.06])
INDUSTRY_FIT = np.array([0.8, 0.6, 0.4, 0.1, 0.0, -0.3, -0.6, -0.9])
_PUBLIC_SECTOR = INDUSTRIES.index("public sector")

OWNERSHIPS = ("Private", "Public", "Subsidiary")
OWNERSHIP_WEIGHTS = np.array([0.55, 0.30, 0.15])

CAPABILITIES = (
    "forecasting",
    "inventory",
    "api access",
    "sso",
    "mobile app",
    "multi currency",
    "audit trail",
    "custom reports",
    "offline mode",
    "eu hosting",
)
CAPABILITY_POPULARITY = {
    "forecasting": 3.0,
    "inventory": 3.0,
    "custom reports": 2.0,
    "api access": 2.0,
    "sso": 1.5,
    "mobile app": 1.5,
    "multi currency": 1.0,
    "audit trail": 1.0,
    "offline mode": 0.7,
    "eu hosting": 0.7,
}

# Ordered by price, so "first product with the most coverage" is "the cheapest".
PRODUCTS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("Lite", ("forecasting", "inventory"), 6000),
    ("Core", ("forecasting", "inventory", "custom reports"), 15000),
    ("Field", ("inventory", "mobile app", "offline mode"), 18000),
    ("Finance", ("forecasting", "multi currency", "audit trail", "custom reports"), 24000),
    (
        "Pro",
        (
            "forecasting",
            "inventory",
            "custom reports",
            "api access",
            "sso",
            "audit trail",
            "multi currency",
        ),
        40000,
    ),
    ("Enterprise", CAPABILITIES, 90000),
)

REGIONS = ("EMEA", "North America", "APAC", "LATAM")
REGION_WEIGHTS = np.array([0.35, 0.35, 0.20, 0.10])
REGION_WIN = np.array([0.1, 0.2, -0.1, -0.2])

LEAD_SOURCES = ("Referral", "Partner", "Inbound", "Outbound", "Event")
LEAD_SOURCE_WEIGHTS = np.array([0.15, 0.15, 0.30, 0.30, 0.10])
LEAD_SOURCE_WIN = np.array([0.5, 0.2, 0.1, -0.3, 0.0])

DEAL_TYPES = ("New Business", "Expansion")
DEAL_TYPE_WEIGHTS = np.array([0.75, 0.25])
DEAL_TYPE_WIN = np.array([-0.15, 0.45])

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review")
OPEN_STAGE_WEIGHTS = np.array([0.30, 0.30, 0.25, 0.15])
STAGES = ("Closed Won", "Closed Lost", *OPEN_STAGES)

RIVAL_VENDORS = (
    "Sapient ERP",
    "Orbis Systems",
    "Kestrel Software",
    "Northwind Suite",
    "Vantage Cloud",
    "Meridian Apps",
)
N_SELLERS = 40
SELLER_SKILL_SD = 0.3

_FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas",
    "Kara", "Leo", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wes", "Ximena", "Yusuf", "Zoe", "Aiden", "Bianca", "Carlos", "Dana",
    "Emil", "Freya", "Gabriel", "Hana", "Ivan", "Julia", "Kenji", "Lina", "Marco", "Nadia",
)  # fmt: skip
_LAST_NAMES = (
    "Adler", "Brooks", "Castillo", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist",
    "Rossi", "Santos", "Tanaka", "Urban", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmer",
    "Bauer", "Costa", "Duarte", "Ferreira", "Gray", "Holm", "Iqbal", "Keller", "Lund",
    "Mendes", "Novak", "Ortiz", "Park", "Reyes",
)  # fmt: skip
_NAME_ONSETS = ("b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
                "br", "tr", "st", "cl", "gr", "pl", "qu", "h", "j")  # fmt: skip
_NAME_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y")
_NAME_CODAS = ("", "", "", "n", "r", "s", "x", "l", "m", "nd", "rt")
_COMPANY_SUFFIXES = ("Group", "Industries", "Ltd", "GmbH", "Holdings", "Systems", "Partners",
                     "& Co", "Works", "International", "Solutions", "AG", "Inc", "SA")  # fmt: skip

# Mess of the export.
CASING_MESS_RATE = 0.10
BOOLEAN_MESS_RATE = 0.10
AMOUNT_OUTLIER_RATE = 0.005
AMOUNT_OUTLIER_FACTOR = 100
MISSING_RATES = {
    "tenure": 0.08,
    "decision_maker_access": 0.10,
    "competitors": 0.05,
    "amount": 0.02,
    "lead_source": 0.04,
    "employees": 0.04,
    "industry": 0.03,
    "annual_revenue": 0.06,
}
# Boolean spellings: (false, true); the first pair is the usual one.
_BOOLEAN_SPELLINGS = (("No", "Yes"), ("N", "Y"), ("FALSE", "TRUE"), ("no", "yes"))

DEAL_COLUMNS = (
    "Opportunity ID",
    "Account ID",
    "Created Date",
    "Close Date",
    "Stage",
    "Amount",
    "Sales Region",
    "Opportunity Owner",
    "Product",
    "Lead Source",
    "Type",
    "Incumbent Vendor",
    "Incumbent Tenure (years)",
    "Competitors",
    "Formal Tender",
    "Response Window (days)",
    "Decision Maker Access",
    "Required Capabilities",
    "Must-Have Capabilities",
    "Customisation Required",
    "Needs Defined",
    "Churn Date",
    "Regret Flag",
    "Gross Margin %",
)

TRUTH_SCHEMA = pa.schema(
    [
        ("deal_id", pa.string()),
        ("p_win", pa.float64()),
        ("p_win_at_creation", pa.float64()),
        ("age_days", pa.int64()),
        ("cycle_log_median_won", pa.float64()),
        ("cycle_log_median_lost", pa.float64()),
        ("won_eventually", pa.bool_()),
        ("p_regret", pa.float64()),
        ("p_good", pa.float64()),
        *[(f"effect_{group}", pa.float64()) for group in EFFECT_GROUPS],
        ("true_driver", pa.string()),
        ("icp", pa.float64()),
        ("coverage", pa.float64()),
        ("must_have_gap", pa.bool_()),
        ("won", pa.bool_()),
        ("regrettable", pa.bool_()),
        ("regret_visible", pa.bool_()),
    ]
)

# Independent random streams: SeedSequence(seed, spawn_key=(stream, block)). Keys all have
# length 2 so that no two streams can share their entropy.
_STREAM_ACCOUNTS = 0
_STREAM_SELLERS = 1
_STREAM_DEALS = 2
_STREAM_PROGRESS = 3  # the stage history: its own stream, so the other files never change
# Later cohorts (one per month of a continued world) use streams from 4 on: see Cohort.

# Stage history (--stage-history): a deal enters each open stage at this share of its cycle; a
# win goes through all of them, a loss stops at a random one. Sellers expect a deal to close
# in the usual time of a win; each time that day passes with the deal open, the expected close
# moves SLIP_DAYS later.
STAGE_ENTRY_SHARES = (0.0, 0.2, 0.5, 0.8)
SLIP_DAYS = 30
STAGE_HISTORY_COLUMNS = ("Opportunity ID", "Changed Date", "Stage", "Expected Close Date")


@dataclass(frozen=True)
class SynthSummary:
    """What ``write_synthetic_history`` wrote.

    Attributes
    ----------
    out_dir : Path
        Folder holding deals.csv, accounts.csv, products.csv and truth.parquet.
    n_deals, n_accounts : int
        Rows of deals.csv and accounts.csv.
    n_open, n_won, n_lost : int
        Deals still open at the export date, closed won and closed lost.
    n_regret_visible : int
        Won deals whose regret (churn date or regret flag) is visible in the export.
    seconds : float
        Wall-clock time taken.
    """

    out_dir: Path
    n_deals: int
    n_accounts: int
    n_open: int
    n_won: int
    n_lost: int
    n_regret_visible: int
    seconds: float


@dataclass(frozen=True)
class SegmentShift:
    """New rules of the world for the deals of one segment, a region or an industry.

    The rules it leaves as ``None`` (or 0) are the world's own. Features it changes are drawn
    from a random stream of their own, so deals outside the segment come out the same with
    and without it.

    Attributes
    ----------
    region, industry : int or None
        Index into REGIONS or INDUSTRIES: the segment is the deals of that region or industry.
    incumbent_rate : float or None
        Chance of an incumbent (the world's: 0.45).
    entrenched_rival : int or None
        Index into RIVAL_VENDORS of the rival that is the incumbent, when there is one, with
        chance ``entrenched_share`` (else one of them at random, as in the world).
    entrenched_share : float
        See ``entrenched_rival``.
    min_tenure : int or None
        The incumbent's tenure is uniform over min_tenure..15 years (the world's: 1..15).
    tender_rate : float or None
        Chance of a formal tender (the world's: 0.25, public sector 0.55).
    win_logit, regret_logit : float
        Added to the log-odds of winning and of regret, and shown by no feature.
    """

    region: int | None = None
    industry: int | None = None
    incumbent_rate: float | None = None
    entrenched_rival: int | None = None
    entrenched_share: float = 0.0
    min_tenure: int | None = None
    tender_rate: float | None = None
    win_logit: float = 0.0
    regret_logit: float = 0.0

    def selects(self, region: np.ndarray, industry: np.ndarray) -> np.ndarray:
        """Which deals (by true region and industry index) are in the segment."""
        chosen = np.ones(len(region), dtype=bool)
        if self.region is not None:
            chosen &= region == self.region
        if self.industry is not None:
            chosen &= industry == self.industry
        return chosen


@dataclass(frozen=True)
class Cohort:
    """Deals created over a span of days, drawn from random streams of their own.

    The first export is one cohort (streams 2 and 3); the month ``m`` after it of a continued
    world is another (``Cohort.of_month``), so a deal never depends on how many exports were
    taken, or when.

    Attributes
    ----------
    first_number : int
        Number of its first deal (``OPP-0000001`` is 1); its deals are numbered on from there.
    n_deals : int
        How many deals it has (0 is allowed: nothing is drawn).
    first_day, last_day : int
        Days since HISTORY_START its deals are created on (both included), uniformly.
    deals_stream, progress_stream : int
        Streams of its deals and of its stage history.
    shift_stream : int or None
        Stream of the features its shifts change (None: it can have no shifts).
    shifts : tuple of SegmentShift
        Changed rules for segments of its deals.
    """

    first_number: int
    n_deals: int
    first_day: int
    last_day: int
    deals_stream: int
    shift_stream: int | None
    progress_stream: int
    shifts: tuple[SegmentShift, ...] = ()

    def __post_init__(self) -> None:
        if self.shifts and self.shift_stream is None:
            raise ValueError("a cohort with shifts needs a stream for them")

    @classmethod
    def first_export(cls, n_deals: int) -> Cohort:
        """The deals of ``walkaway synth``: created from HISTORY_START to EXPORT_DATE."""
        return cls(1, n_deals, 0, _EXPORT_DAY, _STREAM_DEALS, None, _STREAM_PROGRESS)

    @classmethod
    def of_month(
        cls,
        month: int,
        first_number: int,
        n_deals: int,
        days: tuple[int, int],
        shifts: tuple[SegmentShift, ...] = (),
    ) -> Cohort:
        """The deals created in the ``month``-th month (from 1) after the first export: its
        streams are 4 * month (deals), 4 * month + 1 (shifted features) and 4 * month + 2
        (stage history), none of them the first export's."""
        if month < 1:
            raise ValueError(f"month must be at least 1, got {month}")
        base = 4 * month
        return cls(first_number, n_deals, *days, base, base + 1, base + 2, shifts)

    @property
    def last_number(self) -> int:
        """Number of its last deal (``first_number - 1`` when it has none)."""
        return self.first_number + self.n_deals - 1


@dataclass(frozen=True)
class CohortCounts:
    """What :func:`write_cohorts` wrote of one cohort, as of the export date.

    ``n_closed_after``, ``n_won_after`` and ``n_regret_shown_after`` count deals closed, won,
    and wins whose regret showed after the ``after_day`` given (0 when none was given).
    """

    n_deals: int
    n_open: int
    n_won: int
    n_lost: int
    n_regret_visible: int
    n_closed_after: int
    n_won_after: int
    n_regret_shown_after: int


def day_of(date: pd.Timestamp) -> int:
    """Days from HISTORY_START to ``date``: how the generator counts days.

    >>> day_of(EXPORT_DATE)
    1460
    """
    return int((pd.Timestamp(date) - HISTORY_START).days)


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------------
def _rng(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    """Return the generator of one stream (and block) of a seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, block)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _format_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Format integers as zero-padded ids (``ACC-000042``) without a Python loop.

    Examples
    --------
    >>> _format_ids("OPP-", np.array([1, 42]), 7).tolist()
    ['OPP-0000001', 'OPP-0000042']
    """
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers.astype(np.int64)[:, None] // powers) % 10 + ord("0")
    text = np.ascontiguousarray(digits.astype(np.uint8)).view(f"S{width}").ravel()
    return np.char.add(prefix, text.astype(f"U{width}")).astype(object)


def _id_width(count: int, minimum: int) -> int:
    """Digits needed for ids up to ``count``, at least ``minimum``."""
    return max(minimum, len(str(count)))


_POPCOUNT_BY_MASK = np.array([bin(mask).count("1") for mask in range(1 << 10)], dtype=np.int64)


def _popcount(masks: np.ndarray) -> np.ndarray:
    """Number of capabilities in each bitmask (a table: np.bitwise_count needs numpy 2)."""
    return _POPCOUNT_BY_MASK[masks]


def _mask_of(capabilities: tuple[str, ...]) -> int:
    """Bitmask of a set of capabilities (bit i = CAPABILITIES[i])."""
    return sum(1 << CAPABILITIES.index(name) for name in capabilities)


@functools.cache
def _capability_text_by_mask() -> np.ndarray:
    """Text of every capability subset, indexed by its bitmask (2**10 entries)."""
    texts = [
        "; ".join(name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1)
        for mask in range(1 << len(CAPABILITIES))
    ]
    return np.array(texts, dtype=object)


@functools.cache
def _date_text_by_day(export_day: int = _EXPORT_DAY) -> np.ndarray:
    """dd/mm/yyyy of every day offset up to the export; the last entry is the empty cell."""
    last = HISTORY_START + pd.Timedelta(days=export_day)
    days = pd.date_range(HISTORY_START, last, freq="D").strftime("%d/%m/%Y")
    return np.array([*days, ""], dtype=object)


@functools.cache
def _margin_text_by_tenths() -> np.ndarray:
    """Gross Margin % text of -40.0..60.0 (index = tenths + 400); the last entry is empty."""
    return np.array([f"{tenths / 10:.1f}" for tenths in range(-400, 601)] + [""], dtype=object)


def _small_int_text(maximum: int) -> np.ndarray:
    """Text of 0..maximum; the last entry (index maximum + 1) is the empty cell."""
    return np.array([*(str(i) for i in range(maximum + 1)), ""], dtype=object)


def _casing_variants(labels: tuple[str, ...]) -> np.ndarray:
    """Table [label, variant] of spellings: canonical, UPPER, other case, trailing space.

    A canonical lower-case label gets Title case as its "other case", so every variant
    differs from the canonical form where it can.
    """
    rows = []
    for label in labels:
        other_case = label.title() if label == label.lower() else label.lower()
        rows.append([label, label.upper(), other_case, label + " "])
    return np.array(rows, dtype=object)


def _draw_variants(rng: np.random.Generator, n_rows: int, mess_rate: float) -> np.ndarray:
    """Spelling variant per row: 0 (canonical) or, with ``mess_rate``, one of 1..3."""
    messy = rng.random(n_rows) < mess_rate
    return np.where(messy, rng.integers(1, 4, n_rows), 0)


def _categorical(
    labels: tuple[str, ...],
    index: np.ndarray,
    variant: np.ndarray,
    missing: np.ndarray | None = None,
) -> np.ndarray:
    """Messy text of a categorical column from its category and spelling variant."""
    text = _casing_variants(labels)[index, variant]
    if missing is not None:
        text[missing] = ""
    return text


def _boolean_text(
    values: np.ndarray, variant: np.ndarray, missing: np.ndarray | None = None
) -> np.ndarray:
    """Messy text of a boolean column ("Yes"/"No" mostly, other spellings sometimes)."""
    table = np.array(_BOOLEAN_SPELLINGS, dtype=object)
    text = table[variant, values.astype(np.int64)]
    if missing is not None:
        text[missing] = ""
    return text


# ---------------------------------------------------------------------------------------------
# Accounts and sellers
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Accounts:
    """True attributes of the accounts (what deals and the truth use) and their export."""

    industry: np.ndarray  # index into INDUSTRIES
    employees: np.ndarray
    icp: np.ndarray
    ids: np.ndarray  # "ACC-000001", ...
    frame: pd.DataFrame  # accounts.csv, with its mess


def _icp_score(industry: np.ndarray, employees: np.ndarray) -> np.ndarray:
    """True ICP fit: industry fit plus a size sweet spot around 1,000 employees."""
    size_fit = np.clip(1.0 - ((np.log10(employees) - 3.0) / 0.9) ** 2, -1.5, 1.0)
    return INDUSTRY_FIT[industry] + size_fit


def _company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pronounceable fake company names: two or three syllables and a suffix."""
    onsets = np.array(_NAME_ONSETS, dtype=object)
    capital_onsets = np.array([o.capitalize() for o in _NAME_ONSETS], dtype=object)
    vowels = np.array(_NAME_VOWELS, dtype=object)
    codas = np.array(_NAME_CODAS, dtype=object)
    suffixes = np.array(_COMPANY_SUFFIXES, dtype=object)
    n_syllables = rng.integers(2, 4, n)
    syllable_picks = [
        (rng.integers(0, len(onsets), n), rng.integers(0, len(vowels), n)) for _ in range(3)
    ]
    name = capital_onsets[syllable_picks[0][0]] + vowels[syllable_picks[0][1]]
    name = name + onsets[syllable_picks[1][0]] + vowels[syllable_picks[1][1]]
    third = onsets[syllable_picks[2][0]] + vowels[syllable_picks[2][1]]
    name = np.where(n_syllables == 3, name + third, name)
    name = name + codas[rng.integers(0, len(codas), n)]
    return name + " " + suffixes[rng.integers(0, len(suffixes), n)]


def _make_accounts(n_accounts: int, seed: int) -> _Accounts:
    """Draw the accounts and build accounts.csv (in memory: N // 6 rows)."""
    rng = _rng(seed, _STREAM_ACCOUNTS)
    industry = rng.choice(len(INDUSTRIES), size=n_accounts, p=INDUSTRY_WEIGHTS)
    employees = np.clip(rng.lognormal(np.log(400.0), 1.4, n_accounts).astype(np.int64), 5, 250_000)
    revenue = np.round(employees * rng.lognormal(np.log(180_000.0), 0.5, n_accounts), -3)
    founded = rng.integers(1950, 2024, n_accounts)
    ownership = rng.choice(len(OWNERSHIPS), size=n_accounts, p=OWNERSHIP_WEIGHTS)
    names = _company_names(rng, n_accounts)
    industry_variant = _draw_variants(rng, n_accounts, CASING_MESS_RATE)
    industry_missing = rng.random(n_accounts) < MISSING_RATES["industry"]
    employees_missing = rng.random(n_accounts) < MISSING_RATES["employees"]
    revenue_missing = rng.random(n_accounts) < MISSING_RATES["annual_revenue"]

    ids = _format_ids("ACC-", np.arange(1, n_accounts + 1), _id_width(n_accounts, 6))
    # Empty cells hide information from a model, not from the truth (icp uses true values).
    frame = pd.DataFrame(
        {
            "Account ID": ids,
            "Account Name": names,
            "Industry": _categorical(INDUSTRIES, industry, industry_variant, industry_missing),
            "Employees": pd.arrays.IntegerArray(employees, employees_missing),
            "Annual Revenue": pd.arrays.IntegerArray(revenue.astype(np.int64), revenue_missing),
            "Year Founded": founded,
            "Ownership": np.array(OWNERSHIPS, dtype=object)[ownership],
        }
    )
    return _Accounts(
        industry=industry,
        employees=employees,
        icp=_icp_score(industry, employees),
        ids=ids,
        frame=frame,
    )


def _make_sellers(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Names and skills (logit shift of winning) of the 40 sellers of a seed."""
    rng = _rng(seed, _STREAM_SELLERS)
    first = np.array(_FIRST_NAMES, dtype=object)[rng.permutation(len(_FIRST_NAMES))[:N_SELLERS]]
    last = np.array(_LAST_NAMES, dtype=object)[rng.permutation(len(_LAST_NAMES))[:N_SELLERS]]
    skill = rng.normal(0.0, SELLER_SKILL_SD, N_SELLERS)
    return first + " " + last, skill


def _products_frame() -> pd.DataFrame:
    """products.csv: product, capabilities, list price and a one-sentence description."""
    rows = []
    for name, capabilities, price in PRODUCTS:
        listed = ", ".join(capabilities[:-1]) + " and " + capabilities[-1]
        rows.append(
            {
                "Product": name,
                "Capabilities": "; ".join(capabilities),
                "List Price": price,
                "Description": f"{name} covers {listed}.",
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Deals: one block of BLOCK_ROWS rows from one random stream
# ---------------------------------------------------------------------------------------------
@dataclass
class _DealBlock:
    """Everything drawn for a block of deals: true inputs, terms, outcomes and mess choices."""

    deal_number: np.ndarray  # 1-based, gives the Opportunity ID
    account: np.ndarray  # index into the accounts
    created_day: np.ndarray  # days since HISTORY_START
    close_day: np.ndarray  # created + cycle (on or before the export date when closed)
    closed: np.ndarray  # as of the export date (_observe)
    open_stage: np.ndarray
    region: np.ndarray
    seller: np.ndarray
    lead_source: np.ndarray
    deal_type: np.ndarray
    has_incumbent: np.ndarray
    rival: np.ndarray
    tenure: np.ndarray  # 0 when no incumbent
    competitors: np.ndarray
    tender: np.ndarray
    window: np.ndarray  # 0 when no tender
    decision_maker_access: np.ndarray
    required_mask: np.ndarray
    must_have_mask: np.ndarray
    product: np.ndarray
    coverage: np.ndarray
    must_have_gap: np.ndarray
    customisation: np.ndarray
    needs_defined: np.ndarray
    amount: np.ndarray  # before outliers, as the buyer sees it
    amount_typed: np.ndarray  # with the typing errors of the export
    win_terms: np.ndarray  # (len(EFFECT_GROUPS), n), logit scale
    regret_terms: np.ndarray
    hidden_win: np.ndarray  # a shift's log-odds that no feature shows (0 in the world's rules)
    hidden_regret: np.ndarray
    icp: np.ndarray
    p_win: np.ndarray
    p_regret: np.ndarray
    won_eventually: np.ndarray  # the outcome every deal reaches, open ones after the export
    regret_eventually: np.ndarray  # a win that will be regretted (False unless won_eventually)
    log_median_won: np.ndarray  # ln of the median cycle (days) the deal would take to a win
    log_median_lost: np.ndarray  # ... and to a loss
    churn_shown: np.ndarray  # visible regret shown as a churn date (else as flag + margin)
    event_day: np.ndarray
    regret_flag_no: np.ndarray  # happy wins: "N" instead of an empty Regret Flag
    bad_margin_tenths: np.ndarray  # Gross Margin % (tenths) shown with a regret flag ...
    good_margin_tenths: np.ndarray  # ... and by every other win
    # As seen on the export date (_observe): what has closed, and which regret shows.
    won: np.ndarray  # False when open
    regrettable: np.ndarray  # False unless won
    regret_visible: np.ndarray
    margin_tenths: np.ndarray  # Gross Margin % in tenths of a percent
    # Mess choices (spelling variants and missing cells).
    region_variant: np.ndarray
    lead_source_variant: np.ndarray
    deal_type_variant: np.ndarray
    boolean_variants: np.ndarray  # (4, n): tender, access, customisation, needs defined
    tenure_missing: np.ndarray
    access_missing: np.ndarray
    competitors_missing: np.ndarray
    amount_missing: np.ndarray
    lead_source_missing: np.ndarray


_PRODUCT_MASKS = np.array([_mask_of(caps) for _, caps, _ in PRODUCTS], dtype=np.int64)
_PRODUCT_PRICES = np.array([price for _, _, price in PRODUCTS], dtype=np.float64)
_POPULARITY = np.array([CAPABILITY_POPULARITY[name] for name in CAPABILITIES])
_BITS = 1 << np.arange(len(CAPABILITIES), dtype=np.int64)


def _draw_capabilities(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Required and must-have capability bitmasks.

    Weighted sampling without replacement, vectorised: each capability gets the key
    Exp(1) / weight and the k smallest keys win (Efraimidis-Spirakis), which is the same
    law as drawing one at a time proportionally to the weights.
    """
    k = 1 + rng.binomial(4, 0.5, n)
    keys = rng.exponential(1.0, (n, len(CAPABILITIES))) / _POPULARITY
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    required = ranks < k[:, None]
    required_mask = (required * _BITS).sum(axis=1)

    n_must = np.minimum(rng.choice(3, size=n, p=[0.4, 0.4, 0.2]), k)
    must_keys = np.where(required, rng.random((n, len(CAPABILITIES))), np.inf)
    must_ranks = np.argsort(np.argsort(must_keys, axis=1), axis=1)
    must_mask = ((must_ranks < n_must[:, None]) * _BITS).sum(axis=1)
    return required_mask, must_mask


@dataclass(frozen=True)
class _Rules:
    """Per deal, the rules of the world a SegmentShift can change."""

    incumbent_rate: np.ndarray
    tender_rate: np.ndarray
    rival: np.ndarray
    tenure: np.ndarray  # drawn for every deal, used where there is an incumbent
    hidden_win: np.ndarray
    hidden_regret: np.ndarray


def _shift_rules(
    rules: _Rules,
    shifts: Sequence[SegmentShift],
    rng: np.random.Generator | None,
    region: np.ndarray,
    industry: np.ndarray,
) -> _Rules:
    """The rules with each shift applied to its segment; its new draws come from ``rng``."""
    for shift in shifts:
        assert rng is not None  # Cohort refuses shifts without a stream
        segment = shift.selects(region, industry)
        n = len(segment)
        changed: dict[str, np.ndarray] = {
            "hidden_win": rules.hidden_win + np.where(segment, shift.win_logit, 0.0),
            "hidden_regret": rules.hidden_regret + np.where(segment, shift.regret_logit, 0.0),
        }
        if shift.incumbent_rate is not None:
            changed["incumbent_rate"] = np.where(
                segment, shift.incumbent_rate, rules.incumbent_rate
            )
        if shift.tender_rate is not None:
            changed["tender_rate"] = np.where(segment, shift.tender_rate, rules.tender_rate)
        if shift.entrenched_rival is not None:
            entrenched = segment & (rng.random(n) < shift.entrenched_share)
            changed["rival"] = np.where(entrenched, shift.entrenched_rival, rules.rival)
        if shift.min_tenure is not None:
            longer = rng.integers(shift.min_tenure, 16, n)
            changed["tenure"] = np.where(segment, longer, rules.tenure)
        rules = replace(rules, **changed)
    return rules


def _simulate_block(
    rng: np.random.Generator,
    cohort: Cohort,
    first_row: int,
    n: int,
    accounts: _Accounts,
    seller_skill: np.ndarray,
    shift_rng: np.random.Generator | None = None,
) -> _DealBlock:
    """Draw ``n`` deals of a cohort from its row ``first_row`` (0-based), as seen on its last
    day; all randomness of the block is here (a shift's in ``shift_rng``)."""
    # Calendar: the cycle's noise now, its length once the outcome is known.
    created_day = rng.integers(cohort.first_day, cohort.last_day + 1, n)
    cycle_noise = rng.standard_normal(n)
    open_stage = rng.choice(len(OPEN_STAGES), size=n, p=OPEN_STAGE_WEIGHTS)

    # Who and how.
    account = rng.integers(0, len(accounts.icp), n)
    industry = accounts.industry[account]
    employees = accounts.employees[account]
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    seller = rng.integers(0, len(seller_skill), n)
    lead_source = rng.choice(len(LEAD_SOURCES), size=n, p=LEAD_SOURCE_WEIGHTS)
    deal_type = rng.choice(len(DEAL_TYPES), size=n, p=DEAL_TYPE_WEIGHTS)

    # Glass walls: every draw first, then the rules, which a shift may change for its segment
    # (the same draws, so a deal outside it stays the same, and one inside it changes little).
    incumbent_draw = rng.random(n)
    rival_draw = rng.integers(0, len(RIVAL_VENDORS), n)
    tenure_draw = rng.integers(1, 16, n)
    competitors_draw = rng.poisson(1.2, n)
    tender_draw = rng.random(n)
    window_draw = rng.integers(5, 46, n)
    access_draw = rng.random(n)
    world_rules = _Rules(
        incumbent_rate=np.full(n, 0.45),
        tender_rate=np.where(industry == _PUBLIC_SECTOR, 0.55, 0.25),
        rival=rival_draw,
        tenure=tenure_draw,
        hidden_win=np.zeros(n),
        hidden_regret=np.zeros(n),
    )
    rules = _shift_rules(world_rules, cohort.shifts, shift_rng, region, industry)
    has_incumbent = incumbent_draw < rules.incumbent_rate
    rival = rules.rival
    tenure = np.where(has_incumbent, rules.tenure, 0)
    competitors = competitors_draw + has_incumbent
    tender = tender_draw < rules.tender_rate
    window = np.where(tender, window_draw, 0)
    decision_maker_access = access_draw < np.where(has_incumbent, 0.4, 0.65)

    # Need fit.
    required_mask, must_have_mask = _draw_capabilities(rng, n)
    covering = _popcount(required_mask[:, None] & _PRODUCT_MASKS[None, :])
    best_product = np.argmax(covering, axis=1)  # first maximum = cheapest
    pushed_product = rng.integers(0, len(PRODUCTS), n)
    product = np.where(rng.random(n) < 0.6, best_product, pushed_product)
    coverage = covering[np.arange(n), product] / _popcount(required_mask)
    must_have_gap = (must_have_mask & ~_PRODUCT_MASKS[product]) != 0
    customisation = rng.random(n) < 0.15 + 0.5 * (1.0 - coverage)
    needs_defined = rng.random(n) < 0.75

    # Amount, and the typing errors of the export.
    seats_factor = rng.lognormal(0.35 * np.log(employees / 400.0), 0.5, n)
    amount = np.maximum(np.round(_PRODUCT_PRICES[product] * seats_factor, -1), 10.0)
    typo = rng.random(n) < AMOUNT_OUTLIER_RATE
    amount_typed = np.where(typo, amount * AMOUNT_OUTLIER_FACTOR, amount).astype(np.int64)

    # True model, one row of terms per group in EFFECT_GROUPS order.
    icp = accounts.icp[account]
    new_business = deal_type == DEAL_TYPES.index("New Business")
    gw_win = (
        -0.12 * np.minimum(tenure, 12)
        - 0.9 * (tender & (window <= 14))
        - 0.3 * (tender & (window > 14))
        - 0.7 * ~decision_maker_access
        - 0.15 * competitors
        # The article's compliance bid: a tender run by an account whose incumbent is entrenched.
        - 0.8 * (tender & (tenure >= 3))
    )
    need_win = 1.0 * (coverage - 0.75) - 0.4 * must_have_gap - 0.3 * ~needs_defined
    ctx_win = (
        -0.25 * np.log(amount / 25_000.0)
        + REGION_WIN[region]
        + seller_skill[seller]
        + LEAD_SOURCE_WIN[lead_source]
        + DEAL_TYPE_WIN[deal_type]
    )
    win_terms = np.stack([gw_win, 0.35 * icp, need_win, ctx_win])
    regret_terms = np.stack(
        [
            0.15 * tender,
            -1.3 * icp,
            -2.2 * (coverage - 0.75) + 1.0 * must_have_gap + 0.6 * customisation,
            0.2 * new_business,
        ]
    )
    p_win = _sigmoid(B0 + win_terms.sum(axis=0) + rules.hidden_win)
    p_regret = _sigmoid(C0 + regret_terms.sum(axis=0) + rules.hidden_regret)

    # Outcomes: drawn for every row (simpler, same stream), used where they apply. Every deal
    # has an eventual outcome, and a win its eventual regret; the time it takes depends on it
    # (and on the deal), so a deal still open at the export is open because its outcome is
    # slow to come. What an export shows of them depends on its date (_observe).
    won_eventually = rng.random(n) < p_win
    log_median_won, log_median_lost = cycle_log_medians(amount, tender, needs_defined)
    log_median = np.where(won_eventually, log_median_won, log_median_lost)
    sigma = np.where(won_eventually, CYCLE_SIGMA_WON, CYCLE_SIGMA_LOST)
    cycle = np.clip(np.round(np.exp(log_median + sigma * cycle_noise)), *CYCLE_DAYS)
    close_day = created_day + cycle.astype(np.int64)
    regret_eventually = won_eventually & (rng.random(n) < p_regret)
    event_day = close_day + rng.integers(30, 365, n)
    churn_shown = rng.random(n) < 0.7
    regret_flag_no = rng.random(n) < 0.5
    bad_margin_tenths = np.rint(rng.uniform(-40.0, -5.0, n) * 10).astype(np.int64)
    good_margin_tenths = np.rint(rng.uniform(5.0, 60.0, n) * 10).astype(np.int64)
    outcomes_seen = _outcomes_seen(
        close_day,
        won_eventually,
        regret_eventually,
        event_day,
        churn_shown,
        bad_margin_tenths,
        good_margin_tenths,
        cohort.last_day,
    )

    first_deal = cohort.first_number + first_row
    return _DealBlock(
        deal_number=np.arange(first_deal, first_deal + n, dtype=np.int64),
        account=account,
        created_day=created_day,
        close_day=close_day,
        open_stage=open_stage,
        region=region,
        seller=seller,
        lead_source=lead_source,
        deal_type=deal_type,
        has_incumbent=has_incumbent,
        rival=rival,
        tenure=tenure,
        competitors=competitors,
        tender=tender,
        window=window,
        decision_maker_access=decision_maker_access,
        required_mask=required_mask,
        must_have_mask=must_have_mask,
        product=product,
        coverage=coverage,
        must_have_gap=must_have_gap,
        customisation=customisation,
        needs_defined=needs_defined,
        amount=amount,
        amount_typed=amount_typed,
        win_terms=win_terms,
        regret_terms=regret_terms,
        hidden_win=rules.hidden_win,
        hidden_regret=rules.hidden_regret,
        icp=icp,
        p_win=p_win,
        p_regret=p_regret,
        won_eventually=won_eventually,
        regret_eventually=regret_eventually,
        log_median_won=log_median_won,
        log_median_lost=log_median_lost,
        churn_shown=churn_shown,
        event_day=event_day,
        regret_flag_no=regret_flag_no,
        bad_margin_tenths=bad_margin_tenths,
        good_margin_tenths=good_margin_tenths,
        **outcomes_seen,
        region_variant=_draw_variants(rng, n, CASING_MESS_RATE),
        lead_source_variant=_draw_variants(rng, n, CASING_MESS_RATE),
        deal_type_variant=_draw_variants(rng, n, CASING_MESS_RATE),
        boolean_variants=np.stack([_draw_variants(rng, n, BOOLEAN_MESS_RATE) for _ in range(4)]),
        tenure_missing=rng.random(n) < MISSING_RATES["tenure"],
        access_missing=rng.random(n) < MISSING_RATES["decision_maker_access"],
        competitors_missing=rng.random(n) < MISSING_RATES["competitors"],
        amount_missing=rng.random(n) < MISSING_RATES["amount"],
        lead_source_missing=rng.random(n) < MISSING_RATES["lead_source"],
    )


def _concat_blocks(blocks: list[_DealBlock]) -> _DealBlock:
    """Stack blocks into one (term matrices along their deal axis)."""
    if len(blocks) == 1:
        return blocks[0]
    stacked = {
        field.name: np.concatenate([getattr(block, field.name) for block in blocks], axis=-1)
        for field in fields(_DealBlock)
    }
    return _DealBlock(**stacked)


def _outcomes_seen(
    close_day: np.ndarray,
    won_eventually: np.ndarray,
    regret_eventually: np.ndarray,
    event_day: np.ndarray,
    churn_shown: np.ndarray,
    bad_margin_tenths: np.ndarray,
    good_margin_tenths: np.ndarray,
    export_day: int,
) -> dict[str, np.ndarray]:
    """What an export taken on ``export_day`` shows of the outcomes (the _DealBlock fields
    closed, won, regrettable, regret_visible and margin_tenths)."""
    closed = close_day <= export_day
    won = closed & won_eventually
    regrettable = won & regret_eventually
    regret_visible = regrettable & (event_day <= export_day)
    shown_bad = regret_visible & ~churn_shown
    return {
        "closed": closed,
        "won": won,
        "regrettable": regrettable,
        "regret_visible": regret_visible,
        "margin_tenths": np.where(shown_bad, bad_margin_tenths, good_margin_tenths),
    }


def _observe(deals: _DealBlock, export_day: int) -> _DealBlock:
    """The same deals as an export taken on ``export_day`` shows them."""
    seen = _outcomes_seen(
        deals.close_day,
        deals.won_eventually,
        deals.regret_eventually,
        deals.event_day,
        deals.churn_shown,
        deals.bad_margin_tenths,
        deals.good_margin_tenths,
        export_day,
    )
    return replace(deals, **seen)


def _simulate_deals(
    seed: int,
    cohort: Cohort,
    first_block: int,
    n_blocks: int,
    accounts: _Accounts,
    seller_skill: np.ndarray,
    export_day: int,
) -> _DealBlock:
    """Simulate ``n_blocks`` consecutive blocks of a cohort (at least one deal), as an export
    taken on ``export_day`` (on or after the cohort's last day) shows them."""
    blocks = []
    for block in range(first_block, first_block + n_blocks):
        first_row = block * BLOCK_ROWS
        n_rows = min(BLOCK_ROWS, cohort.n_deals - first_row)
        if n_rows <= 0:
            break
        rng = _rng(seed, cohort.deals_stream, block)
        shift_rng = None
        if cohort.shift_stream is not None and cohort.shifts:
            shift_rng = _rng(seed, cohort.shift_stream, block)
        blocks.append(
            _simulate_block(rng, cohort, first_row, n_rows, accounts, seller_skill, shift_rng)
        )
    deals = _concat_blocks(blocks)
    return deals if export_day == cohort.last_day else _observe(deals, export_day)


def count_accounts(n_deals: int) -> int:
    """Accounts of a world whose first export has ``n_deals`` deals (later deals share them).

    >>> count_accounts(300), count_accounts(5000)
    (50, 833)
    """
    return max(50, n_deals // 6)


def _simulate_history(n_deals: int, seed: int) -> _DealBlock:
    """Simulate a whole (small) history in memory, without writing it."""
    accounts = _make_accounts(count_accounts(n_deals), seed)
    _, seller_skill = _make_sellers(seed)
    n_blocks = math.ceil(n_deals / BLOCK_ROWS)
    cohort = Cohort.first_export(n_deals)
    return _simulate_deals(seed, cohort, 0, n_blocks, accounts, seller_skill, _EXPORT_DAY)


# ---------------------------------------------------------------------------------------------
# Time to close, and the chance of a win given a deal's age
# ---------------------------------------------------------------------------------------------
def cycle_log_medians(
    amount: np.ndarray, tender: np.ndarray, needs_defined: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ln of the median days a deal takes to close, if it is to be won and if it is to be lost.

    >>> won, lost = cycle_log_medians(np.array([25_000.0]), np.array([False]), np.array([True]))
    >>> round(float(np.exp(won[0]))), round(float(np.exp(lost[0])))
    (60, 150)
    """
    shift = 0.15 * np.log(amount / 25_000.0) + np.log(1.4) * tender + np.log(1.25) * ~needs_defined
    return np.log(CYCLE_MEDIAN_WON) + shift, np.log(CYCLE_MEDIAN_LOST) + shift


def _still_open(log_median: np.ndarray, sigma: float, age_days: np.ndarray) -> np.ndarray:
    """P(a deal's cycle is longer than ``age_days``), cycles being rounded and clipped."""
    z = (np.log(np.asarray(age_days, dtype=float) + 0.5) - log_median) / sigma
    survival = ndtr(-np.clip(z, -40.0, 40.0))
    return np.where(
        age_days < CYCLE_DAYS[0], 1.0, np.where(age_days >= CYCLE_DAYS[1], 0.0, survival)
    )


def clock_logit(
    log_median_won: np.ndarray, log_median_lost: np.ndarray, age_days: np.ndarray
) -> np.ndarray:
    """What still being open at ``age_days`` adds to the log-odds of winning (0 at creation):
    ln P(open at that age | to be won) - ln P(open at that age | to be lost)."""
    won = _still_open(log_median_won, CYCLE_SIGMA_WON, age_days)
    lost = _still_open(log_median_lost, CYCLE_SIGMA_LOST, age_days)
    return np.log(np.maximum(won, 1e-300)) - np.log(np.maximum(lost, 1e-300))


def p_win_at_age(truth: pd.DataFrame, age_days: np.ndarray | pd.Series) -> np.ndarray:
    """True chance of winning of deals still open at ``age_days``, from their truth rows (Bayes:
    the odds at creation times how much likelier a slow win is than a slow loss).

    Examples
    --------
    >>> truth = pd.DataFrame({"p_win_at_creation": [0.3] * 3, "cycle_log_median_won":
    ...     [np.log(60.0)] * 3, "cycle_log_median_lost": [np.log(150.0)] * 3})
    >>> [round(float(p), 3) for p in p_win_at_age(truth, np.array([0, 60, 180]))]
    [0.3, 0.19, 0.015]
    """
    p = truth["p_win_at_creation"].to_numpy(dtype=float)
    clock = clock_logit(
        truth["cycle_log_median_won"].to_numpy(dtype=float),
        truth["cycle_log_median_lost"].to_numpy(dtype=float),
        np.asarray(age_days, dtype=float),
    )
    return _sigmoid(np.log(p) - np.log1p(-p) + clock)


# ---------------------------------------------------------------------------------------------
# Truth effects
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _reference_term_means() -> Mapping[str, tuple[float, ...]]:
    """Population mean of every win and regret term (200,000 deals, seed 0).

    Fixed, so effects are centred the same way whatever N, seed or chunking.
    """
    reference = _simulate_history(REFERENCE_DEALS, REFERENCE_SEED)
    return MappingProxyType(
        {
            "win": tuple(float(m) for m in reference.win_terms.mean(axis=1)),
            "regret": tuple(float(m) for m in reference.regret_terms.mean(axis=1)),
        }
    )


def _solve_intercepts(
    win_terms: np.ndarray,
    regret_terms: np.ndarray,
    win_rate: float = 0.30,
    regret_rate_among_wins: float = 0.25,
) -> tuple[float, float]:
    """Intercepts giving an expected win rate and regret rate among wins (how B0, C0 were set).

    Parameters
    ----------
    win_terms, regret_terms : np.ndarray
        Term matrices (groups x deals) of a reference sample.
    win_rate, regret_rate_among_wins : float
        Targets.

    Returns
    -------
    tuple of float
        (b0, c0), rounded to 4 decimals.
    """
    win_sum = win_terms.sum(axis=0)
    regret_sum = regret_terms.sum(axis=0)

    def bisect(rate_at: Callable[[float], float], target: float) -> float:
        low, high = -10.0, 10.0
        for _ in range(60):  # rates increase with the intercept
            middle = (low + high) / 2
            if rate_at(middle) < target:
                low = middle
            else:
                high = middle
        return round((low + high) / 2, 4)

    b0 = bisect(lambda b: float(_sigmoid(b + win_sum).mean()), win_rate)
    p_win = _sigmoid(b0 + win_sum)
    c0 = bisect(
        lambda c: float((p_win * _sigmoid(c + regret_sum)).sum() / p_win.sum()),
        regret_rate_among_wins,
    )
    return b0, c0


def _truth_table(deals: _DealBlock, ids: np.ndarray, export_day: int = _EXPORT_DAY) -> pa.Table:
    """truth.parquet rows: probabilities, sign effects, driver and latent outcomes."""
    means = _reference_term_means()
    # An open deal's truth is as of the export, given its age: the clock joins its log-odds.
    age = np.where(deals.closed, 0, export_day - deals.created_day)
    clock = clock_logit(deals.log_median_won, deals.log_median_lost, age)
    # A shift's hidden log-odds are part of the deal, in every counterfactual too.
    win_sum = B0 + deals.win_terms.sum(axis=0) + deals.hidden_win + clock
    regret_sum = C0 + deals.regret_terms.sum(axis=0) + deals.hidden_regret
    p_win = _sigmoid(win_sum)
    p_good = p_win * (1.0 - deals.p_regret)
    columns: dict[str, pa.Array] = {
        "deal_id": pa.array(ids.astype(str), pa.string()),
        "p_win": pa.array(p_win),
        "p_win_at_creation": pa.array(deals.p_win),
        "age_days": pa.array(age, pa.int64(), mask=deals.closed),
        "cycle_log_median_won": pa.array(deals.log_median_won),
        "cycle_log_median_lost": pa.array(deals.log_median_lost),
        "won_eventually": pa.array(deals.won_eventually),
        "p_regret": pa.array(deals.p_regret),
        "p_good": pa.array(p_good),
    }
    effects = []
    for group_index, group in enumerate(EFFECT_GROUPS):
        # The same deal with this group's terms at their population means; for the deal's
        # context, also as young as at its creation (its age is context too).
        centred_win = win_sum - deals.win_terms[group_index] + means["win"][group_index]
        if group == "deal_context":
            centred_win = centred_win - clock
        centred_regret = regret_sum - deals.regret_terms[group_index] + means["regret"][group_index]
        effect = p_good - _sigmoid(centred_win) * (1.0 - _sigmoid(centred_regret))
        effects.append(effect)
        columns[f"effect_{group}"] = pa.array(effect)
    driver = np.argmin(np.stack(effects[: len(SIGNS)]), axis=0)
    columns["true_driver"] = pa.array(np.array(SIGNS, dtype=object)[driver], pa.string())
    columns["icp"] = pa.array(deals.icp)
    columns["coverage"] = pa.array(deals.coverage)
    columns["must_have_gap"] = pa.array(deals.must_have_gap)
    columns["won"] = pa.array(deals.won, mask=~deals.closed)
    columns["regrettable"] = pa.array(deals.regrettable, mask=~deals.won)
    columns["regret_visible"] = pa.array(deals.regret_visible)
    return pa.Table.from_pydict(columns, schema=TRUTH_SCHEMA)


# ---------------------------------------------------------------------------------------------
# The messy export
# ---------------------------------------------------------------------------------------------
def _deals_frame(
    deals: _DealBlock,
    ids: np.ndarray,
    accounts: _Accounts,
    seller_names: np.ndarray,
    export_day: int = _EXPORT_DAY,
) -> pd.DataFrame:
    """deals.csv rows of a chunk, with the mess of a real export (no randomness here)."""
    empty_day = export_day + 1  # index of the empty cell in the date table
    dates = _date_text_by_day(export_day)
    capability_text = _capability_text_by_mask()
    tenure_text = _small_int_text(15)
    window_text = _small_int_text(45)
    max_competitors = int(deals.competitors.max())
    competitors_text = _small_int_text(max_competitors)

    won, closed = deals.won, deals.closed
    stage = np.where(closed, np.where(won, 0, 1), 2 + deals.open_stage)
    churn_visible = deals.regret_visible & deals.churn_shown
    flag_visible = deals.regret_visible & ~deals.churn_shown
    happy_win = won & ~deals.regret_visible  # includes regret not yet visible (censored)
    regret_flag = np.where(flag_visible, "Y", np.where(happy_win & deals.regret_flag_no, "N", ""))
    margin_table = _margin_text_by_tenths()
    margin_index = np.where(won, deals.margin_tenths + 400, len(margin_table) - 1)
    amount = pd.arrays.IntegerArray(deals.amount_typed, deals.amount_missing)
    booleans = deals.boolean_variants
    return pd.DataFrame(
        {
            "Opportunity ID": ids,
            "Account ID": accounts.ids[deals.account],
            "Created Date": dates[deals.created_day],
            "Close Date": dates[np.where(closed, deals.close_day, empty_day)],
            "Stage": np.array(STAGES, dtype=object)[stage],
            "Amount": amount,
            "Sales Region": _categorical(REGIONS, deals.region, deals.region_variant),
            "Opportunity Owner": seller_names[deals.seller],
            "Product": np.array([name for name, _, _ in PRODUCTS], dtype=object)[deals.product],
            "Lead Source": _categorical(
                LEAD_SOURCES,
                deals.lead_source,
                deals.lead_source_variant,
                deals.lead_source_missing,
            ),
            "Type": _categorical(DEAL_TYPES, deals.deal_type, deals.deal_type_variant),
            "Incumbent Vendor": np.where(
                deals.has_incumbent, np.array(RIVAL_VENDORS, dtype=object)[deals.rival], ""
            ),
            "Incumbent Tenure (years)": tenure_text[
                np.where(deals.has_incumbent & ~deals.tenure_missing, deals.tenure, 16)
            ],
            "Competitors": competitors_text[
                np.where(deals.competitors_missing, max_competitors + 1, deals.competitors)
            ],
            "Formal Tender": _boolean_text(deals.tender, booleans[0]),
            "Response Window (days)": window_text[np.where(deals.tender, deals.window, 46)],
            "Decision Maker Access": _boolean_text(
                deals.decision_maker_access, booleans[1], deals.access_missing
            ),
            "Required Capabilities": capability_text[deals.required_mask],
            "Must-Have Capabilities": capability_text[deals.must_have_mask],  # "" when none
            "Customisation Required": _boolean_text(deals.customisation, booleans[2]),
            "Needs Defined": _boolean_text(deals.needs_defined, booleans[3]),
            "Churn Date": dates[np.where(churn_visible, deals.event_day, empty_day)],
            "Regret Flag": regret_flag,
            "Gross Margin %": margin_table[margin_index],
        },
        columns=list(DEAL_COLUMNS),
    )


def _day_text(day: int) -> str:
    """dd/mm/yyyy of a day offset, past the export date too (an expected close)."""
    return (HISTORY_START + pd.Timedelta(days=int(day))).strftime("%d/%m/%Y")


def _stage_history(
    deals: _DealBlock, ids: np.ndarray, seed: int, cohort: Cohort, export_day: int = _EXPORT_DAY
) -> pd.DataFrame:
    """stage_history.csv rows of a chunk of a cohort (one per change, as Salesforce's
    OpportunityHistory keeps them), and each open deal's stage on the export date goes into
    ``open_stage``."""
    dates = _date_text_by_day(export_day)
    cycle = deals.close_day - deals.created_day
    blocks = (deals.deal_number - cohort.first_number) // BLOCK_ROWS
    rows: list[tuple[str, str, str, str]] = []
    for position in range(len(ids)):
        block = int(blocks[position])
        if position == 0 or block != int(blocks[position - 1]):
            rng = _rng(seed, cohort.progress_stream, block)
        last_stage = rng.integers(0, len(OPEN_STAGES))  # where a loss stops progressing
        created = int(deals.created_day[position])
        end = int(deals.close_day[position]) if deals.closed[position] else export_day + 1
        reached = len(OPEN_STAGES) if deals.won_eventually[position] else last_stage + 1
        entries = [created + int(round(share * cycle[position])) for share in STAGE_ENTRY_SHARES]
        entries = [day for day in entries[:reached] if day < end]
        plan = created + int(round(np.exp(deals.log_median_won[position])))
        slips = list(range(plan, end, SLIP_DAYS))
        for day in sorted(set(entries) | set(slips)):
            stage = sum(entry <= day for entry in entries) - 1
            expected = plan + SLIP_DAYS * sum(slip <= day for slip in slips)
            rows.append((ids[position], dates[day], OPEN_STAGES[stage], _day_text(expected)))
        if deals.closed[position]:
            final = "Closed Won" if deals.won[position] else "Closed Lost"
            rows.append((ids[position], dates[end], final, dates[end]))
        else:
            deals.open_stage[position] = len(entries) - 1
    return pd.DataFrame.from_records(rows, columns=list(STAGE_HISTORY_COLUMNS))


def write_synthetic_history(
    out_dir: Path,
    n_deals: int = 5000,
    seed: int = 7,
    chunk_size: int = 100_000,
    stage_history: bool = False,
) -> SynthSummary:
    """Write deals.csv, pipeline.csv (its open deals), accounts.csv, products.csv,
    truth.parquet and synth.json (the seed, size and export date, for continuing the world)
    into out_dir (created if needed), and with ``stage_history`` stage_history.csv: every
    deal's stage and expected-close changes.

    Parameters
    ----------
    out_dir : Path
        Destination folder; existing files of the same names are replaced.
    n_deals : int
        Number of deals (rows of deals.csv and truth.parquet).
    seed : int
        Seed of the whole history: same ``n_deals`` and ``seed`` give byte-identical CSV files
        and identical truth.parquet contents.
    chunk_size : int
        Deals formatted and appended per write, rounded up to whole blocks of ``BLOCK_ROWS``.
        Bounds memory; does not change the output.
    stage_history : bool
        Also write stage_history.csv (``Opportunity ID``, ``Changed Date``, ``Stage``,
        ``Expected Close Date``: one row per change) from a stream of its own, and give open
        deals the stage their history reached. The truth stays the chance given the age alone:
        a model that reads the stages may rank better than it.

    Returns
    -------
    SynthSummary
        Counts of what was written and the time it took.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = write_synthetic_history(Path(folder), n_deals=300, seed=1)
    >>> summary.n_deals, summary.n_accounts, summary.n_open + summary.n_won + summary.n_lost
    (300, 50, 300)
    """
    if n_deals < 1:
        raise ValueError(f"n_deals must be at least 1, got {n_deals}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    started = time.perf_counter()
    (counts,) = write_cohorts(
        out_dir, seed, [Cohort.first_export(n_deals)], _EXPORT_DAY, stage_history, chunk_size
    )
    SynthManifest(seed, n_deals, stage_history, EXPORT_DATE).write(out_dir)
    return SynthSummary(
        out_dir=Path(out_dir),
        n_deals=n_deals,
        n_accounts=count_accounts(n_deals),
        n_open=counts.n_open,
        n_won=counts.n_won,
        n_lost=counts.n_lost,
        n_regret_visible=counts.n_regret_visible,
        seconds=time.perf_counter() - started,
    )


def write_cohorts(
    out_dir: Path,
    seed: int,
    cohorts: Sequence[Cohort],
    export_day: int,
    stage_history: bool = False,
    chunk_size: int = 100_000,
    after_day: int | None = None,
) -> list[CohortCounts]:
    """Write the export of a world's cohorts as a CRM shows them on ``export_day``: deals.csv
    and pipeline.csv (its open deals), accounts.csv, products.csv, truth.parquet, and with
    ``stage_history`` stage_history.csv. Every file but synth.json (the caller's).

    Parameters
    ----------
    out_dir : Path
        Destination folder (created if needed); existing files of the same names are replaced.
    seed : int
        Seed of the world.
    cohorts : sequence of Cohort
        The first export's cohort first (its size sets the accounts), then later ones, in
        the order of their deal numbers.
    export_day : int
        Export date, in days since HISTORY_START: on or after every cohort's last day.
    stage_history : bool
        Also write stage_history.csv (see :func:`write_synthetic_history`).
    chunk_size : int
        Deals formatted and appended per write, rounded up to whole blocks; bounds memory.
    after_day : int or None
        Day after which closes, wins and regret shown are also counted (``CohortCounts``).

    Returns
    -------
    list of CohortCounts
        What was written of each cohort, in order.
    """
    if not cohorts or cohorts[0] != Cohort.first_export(cohorts[0].n_deals):
        raise ValueError("the first cohort must be the first export's")
    if any(cohort.last_day > export_day for cohort in cohorts):
        raise ValueError(f"export day {export_day} is before the last day of a cohort")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    accounts = _make_accounts(count_accounts(cohorts[0].n_deals), seed)
    seller_names, seller_skill = _make_sellers(seed)
    csv_options = {"index": False, "lineterminator": "\n"}  # same bytes on every OS
    accounts.frame.to_csv(out_dir / "accounts.csv", encoding="utf-8", **csv_options)
    _products_frame().to_csv(out_dir / "products.csv", encoding="utf-8", **csv_options)
    _reference_term_means()  # before the files are opened: the first call takes a moment

    blocks_per_chunk = max(1, math.ceil(chunk_size / BLOCK_ROWS))
    history_path = out_dir / "stage_history.csv"
    history_path.unlink(missing_ok=True)  # appended to chunk by chunk; never a stale one
    counted_after = export_day if after_day is None else after_day
    all_counts = []
    header = True  # the first chunk written carries the header
    with (
        open(out_dir / "deals.csv", "w", encoding="utf-8", newline="") as deals_file,
        open(out_dir / "pipeline.csv", "w", encoding="utf-8", newline="") as pipeline_file,
        pq.ParquetWriter(out_dir / "truth.parquet", TRUTH_SCHEMA) as truth_writer,
    ):
        for cohort in cohorts:
            counts = {field.name: 0 for field in fields(CohortCounts)}
            id_width = _id_width(cohort.last_number, 7)
            for first_block in range(0, math.ceil(cohort.n_deals / BLOCK_ROWS), blocks_per_chunk):
                deals = _simulate_deals(
                    seed, cohort, first_block, blocks_per_chunk, accounts, seller_skill, export_day
                )
                ids = _format_ids("OPP-", deals.deal_number, id_width)
                if stage_history:  # before the deals: an open deal's stage is its history's
                    _stage_history(deals, ids, seed, cohort, export_day).to_csv(
                        history_path, mode="a", header=header, **csv_options
                    )
                frame = _deals_frame(deals, ids, accounts, seller_names, export_day)
                frame.to_csv(deals_file, header=header, **csv_options)
                # The open pipeline as a scheduled CRM export would give it: open deals only.
                frame[~deals.closed].to_csv(pipeline_file, header=header, **csv_options)
                truth_writer.write_table(_truth_table(deals, ids, export_day))
                header = False
                _count(counts, deals, counted_after)
            all_counts.append(CohortCounts(**counts))
    return all_counts


def _count(counts: dict[str, int], deals: _DealBlock, after_day: int) -> None:
    """Add a chunk's deals to a cohort's ``CohortCounts`` fields."""
    closed_after = deals.closed & (deals.close_day > after_day)
    counts["n_deals"] += len(deals.deal_number)
    counts["n_open"] += int((~deals.closed).sum())
    counts["n_won"] += int(deals.won.sum())
    counts["n_lost"] += int((deals.closed & ~deals.won).sum())
    counts["n_regret_visible"] += int(deals.regret_visible.sum())
    counts["n_closed_after"] += int(closed_after.sum())
    counts["n_won_after"] += int((closed_after & deals.won).sum())
    counts["n_regret_shown_after"] += int(
        (deals.regret_visible & (deals.event_day > after_day)).sum()
    )
