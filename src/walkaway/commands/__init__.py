"""The ``walkaway`` commands that live in modules of their own, one per topic.

:mod:`walkaway.cli` registers them on its app. Like the CLI, a command module imports only
typer, rich and :mod:`walkaway.terminal` at the top; the work it wires (pandas, LightGBM,
MLflow) is imported inside the command, so that ``walkaway --help`` stays fast.
"""
