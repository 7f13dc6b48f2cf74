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
# # 01 · Explore a CRM history before training
#
# walkaway learns from an exported CRM history when it is time to walk away from a deal, and
# explains every score with three signs (Miller Heiman's *3 signs it's time to walk away*):
#
# | sign | what it means | evidence looked at here |
# |---|---|---|
# | **glass walls** | a rival is entrenched; we are invited to bid for compliance | win rate by the incumbent's tenure, and by tender type |
# | **outside the ICP** | the prospect does not look like our best customers | win rate and regret rate by ICP similarity; the learned ICP |
# | **square peg, round hole** | what we sell does not meet what they need | win rate and regret rate by capability coverage |
#
# Before any model is trained, this notebook looks at the **raw evidence**: does the history
# itself show that deals behind glass walls are lost more often, that customers unlike our
# best ones are regretted more often, that a poor fit of product to need ends badly? If the
# raw evidence is flat, a model cannot be expected to find much either; if it is strong, the
# signs are worth their place in the explanations.
#
# In order: the export's data quality, the outcomes over time, each sign's evidence, and the
# Ideal Customer Profile (ICP) learned from the history. Every table and figure comes from
# `walkaway.analysis` (`exploration`, `outcome_rates`, `sign_evidence`, `icp_profile`) and
# `walkaway.data.quality`: the notebook holds no logic of its own, so
# what you see here is exactly what the package computes and tests.
#
# **To explore your own export**, change the next cell only.

# %%
from pathlib import Path

EXPORT = Path("../data/raw/synthetic-crm")  # your export: a folder holding its files (or a deals file)
MAPPING = None  # a mapping file or shipped name; None: detected from the export's columns

# %% [markdown]
# The default `EXPORT` is the demo's synthetic history (5,000 deals, seed 7: the same export
# `make demo` writes). On a fresh clone `data/` is empty, so the next cell writes it the first
# time, and leaves it alone afterwards. It does nothing for any other `EXPORT`: your own export
# is only ever read.

# %%
from walkaway.analysis.exploration import ensure_demo_export

DEMO_PATH = Path("../data/raw/synthetic-crm")
if Path(EXPORT) == DEMO_PATH:  # only the default demo path is ever written to
    ensure_demo_export(EXPORT)

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from walkaway.analysis.exploration import explore, overview
from walkaway.analysis.icp_profile import icp_profile_figure
from walkaway.analysis.outcome_rates import outcome_rates_over_time, plot_rates_over_time
from walkaway.analysis.sign_evidence import evidence_table, plot_sign_evidence, sign_evidence
from walkaway.data.exports import load_history
from walkaway.data.quality import assess_export
from walkaway.data.quality_tables import quality_tables

pd.options.display.precision = 3
pd.options.display.max_colwidth = 120

# %% [markdown]
# ## 1. Can the export be trusted?
#
# The data-quality summary is what `walkaway validate` prints. It reads the deals file through
# its mapping and reports the rows breaking the data contract (training refuses an export until
# they are fixed), duplicated deals, the empty share of every mapped column and, most important
# for what follows, **suspected leaks**: columns that alone tell won from lost suspiciously well,
# because they are only known after the close (a final value, a margin, a process duration).
#
# Why it matters for the signs: a sign's evidence is only as good as its columns. A glass-walls
# column empty on most deals (the incumbent is often left blank) weakens that sign; a leak would
# make any sign look weak beside it. The notes below say what each finding means.

# %%
report = assess_export(EXPORT, MAPPING)
for title, table in quality_tables(report):
    display(Markdown(f"**{title}**"), table)
display(Markdown("**Notes**\n\n" + "\n".join(f"- {note}" for note in report.notes or ["none"])))

# %% [markdown]
# ## 2. The history, labelled
#
# The export is read through its mapping and every deal is labelled as training labels it:
# **won** or **lost**, and for a win, **regrettable** when, within the regret horizon (365
# days by default) after the close, the customer churned, the margin went negative or the win
# was flagged. A win younger than the horizon without such evidence is **censored**: its
# regret is not known yet. Regret rates below are therefore always the regretted share of
# *matured* wins, never of all wins.
#
# Each closed deal also gets its features **as at its creation date**, from the same pipeline
# training uses: its ICP similarity, for instance, only compares it with customers whose fate
# was known before the deal was created. The evidence below is what a seller could have known
# when the deal started.

