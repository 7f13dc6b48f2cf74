"""One deal's waterfall (walkaway.analysis.deal_waterfall), on the pipeline of the small synthetic
history of conftest."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from tests.analysis.conftest import open_pyplot_figures
from walkaway.analysis import deal_waterfall, pipeline_review
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.signs import GROUPS


def test_waterfall_signs_and_bias_add_up_to_each_heads_margin(
    model: WalkawayModel,
    pipeline: pipeline_review.OpenDeals,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
) -> None:
    deal_id = pipeline_review.deal_to_explain(scores)
    deal = pipeline.deal(deal_id)
    table = deal_waterfall.waterfall(model, deal, as_of)

    X = model._encode(model.featurise(model.with_amounts(deal), as_of))
    heads = {"win": model.win_head_, "regret": model.regret_head_}
    score = scores[scores["deal_id"] == deal_id].iloc[0]
    for head, fitted in heads.items():
        rows = table[table["head"] == head]
        bias = rows.loc[rows["part"] == "bias", "log_odds"].sum()
        signs = rows[rows["part"] == "sign"]
        assert signs["group"].tolist() == list(GROUPS)
        margin = rows.loc[rows["part"] == "margin"].iloc[0]
        assert bias + signs["log_odds"].sum() == pytest.approx(fitted.margin(X)[0], abs=1e-6)
        assert margin["log_odds"] == pytest.approx(fitted.margin(X)[0], abs=1e-6)
        features = rows[rows["part"] == "feature"].groupby("group")["log_odds"].sum()
        for _, sign in signs.iterrows():
            assert features.get(sign["group"], 0.0) == pytest.approx(sign["log_odds"], abs=1e-9)
        assert margin["probability"] == pytest.approx(score[f"p_{head}"], abs=1e-9)
    effects = table[(table["head"] == "win") & (table["part"] == "sign")]
    for _, sign in effects.iterrows():
        assert sign["p_good_points"] == pytest.approx(score[f"effect_{sign['group']}"], abs=1e-9)

    before = open_pyplot_figures()
    assert isinstance(deal_waterfall.waterfall_figure(table, deal_id), Figure)
    assert open_pyplot_figures() == before
