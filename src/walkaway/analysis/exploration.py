"""The history notebook 01 explores, labelled: what it holds and its deals' features as at creation.

The start of ``notebooks/01-explore-history``, which holds no logic of its own:

- :func:`explore` reads nothing: it labels a loaded :class:`~walkaway.data.history.History` (won,
  lost, regrettable) and computes each closed deal's point-in-time features as at its creation,
  exactly as training does, giving an :class:`Exploration`;
- :func:`overview`: what the export holds, in a few counts;
- :func:`ensure_demo_export`: the synthetic demo export, written on first use.

The views of an :class:`Exploration` live beside it: outcomes over time
(:mod:`walkaway.analysis.outcome_rates`), each sign's raw evidence
(:mod:`walkaway.analysis.sign_evidence`) and the learned ICP (:mod:`walkaway.analysis.icp_profile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from walkaway.data.history import History
from walkaway.data.synth import write_synthetic_history
from walkaway.model.features import build_features
from walkaway.model.features.icp_fit import icp_in_words
from walkaway.signs import day_text

__all__ = ["Exploration", "ensure_demo_export", "explore", "overview"]

DEMO_DEALS = 5000
DEMO_SEED = 7


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
