"""The analysis tests' shared fixtures, built once for the package: a small synthetic export
explored, and its sign evidence, for notebook 01's logic (exploration, outcome_rates,
sign_evidence); the session's trained model and its scored open pipeline, for notebook 03's
(pipeline_review, deal_waterfall)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from walkaway.analysis import pipeline_review
from walkaway.analysis.exploration import Exploration, explore
from walkaway.analysis.review_common import ReviewModel
from walkaway.analysis.sign_evidence import SignEvidence, sign_evidence
from walkaway.data.exports import load_history
from walkaway.data.history import History
from walkaway.data.synth import write_synthetic_history
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel

SYNTHETIC_DEALS = 2000
SEED = 11


@pytest.fixture(scope="package")
def exploration(tmp_path_factory: pytest.TempPathFactory) -> Exploration:
    folder = tmp_path_factory.mktemp("synthetic-crm")
    write_synthetic_history(folder, SYNTHETIC_DEALS, seed=SEED)
    return explore(load_history(folder))


@pytest.fixture(scope="package")
def evidence(exploration: Exploration) -> dict[str, SignEvidence]:
    return sign_evidence(exploration.labelled, exploration.features)


@pytest.fixture(scope="package")
def model(trained: TrainingResult) -> WalkawayModel:
    return trained.model


@pytest.fixture(scope="package")
def reviewed(model: WalkawayModel) -> ReviewModel:
    return ReviewModel(model, None, None, "synthetic-crm", "trained in a test", "none")


@pytest.fixture(scope="package")
def as_of(history: History) -> pd.Timestamp:
    return history.export_date


@pytest.fixture(scope="package")
def pipeline(synthetic_dir: Path) -> pipeline_review.OpenDeals:
    return pipeline_review.open_deals(synthetic_dir / "pipeline.csv")


@pytest.fixture(scope="package")
def scores(
    reviewed: ReviewModel, pipeline: pipeline_review.OpenDeals, as_of: pd.Timestamp
) -> pd.DataFrame:
    return pipeline_review.score_open_deals(reviewed, pipeline, as_of)


def open_pyplot_figures() -> list[int]:
    """The numbers of the figures pyplot holds (none, when pyplot was never imported)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    return list(pyplot.get_fignums()) if pyplot is not None else []
