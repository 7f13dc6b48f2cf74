"""walkaway: predict how a B2B deal will end and say, in a seller's words, when to walk away."""

import warnings

__version__ = "0.1.0"

# With the spark extra installed, pandera imports pyspark.pandas, which warns that it does not
# yet support pandas 3. walkaway does not use pandas-on-Spark: keep users' output clean.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