# %%
history = load_history(EXPORT, MAPPING)
exploration = explore(history)
overview(exploration)

# %% [markdown]
# ## 3. Outcomes over time
#
# Win rate and regret rate by quarter of close (top), with the closed deals of each quarter
# (bottom). Look for:
#
# - **a drifting win rate**: a model trained on old quarters and judged on the newest ones
#   (as walkaway evaluates) is only fair when the base rate is roughly stable;
# - **the censoring edge**: the regret rate stops one regret horizon before the export date,
#   because later wins have not had time to show their regret. This is why the regret head
#   learns only from matured wins;
# - **thin quarters** at the start and the end, whose rates rest on few deals.
#
# An export without regret evidence (no churn date, flag or margin, or too short a history)
# has no regret rate: the figure says so, and the ICP cannot be learned (section 5).

# %%
rates = outcome_rates_over_time(exploration.labelled, freq="QE")
rates

# %%
plot_rates_over_time(rates)

# %% [markdown]
# ## 4. Each sign's raw evidence against the outcomes
#
# For each sign, the closed deals are split into bands of one input, and each band shows its
# **win rate** (bar, with the band's share and number of deals at its foot), beside the win
# rate of all the deals shown (dashed line) and the **regret rate** of its matured wins
# (diamond). Read them as:
#
# - **glass walls, incumbent tenure**: no incumbent, then a rival in place for longer and
#   longer. Walls show as a win rate falling with tenure; a rival in place for three years or
#   more is where the article's compliance bids come from.
# - **glass walls, tender type**: no formal tender, a tender answered within 14 days (a window
#   too short to shape the requirements: probably written around a rival), and a longer one.
# - **outside the ICP, ICP similarity**: quantile bands of the point-in-time similarity of the
#   account to our best customers rather than to the regretted ones (naive-Bayes log-odds over
#   industry, size, revenue and ownership; 0 is neutral). Deals created before any customer's
#   regret was known have nothing to compare with and come first. This sign mostly shows in
#   the **regret rate**, not the win rate: a prospect outside the ICP is often won, and
#   regretted later ("tomorrow's regrettable sale").
# - **square peg, round hole, capability coverage**: the share of the buyer's required
#   capabilities that the offered product covers. A poor fit shows in a lower win rate and,
#   when such a deal is won anyway, a much higher regret rate.
#
# These are raw, one-at-a-time comparisons: inputs travel together (tenders are more common in
# the public sector, for instance), so a band's rate mixes its own effect with its
# neighbours'. The model weighs them jointly; here we only check that each sign's evidence is
# there at all. An export without the columns a view needs shows the panel as "not in this
# export" rather than an empty chart: that sign cannot explain anything for this export.

# %%
evidence = sign_evidence(exploration.labelled, exploration.features)
evidence_table(evidence)

# %%
plot_sign_evidence(evidence)

# %% [markdown]
# ## 5. The Ideal Customer Profile, learned from the history
#
# Our **best customers** are wins kept past the regret horizon; our **regretted** ones are wins
# that churned, ran at a loss or were flagged. The ICP is what sets the two groups apart: first
# in words (a value is named for a group when that group holds it at least 1.3 times as often
# as the other, with at least 10 customers), then as the share of each group holding each
# industry, company-size band and revenue band. A value whose red bar is longer than its blue
# one is more common among regretted customers: prospects like that are the "outside the ICP"
# sign, and their deals will be scored down for it.
#
# An export with no customer whose regret is known (no regret evidence, or no win older than
# the horizon) has no ICP yet: the sentences and the figure say so.

# %%
print("\n\n".join(exploration.icp_in_words()))

# %%
icp_profile_figure(exploration.profile)

# %% [markdown]
# ## Next
#
# If the evidence above holds up, train and evaluate the model on this export
# (`walkaway train --history <export>`; notebook 02). A sign whose evidence is flat or "not in
# this export" here will carry little weight in the model's explanations: that is worth
# knowing before a seller reads "glass walls cost this deal 12 points".
