# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Review the open pipeline
#
# This notebook scores the open deals of a CRM export with the model in use (the `@champion`
# in MLflow) and turns the scores into what a sales leader acts on:
#
# 1. the **recommendation mix**: how many deals, and how much pipeline value, the model would
#    pursue, compete for, keep a presence in, walk away from or qualify further;
# 2. the **walk-away** and **keep-presence** lists, biggest first, each with its reasons;
# 3. one deal **explained** as `walkaway explain` explains it, what would change it (as
#    `walkaway whatif`), and its **waterfall**: how each sign, and the inputs inside it, moved
#    its scores;
# 4. the scored list **written for the CRM**.
#
# Each deal's scores are **p_win** (chance of winning), **p_regret** (chance a win is one we
# regret) and **p_good = p_win × (1 − p_regret)**, and each sign's effect on p_good in points.
# The three signs: **glass walls** (an entrenched rival), **outside the ideal customer profile**
# and **square peg, round hole** (what we sell does not meet what they need); everything else is
# the **deal context**.
#
# Every step is one call to `walkaway.analysis.pipeline_review` (or, for the steps notebook 02
# takes too, `walkaway.analysis.review_common`); the notebook holds no logic of its own. Set the
# inputs in the next cell and run all cells. To review the public Maven export instead, set
# `EXPORT = Path("../../shared/data/maven-crm-opportunities")` and
# `PIPELINE = EXPORT / "sales_pipeline.csv"`.

# %%
from pathlib import Path

EXPORT = Path("../data/raw/synthetic-crm")  # your export folder (the history the model knows)
PIPELINE = EXPORT / "pipeline.csv"  # the open deals to score
MAPPING = None  # None: detected from the export's columns
MODELS = Path("../models")  # MLflow store (SQLite) of walkaway train
OUT = Path("../data/processed/notebook-scored-open-deals.csv")  # the list for the CRM
AS_OF = None  # the day deals are scored as at; None: the day the export was taken
WHAT_IF = ["decision_maker_access=yes", "competitor_count=1"]  # as `walkaway whatif --set` takes

# %% [markdown]
# ## The export
#
# On a fresh clone the demo export does not exist yet: the next cell writes the synthetic CRM
# history (5,000 deals, seed 7; its open deals are `pipeline.csv`) when the export folder holds
# no CSV or Parquet file yet. A folder that already holds an export (Maven's, say) is only read,
# never written to.

# %%
# %matplotlib inline
import pandas as pd

from walkaway.analysis import deal_waterfall, pipeline_review, review_common
from walkaway.serving import deal_inputs, one_deal

pd.set_option("display.max_colwidth", 90)
review_common.ensure_demo_export(EXPORT)

# %% [markdown]
# ## The model
#
# The champion is loaded from the MLflow store in `MODELS` (SQLite, unless
# `MLFLOW_TRACKING_URI` points at a team server). When the store has no champion yet, a model
# is trained on `EXPORT` and registered, and becomes the champion, so this notebook does not
# depend on `02` having run. When the champion learned from another kind of export (another
# mapping), it cannot judge these deals: a model is trained here on `EXPORT` and not registered,
# so the champion of the other export stays as it is.

# %%
reviewed = pipeline_review.champion_or_train(EXPORT, MODELS, MAPPING)
reviewed.summary()

# %% [markdown]
# ## Scoring the open deals
#
# The pipeline file is read through the mapping and checked against the data contract row by
# row, as the batch job does: open deals are scored, and every other row is left out with its
# reason (a broken rule, or a deal already closed). Deals are scored as at `AS_OF`, by default
# the day the export was taken, so that an old export is not scored as if it were today.

# %%
as_of = pipeline_review.scoring_date(EXPORT, MAPPING, AS_OF)
pipeline = pipeline_review.open_deals(PIPELINE, MAPPING)
scores = pipeline_review.score_open_deals(reviewed, pipeline, as_of)
pipeline.summary()

# %% [markdown]
# The first rows left out, and why:

# %%
pipeline.rejects.head(10)

