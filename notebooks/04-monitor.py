# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Monitor: were the scores right, and has the pipeline drifted?
#
# Once walkaway scores the pipeline every month, the questions change. Not "what does the
# model say about this deal?" but:
#
# 1. **Were last months' scores right?** The **backtest**: the deals scored months ago,
#    against how they have ended since, and a verdict on the model in use.
# 2. **Can the probabilities still be read as they are?** **Reliability over time**, month of
#    scoring by month of scoring, read so that the deals still open do not fool us.
# 3. **Does today's pipeline still look like the deals the model learned from?** **Drift by
#    sign**: how far each sign's inputs (glass walls, the ideal customer profile, need fit) have
#    moved, month by month.
#
# Monitoring needs time to pass, and an export taken since. On the synthetic CRM, time is
# simulated: the demo export is continued a month at a time (`walkaway synth --continue-from`),
# the world's rules can change on the way (a **shift**: by default a rival becomes entrenched in
# EMEA), and each month's open pipeline is scored as of that month by `walkaway score`. Then
# `walkaway monitor` judges the older scores against the newest export.
#
# Every step is one call to `walkaway.analysis.monitor_review` (the model, as notebook 03 gets
# it, from `walkaway.analysis.pipeline_review`); the notebook holds no logic of its own. Set the
# inputs in the next cell and run all cells.

# %%
from pathlib import Path

EXPORT = Path("../data/raw/synthetic-crm")  # a `walkaway synth` export: the world to continue
MODELS = Path("../models")  # MLflow store of walkaway train (SQLite models/mlflow.db)
WORK = Path("../data/interim/monitor")  # the months, their scores and the monitoring page
MONTHS = 6  # months of simulated time
SHIFT = "rival:EMEA"  # how the world changes: "rival:REGION", "churn:INDUSTRY", or None

# %% [markdown]
# ## The export
#
# On a fresh clone the demo export does not exist yet: the next cell writes the synthetic CRM
# history (5,000 deals, seed 7) when the export folder holds no CSV or Parquet file yet;
# `make demo` writes a bigger one there (20,000 deals), big enough for the backtest to tell the
# shift from noise (see below). The export is only read: every month simulated below is
# written into `WORK`. Only a synthetic export can be continued (its `synth.json` says how it was drawn); a
# real CRM's future is not known, so there the backtest is `walkaway monitor` on the files you
# scored in past months.

# %%
# %matplotlib inline
import pandas as pd

from walkaway.analysis import (
    drift_over_time,
    monitor_review,
    pipeline_review,
    reliability_over_time,
    review_common,
)

pd.set_option("display.max_colwidth", 120)
review_common.ensure_demo_export(EXPORT)

# %% [markdown]
# ## The model
#
# The model in use: the champion of the MLflow store in `MODELS`, as notebook 03 loads it. When
# the store has no champion yet, one is trained on `EXPORT` and registered, so this notebook
# does not depend on `02` having run. The same model scores every month: the one a team would
# have had in use all along, trained before the world changed.

# %%
reviewed = pipeline_review.champion_or_train(EXPORT, MODELS)
reviewed.summary()

# %% [markdown]
# ## Simulated time
#
# The world of `EXPORT` is continued a month at a time, `MONTHS` times, into `WORK/month-1`,
# `WORK/month-2`... Each month is the same world seen a month later: deals that were open
# close (wins sooner than losses) or stay open, new deals open at the same pace, and continuing
# six times by a month gives exactly the files of continuing once by six.
#
# `SHIFT` changes the rules for the deals created from the first month on (deals already
# open keep the outcomes they always had):
#
# - `rival:EMEA`: a rival becomes entrenched in EMEA. Its new deals more often have an
#   incumbent, with a longer tenure, and more often go to a formal tender; on top of what those
#   inputs show, winning there is harder by an amount no column shows. A model trained before
#   the shift gives those deals too high a p_win.
# - `churn:INDUSTRY`: wins in that industry are more often regretted; who wins does not change.
# - `None`: nothing changes; the backtest should then find nothing (anything it finds is a false
#   alarm).

# %%
world = monitor_review.continue_world(EXPORT, WORK, MONTHS, SHIFT)
world.table()

# %% [markdown]
# Each month's open pipeline is scored as of the day its export was taken, by the job
# `walkaway score --deals MONTH/pipeline.csv --as-of DATE` runs. Besides the scores, the job
# writes the pipeline's **drift figures** beside them (`<scores>.drift.csv`): section 3 reads
# them.

# %%
scored = monitor_review.score_months(world, reviewed)
scored.table()

# %% [markdown]
# ## 1 · The backtest: were the scores right?
#
# `walkaway monitor` (its job, `walkaway.jobs.monitor_job`) takes the scores of every month but
# the newest and looks each deal up in the newest export: won, lost, still open, or gone from the
# CRM. It judges the **live model** (the version of the latest scoring), each deal once, at the
# first time it was scored. The verdict says whether its calibration has drifted on recent
# outcomes, overall or in one segment (a region, an industry, a product...), and when it has,
# suggests retraining on the newer export. The same page as `walkaway monitor --report` is
# written to `WORK/monitor.html`.

# %%
run = monitor_review.backtest(scored, WORK / "monitor.html")
print(run.verdict.text)

