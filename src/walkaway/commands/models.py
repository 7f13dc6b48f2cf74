"""``walkaway models``: the registered versions from the command line, without the MLflow API.

``walkaway models`` lists every version (aliases, when and on what it was trained, its holdout
metrics, its latest decision); ``walkaway models show VERSION`` prints its whole card. The
records come from :mod:`walkaway.serving.registry` and are shaped by
:mod:`walkaway.serving.model_cards`; this module only lays them out with rich.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import JustifyMethod
from rich.markup import escape
from rich.table import Table

from walkaway.terminal import console

if TYPE_CHECKING:
    from walkaway.serving.model_cards import VersionCard

DEFAULT_MODELS_DIR = Path("models")
DEFAULT_NAME = "walkaway"  # as walkaway.serving.registry.MODEL_NAME, without importing MLflow

# Given before or after `show` (`walkaway models --models-dir X show 2` or `... show 2
# --models-dir X`): None means "not given here".
ModelsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--models-dir", help="Where the default SQLite MLflow store lives (default: models)."
    ),
]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Registered model name (default: walkaway).")
]

models_app = typer.Typer(
    help="List the registered model versions, or show one version's whole card.",
    invoke_without_command=True,
)


@models_app.callback()
def models(
    context: typer.Context, models_dir: ModelsDirOption = None, name: NameOption = None
) -> None:
    """List every registered version: its alias, when and on what it was trained, its holdout
    metrics and its latest decision. `walkaway models show VERSION` prints one in full."""
    context.obj = {"models_dir": models_dir, "name": name}
    if context.invoked_subcommand is not None:
        return
    from walkaway.serving import model_cards, registry

    folder, model_name = models_dir or DEFAULT_MODELS_DIR, name or DEFAULT_NAME
    records = registry.list_versions(model_name, folder)
    if not records:
        console.print(no_model(folder, model_name), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"Registered versions of '{escape(model_name)}' ({escape(str(folder))})")
    numbers = ("p_win\nROC AUC", "p_win\nBrier", "p_regret\nROC AUC", "p_regret\nBrier")
    for column in ("version", "alias", "trained (UTC)", "trained on", *numbers, "decision"):
        justify: JustifyMethod = "right" if column in (*numbers, "version") else "left"
        wraps = column in ("trained on", "decision")
        table.add_column(column, justify=justify, no_wrap=not wraps)
    for row in model_cards.listing_rows(records):
        table.add_row(
            row.version,
            row.aliases,
            row.trained,
            escape(row.trained_on),
            row.win_roc_auc,
            row.win_brier,
            row.regret_roc_auc,
            row.regret_brier,
            escape(row.decision),
        )
    console.print(table)
    console.print("Each version in full: walkaway models show VERSION", highlight=False)


@models_app.command("show")
def show(
    context: typer.Context,
    version: Annotated[int, typer.Argument(help="Registered version to show.", min=1)],
    models_dir: ModelsDirOption = None,
    name: NameOption = None,
) -> None:
    """Print one version's whole card: its data, holdout metrics against the baselines,
    calibration, recommendation policy, the mapping it was trained with, and every promote and
    rollback with its reason."""
    from walkaway.serving import registry

    given = context.obj or {}
    folder = models_dir or given.get("models_dir") or DEFAULT_MODELS_DIR
    model_name = name or given.get("name") or DEFAULT_NAME
    print_card(registry.version_card(version, model_name, folder))


def no_model(models_dir: Path, model_name: str) -> str:
    """The line for a store without any version: where was looked, and how to train one."""
    store = os.environ.get("MLFLOW_TRACKING_URI") or str(models_dir)
    named = "" if model_name == DEFAULT_NAME else f" named '{model_name}'"
    option = "" if models_dir == DEFAULT_MODELS_DIR else f" --models-dir {models_dir}"
    return f"no model{named} trained yet in {store}: walkaway train --history EXPORT{option}"


def print_card(card: VersionCard) -> None:
    """A version's card, section by section, as ``walkaway models show`` prints it."""
    from rich.syntax import Syntax

    from walkaway.cli import metrics_table  # the very table training printed
    from walkaway.serving import model_cards

    record = card.record
    when = f"{record.trained_at:%Y-%m-%d %H:%M} UTC"
    console.print(
        f"[bold]{escape(record.model_name)} version {record.version}[/bold]: "
        f"{escape(model_cards.status(record))}, trained {when}",
        highlight=False,
    )
    made_by = record.params.get("walkaway_version")
    console.print(
        f"MLflow run {record.run_id or 'none'}" + (f", walkaway {made_by}" if made_by else ""),
        highlight=False,
    )
    print_lines("The data it learned from", model_cards.data_lines(record))
    metrics = model_cards.metrics_frame(record.metrics)
    if metrics.empty:
        console.print("\nNo holdout metrics were logged with this version.")
    else:
        newest = record.params.get("win_holdout_cutoff", "") != "no dates"
        console.print()
        console.print(metrics_table(metrics, newest))
    for note in card.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", soft_wrap=True)
    print_lines("How it learned", model_cards.learner_lines(record.params))
    print_lines("Calibration on the holdout", model_cards.calibration_lines(record))
    reliability = model_cards.reliability_frame(card.holdout_predictions)
    if not reliability.empty:
        table = Table(title="Reliability of walkaway on the holdout")
        for column in ("head", "bin", "mean predicted", "observed rate", "deals"):
            table.add_column(column, justify="left" if column == "head" else "right")
        for row in reliability.itertuples(index=False):
            table.add_row(
                row.head,
                str(row.bin),
                f"{row.mean_predicted:.3f}",
                f"{row.observed_rate:.3f}",
                f"{row.count:,}",
            )
        console.print(table)
    policy = model_cards.policy_rows(record.params)
    if policy:
        table = Table(title="Recommendation policy")
        for column in ("threshold", "value", "what it decides"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for threshold, value, meaning in policy:
            table.add_row(threshold, value, escape(meaning))
        console.print(table)
    mapping = record.params.get("mapping", "")
    console.print(f"\n[bold]The mapping it was trained with[/bold]: {escape(mapping)}")
    if card.mapping_yaml and console.is_terminal:
        console.print(Syntax(card.mapping_yaml.rstrip(), "yaml", background_color="default"))
    elif card.mapping_yaml:  # as plain text: no padding to the width in logs and files
        console.print(card.mapping_yaml.rstrip(), markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(
            "(not logged with this version: scoring uses the one found beside the export)"
        )
    table = Table(title=f"Decisions about version {record.version}, oldest first")
    for column in ("#", "when (UTC)", "action", "decision"):
        table.add_column(column, justify="right" if column == "#" else "left")
    for position, when_taken, action, text in model_cards.decision_rows(record.decisions):
        table.add_row(position, when_taken, action, escape(text))
    console.print(table)


def print_lines(title: str, lines: list[tuple[str, str]]) -> None:
    """A titled block of ``what: value`` lines (nothing when there are none)."""
    if not lines:
        return
    console.print(f"\n[bold]{title}[/bold]")
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        console.print(f"  {label:<{width}}  {escape(value)}", highlight=False, soft_wrap=True)
