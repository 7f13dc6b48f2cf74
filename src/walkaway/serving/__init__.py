"""Where scores leave: the MLflow registry (the only module importing mlflow), scoring, the
batch job over a pipeline file, and its HTML report."""

# Deals per chunk of the batch job; here, not in ``batch``, so that the command line can show
# it without loading pandas and LightGBM (``walkaway --help`` stays fast).
DEFAULT_CHUNK_SIZE = 50_000
