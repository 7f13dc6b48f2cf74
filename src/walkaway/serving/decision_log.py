"""The registry's memory of its decisions, as the plain text of MLflow tags.

Every decision (the automatic one after training, each ``promote`` and ``rollback``) is appended
to the versions it concerns as numbered tags ``decision.1``, ``decision.2``, ... (UTC time,
action, text), never overwriting one; ``decision`` holds the latest, for readers of the single
tag. The registered model's ``champion_history`` tag lists the versions promoted to
``@champion``, oldest first, so ``rollback`` can return to the previous champion.

Pure encoding, apart from :mod:`walkaway.serving.registry`, which reads and sets the tags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

DECISION_TAG = "decision"  # the latest decision; ``decision.1``, ``decision.2``... keep them all
HISTORY_TAG = "champion_history"  # the versions promoted, oldest first: "1,2,4"

_NUMBERED = re.compile(rf"{DECISION_TAG}\.(\d+)")


@dataclass(frozen=True)
class Decision:
    """One entry of a version's decision history."""

    time: pd.Timestamp  # UTC; NaT for a decision recorded before the history was kept
    action: str  # "train" (the automatic decision), "promote", "rollback" ("unknown": older)
    text: str


def decision_tags(
    tags: Mapping[str, str], action: str, text: str, time: pd.Timestamp
) -> dict[str, str]:
    """The tags appending a decision to a version that has ``tags``: the next numbered one, then
    ``decision``, the latest.

    Parameters
    ----------
    tags
        The version's tags now.
    action
        ``train``, ``promote`` or ``rollback``.
    text
        The decision, in one line.
    time
        When it was taken, in UTC.

    Returns
    -------
    dict
        Tag name to value, in the order to set them.

    Examples
    --------
    >>> now = pd.Timestamp("2025-03-01 09:30", tz="UTC")
    >>> decision_tags({"decision.1": "...", "decision": "..."}, "promote", "version 2 won", now)
    {'decision.2': '2025-03-01T09:30:00Z promote: version 2 won', 'decision': 'version 2 won'}
    """
    numbers = [int(m.group(1)) for key in tags if (m := _NUMBERED.fullmatch(key))]
    key = f"{DECISION_TAG}.{max(numbers, default=0) + 1}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {key: f"{stamp} {action}: {text}", DECISION_TAG: text}


def read_decisions(tags: Mapping[str, str]) -> list[Decision]:
    """A version's decisions from its tags, oldest first (a version registered before every
    decision was kept has only its latest, of unknown time and action).

    Examples
    --------
    >>> tags = {
    ...     "decision.2": "2025-03-02T08:00:00Z rollback: rolled back: version 1 is @champion again",
    ...     "decision.1": "2025-03-01T09:30:00Z train: version 1 is the first model",
    ... }
    >>> [(str(d.time), d.action, d.text) for d in read_decisions(tags)][1]
    ('2025-03-02 08:00:00+00:00', 'rollback', 'rolled back: version 1 is @champion again')
    >>> read_decisions({"decision": "version 3 stays a challenger"})[0].action
    'unknown'
    """
    numbered = sorted(
        (int(m.group(1)), value) for key, value in tags.items() if (m := _NUMBERED.fullmatch(key))
    )
    if not numbered and DECISION_TAG in tags:  # registered before every decision was kept
        return [Decision(pd.NaT, "unknown", tags[DECISION_TAG])]
    history = []
    for _, value in numbered:
        stamp, _, rest = value.partition(" ")
        action, _, text = rest.partition(": ")
        history.append(Decision(pd.Timestamp(stamp), action, text))
    return history


def read_champion_history(tags: Mapping[str, str]) -> list[int]:
    """The versions promoted to ``@champion``, oldest first, from the registered model's tags.

    Examples
    --------
    >>> read_champion_history({"champion_history": "1,2,4"}), read_champion_history({})
    ([1, 2, 4], [])
    """
    return [int(v) for v in tags.get(HISTORY_TAG, "").split(",") if v]


def champion_history_text(history: list[int]) -> str:
    """The ``champion_history`` tag's value for a list of versions, oldest first.

    Examples
    --------
    >>> champion_history_text([1, 2, 4])
    '1,2,4'
    """
    return ",".join(map(str, history))
