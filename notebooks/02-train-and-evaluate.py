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
# # 02 · Train and evaluate
#
# This notebook trains walkaway on a CRM history (or loads the model already in use) and asks
# the questions an analyst must answer before trusting it with a sales team:
#
# 1. **Is it better than something simple?** Holdout metrics of both heads beside a logistic
#    regression and the base rate.
# 2. **Can its probabilities be taken at face value?** Reliability curves.
# 3. **What does it listen to, and does it say it in the three signs?** How much each sign
#    moves p_good, then, inside each sign, how every input pushes deal by deal (SHAP beeswarms).
# 4. **Does it react to a deal the way a seller would expect?** A what-if on one deal.
#
# The three signs (Miller Heiman, *3 signs it's time to walk away*): **glass walls** (a rival
# is entrenched; we may be invited only for compliance), **outside the ideal customer profile**
# (the prospect does not look like our best customers: tomorrow's regrettable sale) and
# **square peg, round hole** (what we sell does not meet what they need). Every other input is
# the **deal context**.
#
# Every step is one call to `walkaway.analysis.model_review` (or, for the steps notebook 03 takes
# too, `walkaway.analysis.review_common`); the notebook holds no logic of its own. Set the inputs
# in the next cell and run all cells.

# %%
from pathlib import Path

EXPORT = Path("../data/raw/synthetic-crm")  # the CRM history export (folder) to learn from
MAPPING = None  # None: detected from the export's columns; else a mapping file or shipped name
MODELS = Path("../models")  # MLflow store of walkaway train (SQLite models/mlflow.db)
TRAIN = True  # True: train and register a new version; False: load the champion if any

# %% [markdown]
# ## The export
#
# On a fresh clone the demo export does not exist yet: the next cell writes the synthetic CRM
# history (5,000 deals, seed 7, as `make demo` does) when the export folder holds no CSV or
# Parquet file yet. A folder that already holds an export is only read, never written to.

# %%
# %matplotlib inline
import pandas as pd

from walkaway.analysis import model_review, review_common

pd.set_option("display.max_colwidth", 90)
review_common.ensure_demo_export(EXPORT)

# %% [markdown]
# ## The model
#
# With `TRAIN = True` the model is trained exactly as `walkaway train` does it
# (`walkaway.jobs.train_job`): the export is checked against the data contract, deals are
# labelled (won, lost, regrettable), both heads are fitted on all but the newest deals and
# judged on the newest ones, then refit on every closed deal with the learners the evaluation
# chose, and the run is logged and registered in the MLflow store in `MODELS` (SQLite, unless
# `MLFLOW_TRACKING_URI` points at a team server). The new version becomes `@champion` if it is
# the first, or by the champion-and-challenger rule (the win head decides, the regret head
# guards; a suspected leak never).
#
# With `TRAIN = False` the champion is loaded instead, when there is one trained on this kind of
# export; it carries its own evaluation, so everything below is shown for it.

# %%
reviewed = model_review.train_or_load(EXPORT, MODELS, MAPPING, train=TRAIN)
reviewed.summary()

# %% [markdown]
# ## 1 · Holdout metrics against the baselines
#
# Each head is judged on deals it never learned from: the **win head** on the newest 20% of
# closed deals, the **regret head** on the newest 20% of *matured* wins (wins old enough for
# their regret to be known). Beside walkaway: a **logistic** regression on the same features and
# the **base rate** (everyone gets the average). On a synthetic export, **truth** (the true
# probabilities the data were drawn from) is the ceiling no model can beat.
#
# Read ROC AUC and PR AUC for ranking (who to work first), log loss and Brier for the quality
# of the probabilities, lift in the top decile for "how much better is our best 10%", and ECE
# (expected calibration error) for how far stated probabilities are from observed rates. A model
# no better than the base rate on its head has nothing to say about that head's sign effects.

# %%
model_review.holdout_metrics(reviewed.model)

# %% [markdown]
# ## 2 · Reliability: can the probabilities be read as they are?
#
# Holdout deals are grouped into bins of equal size by predicted probability; each point is a
# bin's mean prediction against the rate actually observed. On the diagonal, "30%" means 3 in
# 10. The sign effects are differences of these probabilities ("glass walls cost 12 points"), so
# a head that is badly calibrated would also misstate what each sign costs.

# %%
model_review.reliability_figure(reviewed.model)

# %% [markdown]
# ## 3 · What moves p_good, by sign
#
# For each holdout deal, a sign's effect is its exact Shapley value on p_good among the four
# groups, a group left out meaning its contributions taken out of both heads' log-odds (the
# effects add up to p_good minus p_good at the base margins). The bars are the mean absolute
# effect, in points of p_good: how much, on a typical deal, that sign changes the headline score. The
# deal context is shown too, so the signs can be read against everything else.

# %%
model_review.importance_figure(reviewed.model)

# %% [markdown]
# ### Inside each sign: every input, deal by deal
#
# A beeswarm per sign, over the win holdout. Each dot is one deal: how much one input pushes
# its win head's log-odds (right: more likely won), coloured by the input's value (red high,
# blue low; text inputs and missing values grey). The contributions are exact: LightGBM's
# TreeSHAP (`pred_contrib`) for trees, coefficient x (value - mean) for a logistic model, as
# the head blends them; the `shap` package only draws them. What to look for is that each
# input pushes in the direction a seller would expect.
#
# **Glass walls**: a long-tenured incumbent, a formal tender and more competitors should push
# left; access to the decision maker should push right.

# %%
holdout = model_review.holdout_deals(EXPORT, MAPPING)
beeswarms = model_review.sign_beeswarm_figures(reviewed.model, holdout)
beeswarms["glass_walls"]

# %% [markdown]
# **Outside the ICP**: industry and size near our best customers should help a little. The
# ICP matters mostly for regret (tomorrow's regrettable sale), which the win head's beeswarm
# does not show: the what-if below shows it on p_good.

# %%
beeswarms["icp_fit"]

# %% [markdown]
# **Square peg, round hole**: low capability coverage, uncovered must-haves, customisation and
# undefined needs should push left.

# %%
beeswarms["need_fit"]

# %% [markdown]
# ## 4 · What-if: one holdout deal, one input at a time
#
# An ordinary holdout deal (one with an incumbent rival, its p_good near the median) is
# re-scored by the model with one input changed at a time, everything else held as it is: the
# incumbent's **tenure** (glass walls), the account's **employees** (ICP; the synthetic ICP's
# sweet spot is near 1,000) and the **product offered** (need fit: the product decides how much
# of the buyer's required capabilities we cover; it is also part of the deal context). First
# the deal as the model sees it, sign by sign:

# %%
deal = model_review.what_if_deal(reviewed.model, holdout)
review_common.deal_summary(reviewed.model, deal)

# %% [markdown]
# The table holds every re-scored copy; `own` marks the deal's own value, whose p_good is the
# deal's own.

# %%
changes = model_review.what_if_inputs(reviewed.model, deal)
what_if = model_review.what_if(reviewed.model, deal, changes)
what_if

# %% [markdown]
# The dashed line is the deal as it is. A line that falls with tenure is glass walls at work; a
# hump in employees is the ICP; products that cover less of what the buyer needs should sit
# lower, through both a lower chance of winning and a higher chance of regret.

# %%
model_review.what_if_figure(what_if)

# %% [markdown]
# ## Next
#
# `03-review-pipeline` scores the open deals with the champion and turns the scores into
# lists a sales leader can act on.
