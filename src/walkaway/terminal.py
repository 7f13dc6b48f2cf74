"""What every ``walkaway`` command shares: the consoles it prints to and its common options.

Kept apart from :mod:`walkaway.cli` so that the command modules (:mod:`walkaway.commands`) can
use them without importing the CLI that registers them. Only typer and rich are imported here:
``walkaway --help`` must stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Logs and pipes get wide tables rather than rich's 80-column default.
PIPE_WIDTH = 140
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH)

HistoryOption = Annotated[
    Path, typer.Option("--history", help="CRM export: a folder of its files, or the deals file.")
]
MappingOption = Annotated[
    str | None,
    typer.Option(help="Mapping YAML file or shipped mapping name (default: detected)."),
]
ModelsOption = Annotated[
    Path, typer.Option("--models-dir", help="Where the default SQLite MLflow store lives.")
]
