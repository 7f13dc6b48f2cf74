"""Where scores leave: the MLflow registry (the only module importing mlflow), scoring, the
batch job over a pipeline file, and its HTML report."""
