"""The manifest of a synthetic export, ``synth.json``: which world a folder holds.

``walkaway synth`` writes it beside the files, and so does every continuation of the world
(:mod:`walkaway.data.synth_continuation`): the seed and size of the first export, whether it
has a stage history, and the months it was continued by with the shifts in force. Nothing
else is needed to write the same world again at any later date, so a folder without one
cannot be continued.

Only the format lives here: what a shift *means* is the continuation's business, and the
manifest keeps shifts as their specs (``rival:EMEA``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from walkaway.errors import WalkawayError

__all__ = [
    "MANIFEST_NAME",
    "Continuation",
    "SynthManifest",
    "SynthManifestError",
    "month_end",
    "read_manifest",
]

MANIFEST_NAME = "synth.json"
GENERATOR = "walkaway synth"
FORMAT = 1


class SynthManifestError(WalkawayError):
    """A folder is not a synthetic export that can be continued (no or a broken synth.json)."""


@dataclass(frozen=True)
class Continuation:
    """Months a world was continued by, and the shifts in force during them (their specs).

    Shifts stay on once switched on, so ``shifts`` holds every earlier continuation's too.
    """

    months: int
    shifts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SynthManifest:
    """What ``synth.json`` records.

    Attributes
    ----------
    seed : int
        Seed of the whole world.
    deals : int
        Deals of the first export; they also set the rate at which new deals are created.
    stage_history : bool
        Whether the export holds stage_history.csv.
    first_export_date : pd.Timestamp
        Export date of the first export (the generator's ``EXPORT_DATE``).
    continuations : tuple of Continuation
        Every continuation since the first export, oldest first.
    """

    seed: int
    deals: int
    stage_history: bool
    first_export_date: pd.Timestamp
    continuations: tuple[Continuation, ...] = field(default=())

    @property
    def months(self) -> int:
        """Months from the first export to this one."""
        return sum(continuation.months for continuation in self.continuations)

    @property
    def export_date(self) -> pd.Timestamp:
        """Export date of the folder: the first one plus every continuation's months.

        >>> manifest = SynthManifest(7, 5000, False, pd.Timestamp("2025-12-31"),
        ...                          (Continuation(2), Continuation(1)))
        >>> manifest.export_date.date()
        datetime.date(2026, 3, 31)
        """
        return month_end(self.first_export_date, self.months)

    def continued(self, months: int, shifts: tuple[str, ...]) -> SynthManifest:
        """The manifest of this world continued by ``months`` more with ``shifts`` in force."""
        return SynthManifest(
            self.seed,
            self.deals,
            self.stage_history,
            self.first_export_date,
            (*self.continuations, Continuation(months, shifts)),
        )

    def to_json(self) -> str:
        """The manifest as JSON text (key order fixed, so the same world gives the same bytes)."""
        document = {
            "generator": GENERATOR,
            "format": FORMAT,
            "seed": self.seed,
            "deals": self.deals,
            "stage_history": self.stage_history,
            "first_export_date": self.first_export_date.date().isoformat(),
            "export_date": self.export_date.date().isoformat(),
            "continuations": [
                {"months": c.months, "shifts": list(c.shifts)} for c in self.continuations
            ],
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self, folder: Path) -> Path:
        """Write ``synth.json`` into ``folder`` and return its path."""
        path = Path(folder) / MANIFEST_NAME
        path.write_text(self.to_json(), encoding="utf-8")
        return path


def month_end(start: pd.Timestamp, months: int) -> pd.Timestamp:
    """``start`` moved ``months`` calendar months on, its day clipped to the month's length.

    Always counted from the same start, so 31 December plus 2 months is 28 February and plus 3
    is 31 March (stepping a month at a time would drift to the 28th).

    >>> month_end(pd.Timestamp("2025-12-31"), 2).date(), month_end(pd.Timestamp("2025-12-31"), 3).date()
    (datetime.date(2026, 2, 28), datetime.date(2026, 3, 31))
    """
    return pd.Timestamp(start) + pd.DateOffset(months=months)


def read_manifest(folder: Path) -> SynthManifest:
    """Read and check ``folder/synth.json``.

    Raises
    ------
    SynthManifestError
        When the folder is missing, has no manifest, or the manifest is not one this version
        writes (one line saying which).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SynthManifestError(
            f"{folder} is not a folder: give the folder `walkaway synth` wrote"
        )
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise SynthManifestError(
            f"{folder} is not a `walkaway synth` export: it has no {MANIFEST_NAME} recording the "
            "seed, deals and export date (write it again with `walkaway synth`)"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SynthManifestError(f"{path}: not readable as JSON: {error}") from None
    try:
        return _parse(document)
    except (TypeError, ValueError) as error:
        raise SynthManifestError(f"{path}: not a `walkaway synth` manifest: {error}") from None


def _parse(document: Any) -> SynthManifest:
    """The manifest a parsed ``synth.json`` holds; TypeError or ValueError if none."""
    if not isinstance(document, dict):
        raise TypeError("expected a JSON object")
    if document.get("generator") != GENERATOR or document.get("format") != FORMAT:
        raise ValueError(f"expected generator {GENERATOR!r} and format {FORMAT}")
    continuations = []
    for entry in _typed(document, "continuations", list):
        shifts = _typed(entry, "shifts", list)
        if not all(isinstance(spec, str) for spec in shifts):
            raise TypeError("'shifts' must be a list of texts")
        continuations.append(Continuation(_positive(entry, "months"), tuple(shifts)))
    manifest = SynthManifest(
        seed=_typed(document, "seed", int),
        deals=_positive(document, "deals"),
        stage_history=_typed(document, "stage_history", bool),
        first_export_date=pd.Timestamp(_typed(document, "first_export_date", str)),
        continuations=tuple(continuations),
    )
    if manifest.seed < 0:
        raise ValueError(f"'seed' must be 0 or more, got {manifest.seed}")
    recorded = pd.Timestamp(_typed(document, "export_date", str))
    if recorded != manifest.export_date:
        raise ValueError(
            f"'export_date' {recorded.date()} is not the first export date plus "
            f"{manifest.months} months ({manifest.export_date.date()})"
        )
    return manifest


def _typed(document: Any, key: str, kind: type) -> Any:
    """``document[key]``, checked to be of ``kind`` (a bool is no int here)."""
    if not isinstance(document, dict):
        raise TypeError("expected a JSON object")
    if key not in document:
        raise ValueError(f"{key!r} is missing")
    value = document[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{key!r} must be {kind.__name__}, got {value!r}")
    return value


def _positive(document: Any, key: str) -> int:
    """``document[key]``, checked to be an integer of at least 1."""
    value = int(_typed(document, key, int))
    if value < 1:
        raise ValueError(f"{key!r} must be at least 1, got {value}")
    return value