# %% [markdown]
# ### By month of scoring
#
# One row per month the pipeline was scored in: how those deals stand now, and how many of them
# were won, against how many wins the model's p_win led us to expect by now.
#
# **Why not simply compare p_win with the win rate of the closed deals?** Because the deals
# still open are not a random half of the pipeline. Wins close sooner than losses: a buyer who
# says yes signs within weeks, one who will say no lets the deal drag for months before it is
# marked lost. So, a few months after scoring, the deals that have closed are rich in wins, and
# their win rate (column `win rate of the closed`) is far above the p_win they were given, even
# for a model that is exactly right. The closer the month, the more of its deals are still
# open, and the worse the illusion.
#
# **Wins expected by now** fixes this. For each scored deal it takes its p_win times the chance
# that a win of its age would have closed in the time since it was scored (that chance read from
# how long past deals took to close). Added up, these are the wins we should have seen *by now*
# if the model is right; `won / expected` near 1 means it is, whatever share is still open, and
# `z` says how many standard errors of plain luck the gap is.

# %%
monitor_review.by_month(run)

# %%
print(monitor_review.closed_rate_in_words(run))

# %% [markdown]
# ### The shifted segment
#
# The verdict also compares each segment with the others: a region whose deals win 40% as often
# as the model expected, while the other regions win as expected, has changed even if the total
# still looks right. `relative` is a segment's `won / expected` over that of a typical segment
# of its column (the median), and `z` the gap in standard errors; a segment is flagged past
# 1.6 times (or 1/1.6) *and* 3 standard errors. Among "deals created since" the first scoring
# are the deals a shift can change.
#
# **Size matters.** In a world of 5,000 deals (the demo export a fresh clone writes), about 650
# are open at a time and a region's new deals bring a couple of dozen wins in six months: a
# true fall of their win rate by half is still within reach of luck, so the verdict is weak at
# that size and usually says "no drift". The relative ratio of the shifted region is shown
# anyway, with what it would take to be sure. A world of about 20,000 deals (what `make demo`
# writes, or `walkaway synth --deals 20000`) is what the verdict needs to tell this shift from
# noise; there it names the region, and often the entrenched rival (`incumbent_vendor`) too.

# %%
monitor_review.shifted_segment(run, SHIFT)

# %%
print(monitor_review.shift_in_words(run, world))

# %% [markdown]
# ## 2 · Reliability over time
#
# **Left**: a reliability curve per month of scoring (per quarter when a month has too few
# closed deals to draw one): the closed deals grouped by the p_win they were given, each point
# a group's mean p_win against the share of it that won. On the diagonal, "30%" meant 3 in 10.
# This is the view above, and misleads the same way: the points sit above the diagonal because
# the closed deals are rich in wins, the more so the more recent the scoring. Read it for the
# **ranking** (higher p_win, higher win rate: the curves should rise), not for the level.
#
# **Right**: the level, read right: wins observed over wins expected by now, per month of
# scoring, for all the deals and for the segment the shift changed. Near 1 is a model still
# calibrated; the bars are three standard errors of luck; the dotted lines are the verdict's
# threshold for the whole pipeline. A shifted segment drifts down month by month as the new
# deals, created under the new rules, make up more of each month's pipeline.

# %%
curves = reliability_over_time.reliability_over_time(run)
reliability_over_time.reliability_figure(curves, run, SHIFT)

# %% [markdown]
# ## 3 · Drift by sign: does the pipeline still look like what the model learned?
#
# The backtest needs outcomes, and outcomes take months. Drift does not: each time the batch
# job scores, it compares the pipeline's inputs with the deals the model learned from, input by
# input, with the **population stability index** (PSI: 0 when the two look alike; for one
# input, 0.25 or more is a major shift), and adds it up per sign. A sign whose inputs sum to
# 0.25 or more has drifted, and `walkaway score` warns. Inputs that move with the calendar by
# construction (a deal's age, a seller's record to date) are not compared.
#
# The first month is the baseline: the pipeline on the export date the model learned from. It
# is not zero: open deals are not quite the deals the model learned from, and noise alone gives
# a number input (ten bins) a PSI of about 9 / (deals scored), 0.015 for 650 open deals, so in
# a small world a sign of four to six inputs starts somewhere up to 0.1.
# What to watch is a sign that rises month after month. With `rival:EMEA`, **glass walls**
# rises (more incumbents, longer tenures, more tenders), while the ICP and need fit stay where
# they were: the drift figures point at the sign the world changed, months before enough of
# those deals have closed for the backtest to see it.

# %%
reports = drift_over_time.drift_reports(scored)
drift = drift_over_time.drift_by_sign(reports)
drift.round(3)

# %% [markdown]
# The inputs that moved most, month by month, and the warnings `walkaway score` printed:

# %%
drift_over_time.drift_by_feature(reports).round(3)

# %%
drift_over_time.drift_warnings(reports)

# %%
drift_over_time.drift_figure(reports)

# %% [markdown]
# ## What to do with it
#
# - **The verdict says drift**: retrain on the newer export (`walkaway train --history
#   NEWER_EXPORT`); the champion-and-challenger rule decides whether the new version replaces
#   the champion.
# - **A sign drifts, the verdict says nothing yet**: the pipeline has moved away from what the
#   model learned, and its outcomes are not in yet. Look at the inputs that moved, ask the
#   sellers what changed (a rival, a tender policy...), and run the backtest again as deals
#   close.
# - **Neither**: the scores can be read as they are.
#
# On your own pipeline: keep the file `walkaway score` writes each month, and once a newer
# export exists, run `walkaway monitor --scored scores-*.csv --history NEWER_EXPORT --report
# monitor.html`.
