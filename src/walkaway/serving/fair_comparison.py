"""Each head of a newly trained run against the champion on deals neither learned from: the
figures :func:`walkaway.serving.promotion.verdict` judges, and a sentence saying how those deals
were chosen.

The champion's registered model may have been refit on every deal of its export, so it is never
scored on deals its training data reached. On the same data, both runs' holdout predictions
(each from a model fitted without its holdout) are paired by deal
(:func:`compare_logged_predictions`); otherwise the champion scores the new holdout's deals
closed after its own training data (:func:`compare_on_unseen_deals`).

Apart from :mod:`walkaway.serving.registry`, which fetches the champion's run, its logged
predictions and its model from MLflow and chooses between the two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.wire_format import to_wire
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.promotion import HeadComparison
from walkaway.serving.pyfunc_contract import score_canonical
from walkaway.serving.run_record import holdout_predictions
from walkaway.signs import day_text


def compare_logged_predictions(
    result: TrainingResult, theirs: pd.DataFrame, sha: str
) -> tuple[dict[str, HeadComparison], str]:
    """Each head of the new run against the champion's run on the same data (``sha``), on both
    runs' logged holdout predictions paired by deal and snapshot.

    Parameters
    ----------
    result
        The new run.
    theirs
        The champion run's logged holdout predictions
        (:func:`walkaway.serving.run_record.read_holdout_predictions`).
    sha
        The data's ``data_sha256``, for the sentence.

    Returns
    -------
    tuple
        The comparison of each head, and how the deals were chosen.
    """
    ours = holdout_predictions(result)
    paired = ours.merge(
        theirs, on=["head", "deal_id", "snapshot_age", "y"], suffixes=("", "_champion")
    )
    comparisons = {
        head: HeadComparison.of(head, rows["y"], rows["p"], rows["p_champion"])
        for head in ours["head"].unique()
        for rows in [paired[paired["head"] == head]]
    }
    return comparisons, (
        f"same data (sha256 {sha}): compared on both runs' logged holdout predictions, "
        "paired by deal"
    )


def compare_on_unseen_deals(
    result: TrainingResult, champion: WalkawayModel, current: int, same_data: bool
) -> tuple[dict[str, HeadComparison], str]:
    """Each head of the new run against champion version ``current``, scored by the champion on
    the new holdout's deals closed after the champion's training data.

    Parameters
    ----------
    result
        The new run.
    champion
        The champion's registered model.
    current
        The champion's version, for the sentence.
    same_data
        Whether the champion's run was trained on the same data (and logged no holdout
        predictions), for the sentence.

    Returns
    -------
    tuple
        The comparison of each head with holdout deals, and how the deals were chosen.
    """
    win_until = getattr(champion, "trained_until_", pd.NaT)
    cutoffs = {"win": win_until, "regret": getattr(champion, "regret_trained_until_", win_until)}
    comparisons: dict[str, HeadComparison] = {}
    for head, holdout, column in (
        ("win", result.win, "p_win"),
        ("regret", result.regret, "p_regret"),
    ):
        if holdout is None:
            continue
        # Undated exports leave the cut-off unknown (NaT): then no deal is known to be unseen.
        unseen = (holdout.deals["closed_date"] > cutoffs[head]).to_numpy(dtype=bool)
        p_champion = _champion_scores(champion, holdout.deals[unseen], column)
        comparisons[head] = HeadComparison.of(
            head, holdout.y[unseen], holdout.predictions["walkaway"][unseen], p_champion
        )
    win_after = day_text(cutoffs["win"], "an unknown date")
    regret_after = day_text(cutoffs["regret"], "an unknown date")
    path = (
        f"compared on the new holdout's deals closed after champion version {current}'s "
        f"training data (win head after {win_after}, regret head after {regret_after}), "
        "scored by the champion"
    )
    if same_data:
        path = f"same data, but champion version {current} logged no holdout predictions: {path}"
    return comparisons, path


def _champion_scores(model: WalkawayModel, deals: pd.DataFrame, column: str) -> np.ndarray:
    """The champion's probabilities for holdout deals, each scored as of its snapshot (its
    creation when it has none)."""
    if deals.empty:
        return np.array([], dtype=float)
    as_of = deals["as_of"] if "as_of" in deals else deals["created_date"]
    wire = to_wire(deals.assign(as_of=as_of))
    return score_canonical(model, wire)[column].to_numpy(dtype=float)
