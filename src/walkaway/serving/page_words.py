"""How the pages read: recommendations' names, colours and meanings, and numbers as a seller
reads them (thousands separators, percentages, signed points). These are the Jinja2 filters of
the pipeline report and the monitoring page (:func:`walkaway.serving.report.environment`), and
the labels of their charts, so a number reads the same in every table and figure.
"""

from __future__ import annotations

import math

import pandas as pd

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


def text(value: object) -> str:
    """Text from the data as it is shown, missing values empty (the template escapes it).

    >>> text("<b>Acme</b>"), text(None), text(float("nan")), text(42)
    ('<b>Acme</b>', '', '', '42')
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def number(value: int) -> str:
    """A count with thousands separators.

    >>> number(1234567)
    '1,234,567'
    """
    return f"{value:,}"


def deals(value: int) -> str:
    """A count of deals, singular or plural.

    >>> deals(1), deals(1234)
    ('1 deal', '1,234 deals')
    """
    return f"{value:,} {'deal' if value == 1 else 'deals'}"


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


def tone(value: float) -> str:
    """The CSS class of an effect: ``neg`` when it costs the deal, ``pos`` when it helps.

    >>> tone(-3.0), tone(0.01), tone(2.5), tone(float("nan"))
    ('neg', '', 'pos', '')
    """
    value = as_float(value)
    return "neg" if value <= -0.05 else "pos" if value >= 0.05 else ""


def decimal(value: object) -> str:
    """A metric with three decimals; missing is a dash.

    >>> decimal(0.83456), decimal(None)
    ('0.835', '–')
    """
    number = as_float(value)
    return f"{number:.3f}" if math.isfinite(number) else "–"


def label(recommendation: str) -> str:
    """A recommendation as a seller reads it.

    >>> label("keep_presence"), label("something_else")
    ('Keep presence', 'Something else')
    """
    return LABELS.get(recommendation, recommendation.replace("_", " ").capitalize())


def colour(recommendation: str) -> str:
    """The colour of a recommendation, the same in every table and chart."""
    return COLOURS.get(recommendation, OTHER_COLOUR)


FILTERS = {
    f.__name__: f
    for f in (number, deals, money, compact, percent, points, tone, decimal, label, colour)
}