# %% [markdown]
# ## 1 · The recommendation mix
#
# Deals and pipeline value per recommendation. **Pursue**: p_good in the top tier.
# **Compete**: glass walls dominate, but the expected return justifies a head-to-head.
# **Keep presence**: glass walls dominate and the return is modest: stay present as the second
# option. **Walk away**: outside the ICP or a poor fit for their needs, with a high risk of
# regret or loss. **Qualify**: no sign dominates, or too little is known: find out more first.
# `good_value` is the sum of p_good × amount: the value we can expect to win and keep.

# %%
mix = pipeline_review.recommendation_mix(scores)
mix

# %%
pipeline_review.recommendation_mix_figure(mix)

# %% [markdown]
# ## 2 · Deals to walk away from
#
# The biggest deals the model would walk away from, with each sign's effect on p_good in points
# and the reasons inside the ICP and need-fit signs: these are tomorrow's regrettable sales, or
# deals we cannot serve well. Freeing the sellers' time here is the point of the exercise.

# %%
print(pipeline_review.list_caption(scores, "walk_away"))
pipeline_review.deal_list(scores, "walk_away")

# %% [markdown]
# ## 3 · Deals to keep a presence in
#
# Glass walls: a rival is entrenched and the expected return does not justify a head-to-head.
# Stay present as the credible second option, at low cost, for the day the incumbent slips.

# %%
print(pipeline_review.list_caption(scores, "keep_presence"))
pipeline_review.deal_list(scores, "keep_presence")

# %% [markdown]
# ## 4 · One deal, sign by sign
#
# The biggest deal to walk away from (else to keep a presence in, to compete for...), as
# `walkaway explain DEAL_ID --deals PIPELINE` shows it: its scores, the recommendation and why,
# and each sign's effect on p_good in points with its reasons. Both come from
# `walkaway.serving.one_deal`, so the notebook and the command line cannot disagree.

# %%
deal_id = pipeline_review.deal_to_explain(scores)
deal = pipeline.deal(deal_id)
explained = one_deal.explain_deal(reviewed.model, deal, as_of, reviewed.name, reviewed.version)
print(explained.headline())
explained.table()

# %% [markdown]
# The deal as the model sees it: every input inside each sign, in words.

# %%
review_common.deal_summary(reviewed.model, deal, as_of)

# %% [markdown]
# What would change it: the same deal with the inputs of `WHAT_IF` set, as
# `walkaway whatif DEAL_ID --deals PIPELINE --set decision_maker_access=yes --set
# competitor_count=1` sets them (values read by the data contract's own parsers): p_good and
# each sign's effect before and after, and the recommendation.

# %%
changes = deal_inputs.parse_changes(WHAT_IF, deal)
changed = one_deal.what_if(reviewed.model, deal, changes, as_of, reviewed.name, reviewed.version)
print(changed.summary(), *changed.notes, sep="\n")
changed.table()

# %% [markdown]
# Its waterfall, per head, in log-odds: from the **bias** (an average deal), each sign adds its
# features' exact contributions (TreeSHAP for trees, additive terms for a logistic model), and
# the **margin** is the deal's log-odds, which the calibrator turns into p_win or p_regret.
# Inside each sign, the features that move it most, and the rest of the sign as one row, so a
# sign's features add up to it. `p_good_points` is each part's effect on p_good (both heads
# together), the figure the seller sees ("glass walls cost 12 points").

# %%
waterfall = deal_waterfall.waterfall(reviewed.model, deal, as_of)
waterfall

# %%
deal_waterfall.waterfall_figure(waterfall, deal_id)

# %% [markdown]
# ## 5 · The list for the CRM
#
# The job `walkaway score` runs (`walkaway.jobs.score_job`, loading the reviewed model's
# registered version; a model trained here and not registered goes straight to the batch job it
# wraps) scores the pipeline again into `OUT`: one row per scored deal with its scores, sign
# effects, reasons, recommendation and the model's name and version, text a spreadsheet would
# run as a formula made inert, and the rows left out in `<OUT>.rejects.csv` beside it. Files are
# written whole or not at all.

# %%
pipeline_review.write_for_crm(PIPELINE, OUT, reviewed, MAPPING, as_of)
