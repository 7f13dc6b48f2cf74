"""The ``walkaway`` command line. ``main(argv) -> int`` is the one entry point tests call.

Bad input never shows a traceback: contract, data, leakage and registry problems print one
line naming the problem and exit with status 1. Usage mistakes exit with status 2.
"""

from __future__ import annotations

import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from walkaway.commands import synth as synth_command
from walkaway.errors import WalkawayError
from walkaway.serving import DEFAULT_CHUNK_SIZE
from walkaway.terminal import HistoryOption, MappingOption, ModelsOption, console, errors

if TYPE_CHECKING:
    import pandas as pd

    from walkaway.data.quality import QualityReport
    from walkaway.jobs import ScoringRun
from walkaway.signs import GROUPS, SIGNS, TITLES

app = typer.Typer(
    help="Predict how B2B deals will end, and say when it is time to walk away.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def print_version(wanted: bool) -> None:
    """``walkaway --version``: the installed version, then exit before any command runs."""
    if not wanted:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("walkaway")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from walkaway import __version__ as installed
    console.print(f"walkaway {installed}", markup=False, highlight=False)
    raise typer.Exit()


@app.callback()
def options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Predict how B2B deals will end, and say when it is time to walk away."""


# Listed first, as it is the first step of the demo; its module is registered here.
app.command("synth")(synth_command.synth)


@app.command()
def train(
    history: HistoryOption,
    mapping: MappingOption = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "walkaway",
    calibration: Annotated[
        str, typer.Option(help="Calibration of both heads: sigmoid or isotonic.")
    ] = "sigmoid",
    policy: Annotated[
        Path | None,
        typer.Option(help="YAML of recommendation thresholds to set by hand (default: learned)."),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--no-refit",
            help="Refit on every closed deal after the holdout evaluation (--no-refit registers "
            "the evaluated model itself, fitted without the newest deals).",
        ),
    ] = True,
    models_dir: ModelsOption = Path("models"),
) -> None:
    """Train both heads on a CRM history, evaluate them on the newest deals, refit them on all
    deals, and register the model in MLflow."""
    import pandas as pd

    from walkaway.jobs import train_job

    if calibration not in ("sigmoid", "isotonic"):
        raise typer.BadParameter(
            f"{calibration!r} is not sigmoid or isotonic", param_hint="--calibration"
        )
    with console.status("Training: reading the export, fitting and evaluating both heads..."):
        run = train_job(history, mapping, experiment, models_dir, calibration, policy, refit)
    result = run.result
    console.print(
        f"[bold]Trained on {history}[/bold] (mapping: {run.mapping}) in {run.seconds:.1f} s"
    )
    fingerprint = result.fingerprint
    first, last = fingerprint["data_first_created"], fingerprint["data_export_date"]
    span = f"{first} to {last}" if first != last else str(first)
    console.print(
        f"Data: {fingerprint['data_rows']:,} deals ({fingerprint['data_won']:,} won, "
        f"{fingerprint['data_lost']:,} lost, {fingerprint['data_open']:,} open), "
        f"{span}, "
        f"sha256 {fingerprint['data_sha256']}"
    )
    console.print(result.labels_summary())
    console.print(result.holdout_summary())
    newest = result.holdout_cutoff is not None and not pd.isna(result.holdout_cutoff)
    console.print(metrics_table(result.metrics_table(), newest))
    by_age = result.win.metrics_by_age()
    if not by_age.empty:
        console.print(age_table(by_age))
    importance = result.sign_importance()
    console.print(
        "Mean |effect on p_good| over the win holdout: "
        + ", ".join(f"{TITLES[g]} {importance[g]:.1f} pts" for g in GROUPS)
    )
    if result.attribution is not None:
        share = result.attribution["share"]
        console.print(
            f"Sign attribution: the most negative explained sign is the true one for "
            f"{result.attribution['matched']:,} of {result.attribution['deals']:,} holdout deals "
            f"with a clear true driver ({share:.1%})"
        )
    for note in result.notes:
        console.print(f"[yellow]Note:[/yellow] {note}")
    registered = run.registered
    console.print(
        f"MLflow run {registered.run_id} ({registered.tracking_uri}); registered as "
        f"walkaway version {registered.version}"
    )
    colour = "green" if registered.champion else "yellow"
    console.print(f"[{colour}]Decision:[/{colour}] {registered.decision}")
    console.print(f"Browse runs and the registry: {browse_command(registered.tracking_uri)}")


def browse_command(uri: str) -> str:
    """How to open the MLflow UI on the store a run used: `make mlflow-ui` for the default
    one, else the mlflow command with that store."""
    from walkaway.serving.model_store import tracking_uri  # loaded already: training used it

    if uri == tracking_uri():
        return "make mlflow-ui"
    return f"mlflow ui --backend-store-uri {uri}"


def metrics_table(metrics: pd.DataFrame, newest: bool = True) -> Table:
    """Holdout metrics of both heads as a rich table; ``newest``: the holdout is the newest
    deals (else a stratified sample of an export without dates)."""
    import pandas as pd

    holdout = "Newest holdout" if newest else "Stratified holdout (no dates)"
    table = Table(title=f"{holdout}: both heads against their baselines")
    table.add_column("head", no_wrap=True)
    table.add_column("predictor", no_wrap=True)
    names = {
        "roc_auc": "ROC AUC",
        "pr_auc": "PR AUC",
        "log_loss": "log loss",
        "brier": "Brier",
        "lift_top_decile": "lift@10%",
        "ece": "ECE",
        "calibration_slope": "cal. slope",
        "calibration_intercept": "cal. intercept",
    }
    for column in names.values():
        table.add_column(column, justify="right")
    for (head, predictor), row in metrics.iterrows():
        cells = ["" if pd.isna(row[m]) else f"{row[m]:.4f}" for m in names]
        table.add_row(head, predictor, *cells)
    return table


def age_table(by_age: pd.DataFrame) -> Table:
    """The win head's holdout metrics by the snapshots' age band, walkaway beside the truth
    (when known) and the base rate."""
    import pandas as pd

    table = Table(title="Win holdout by age (days open when scored)")
    for column in ("age", "predictor", "snapshots", "ROC AUC", "log loss", "ECE"):
        table.add_column(column, justify="left" if column in ("age", "predictor") else "right")
    for (band, predictor), row in by_age.iterrows():
        if predictor not in ("walkaway", "truth", "base_rate"):
            continue
        cells = ["" if pd.isna(row[m]) else f"{row[m]:.4f}" for m in ("roc_auc", "log_loss", "ece")]
        table.add_row(band, predictor, f"{int(row['deals']):,}", *cells)
    return table


class Engine(StrEnum):
    """Where ``walkaway score`` scores the chunks."""

    local = "local"
    spark = "spark"


@app.command()
def score(
    deals: Annotated[
        Path,
        typer.Option(
            help="Open-pipeline export: a CSV or Parquet file, or a folder of part files "
            "(part-*) as Spark writes them."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output file: .csv or .parquet.")],
    accounts: Annotated[
        Path | None, typer.Option(help="Accounts file (default: the mapping's, beside the deals).")
    ] = None,
    mapping: MappingOption = None,
    model: Annotated[str, typer.Option(help="MLflow model URI.")] = "models:/walkaway@champion",
    report: Annotated[
        Path | None, typer.Option(help="Also write a one-page HTML report of the pipeline.")
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(help="Rows read and scored at a time.", min=1)
    ] = DEFAULT_CHUNK_SIZE,
    as_of: Annotated[
        str | None, typer.Option(help="Score as of this date (YYYY-MM-DD); default today.")
    ] = None,
    models_dir: ModelsOption = Path("models"),
    capacity: Annotated[
        str | None,
        typer.Option(
            help="Deals the team can work: a number (40) or a share (30%); marks them "
            "'yes' in a 'work' column, from priority 1 down."
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="Score here, chunk after chunk (local), or on Apache Spark (spark: needs the "
            "spark extra and Java 17); the same rules and outputs either way."
        ),
    ] = Engine.local,
    spark_master: Annotated[
        str,
        typer.Option(help="With --engine spark: the Spark master URL (local[*]: every core here)."),
    ] = "local[*]",
    out_parts: Annotated[
        bool,
        typer.Option(
            help="Write --out as a folder of part files (part-00000.csv, ...: one per chunk), "
            "as Spark writes a table, instead of one file."
        ),
    ] = False,
) -> None:
    """Score an open pipeline: probabilities, sign effects, reasons, recommendation, and each
    deal's priority in the worklist. Rows that cannot be scored go to <out>.rejects.csv with
    their reasons."""
    import pandas as pd

    from walkaway.data.raw_files import count_rows
    from walkaway.jobs import score_job
    from walkaway.serving.worklist import Capacity, CapacityError

    try:
        workable = Capacity.parse(capacity) if capacity is not None else None
    except CapacityError as error:
        raise typer.BadParameter(str(error), param_hint="--capacity") from None

    moment = None
    if as_of is not None:
        moment = pd.to_datetime(as_of, format="%Y-%m-%d", errors="coerce")
        if pd.isna(moment):
            raise typer.BadParameter(
                f"{as_of!r} is not a date like 2025-12-31", param_hint="--as-of"
            )
    progress = Progress(
        TextColumn("Scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows {task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,  # quiet in logs and pipes
    )
    total = count_rows(deals)
    with progress:
        task = progress.add_task("score", total=total, rate="")
        started = time.perf_counter()

        def advance(rows: int) -> None:
            done = progress.tasks[0].completed + rows
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=rows, rate=f"({rate:,.0f}/s)")

        run = score_job(
            *(deals, out, mapping, model, moment, models_dir, accounts, report, chunk_size),
            on_progress=advance,
            capacity=workable,
            spark_master=spark_master if engine is Engine.spark else None,
            out_parts=out_parts,
        )
    batch = run.batch
    console.print(
        f"Read {batch.read:,} rows of {deals}: scored {batch.scored:,}, rejected "
        f"{batch.rejected:,}, in {batch.seconds:.1f} s ({batch.read / max(batch.seconds, 1e-9):,.0f} "
        f"rows/s) with {run.model_uri} (version {run.model_version})"
        + (f" on Spark ({spark_master})" if engine is Engine.spark else ""),
        soft_wrap=True,
    )
    if batch.mapping is not None:
        console.print(
            f"Mapping: {batch.mapping.name} ({batch.mapping.chosen_because})", soft_wrap=True
        )
    if batch.read == 0:
        console.print("[yellow]Note:[/yellow] the file has a header and no rows: no open deals")
    main_reason = batch.main_reject_reason()
    if main_reason:
        console.print(f"[yellow]Rejected:[/yellow] {main_reason}", soft_wrap=True)
    for note in batch.notes:
        console.print(f"[yellow]Note:[/yellow] {note}", soft_wrap=True)
    written = f"Scores: {run.out}   Rejects: {run.rejects}"
    console.print(written + (f"   Report: {run.report}" if run.report else ""))
    if batch.scored:
        marked = (
            f"; {batch.worked:,} marked to work (capacity {batch.capacity})"
            if batch.capacity is not None
            else ""
        )
        console.print(f"Worklist: priority 1 to {batch.scored:,}{marked}", soft_wrap=True)
    spent = sorted(batch.timings.items(), key=lambda item: -item[1])
    console.print(
        "Time: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in spent), soft_wrap=True
    )
    if batch.accounts_note:
        console.print(f"[yellow]Note:[/yellow] {batch.accounts_note}")
    print_drift(run)
    console.print(recommendation_table(batch.digest.by_recommendation()))


def print_drift(run: ScoringRun) -> None:
    """One line on the pipeline's drift from the training data, and a warning per shift."""
    from walkaway.serving.batch_outputs import drift_path

    drift = run.batch.drift
    if drift is None:
        console.print(
            "[yellow]Note:[/yellow] this model records no training profile, so drift is not "
            "measured: train it again to measure it"
        )
        return
    signs = drift.by_sign()
    shown = ", ".join(f"{row.sign} {row.psi:.2f}" for row in signs.itertuples())
    where = f"{drift_path(run.out)}" + (
        f", MLflow run {run.drift_run_id}" if run.drift_run_id else ", not logged to MLflow"
    )
    console.print(f"Drift from the training data (PSI by sign): {shown} ({where})", soft_wrap=True)
    for warning in drift.warnings():
        console.print(f"[yellow]Drift:[/yellow] {warning}", soft_wrap=True)


def recommendation_table(by_recommendation: pd.DataFrame) -> Table:
    """Deals, pipeline value and mean scores by recommendation (from the pipeline digest)."""
    table = Table(title="Open pipeline by recommendation")
    for column in ("recommendation", "deals", "pipeline value", "mean p_win", "mean p_good"):
        justify: JustifyMethod = "left" if column == "recommendation" else "right"
        table.add_column(column, justify=justify, no_wrap=True)
    for sign in SIGNS:
        table.add_column(f"{TITLES[sign]} (pts)", justify="right")
    for name, row in by_recommendation.iterrows():
        if row["deals"] == 0:
            continue
        table.add_row(
            str(name),
            f"{int(row['deals']):,}",
            f"{row['value']:,.0f}" if row["valued"] else "unknown (no amounts)",
            f"{row['p_win']:.1%}",
            f"{row['p_good']:.1%}",
            *[f"{row[f'effect_{s}']:+.1f}" for s in SIGNS],
        )
    return table


@app.command()
def icp(history: HistoryOption, mapping: MappingOption = None) -> None:
    """Print the Ideal Customer Profile learned from a history, in plain words."""
    from walkaway.jobs import icp_job

    sentences, profile = icp_job(history, mapping)
    for sentence in sentences:
        console.print(sentence)
    if not profile.empty:
        table = Table(title="Customers by firmographic value (matured wins)")
        for column in ("attribute", "value", "best", "regretted", "best lift", "regret lift"):
            table.add_column(column)
        for row in profile.sort_values(["attribute", "regret_lift"]).itertuples():
            table.add_row(
                row.attribute,
                str(row.value),
                str(row.best),
                str(row.regretted),
                f"{row.best_lift:.2f}",
                f"{row.regret_lift:.2f}",
            )
        console.print(table)


@app.command()
def validate(history: HistoryOption, mapping: MappingOption = None) -> None:
    """Check an export against the data contract and summarise its quality, without training.
    Exit status 1 whenever `walkaway train` would refuse the export."""
    from walkaway.jobs import validate_job

    with console.status("Validating: reading the export and checking every row..."):
        report = validate_job(history, mapping)
    print_quality_report(report)
    for refusal in report.refusals:
        console.print(f"[red]Training would refuse:[/red] {escape(refusal)}", soft_wrap=True)
    if report.problems or report.refusals:
        raise typer.Exit(1)  # training would refuse this export


NUMERIC_HEADERS = {
    "value",
    "missing",
    "share",
    "values",
    "auc",
    "filled_auc",
    "problems",
    "first_row",
}


def print_quality_report(report: QualityReport, shown_problems: int = 10) -> None:
    """The quality report of an export: its tables, its first problems, then its notes."""
    from walkaway.data.quality_tables import quality_tables

    for title, frame in quality_tables(report):
        table = Table(title=title)
        for column in frame.columns:
            justify: JustifyMethod = "right" if column in NUMERIC_HEADERS else "left"
            table.add_column(str(column).replace("_", " "), justify=justify)
        for row in frame.itertuples(index=False):
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
    for problem in report.problems[:shown_problems]:
        console.print(f"[red]Problem:[/red] {escape(str(problem))}", soft_wrap=True)
    if len(report.problems) > shown_problems:
        console.print(f"... and {len(report.problems) - shown_problems:,} more problems")
    for note in report.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", soft_wrap=True)


mapping_app = typer.Typer(help="Draft and check export mappings.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command("init")
def mapping_init(
    export: Annotated[Path, typer.Argument(help="The deals file (CSV, .csv.gz, Parquet).")],
    accounts: Annotated[Path | None, typer.Option(help="Accounts file.")] = None,
    products: Annotated[Path | None, typer.Option(help="Product catalogue file.")] = None,
    out: Annotated[Path | None, typer.Option(help="YAML to write (default: print).")] = None,
    sample_rows: Annotated[int, typer.Option(help="Rows of each file to read.", min=1)] = 20_000,
) -> None:
    """Draft a mapping from an export's columns and values, for you to review."""
    from walkaway.data.drafting.draft import draft_mapping
    from walkaway.output_files import write_text

    if out is not None and out.exists():
        raise WalkawayError(f"{out} exists: a mapping may hold your edits; choose another --out")
    draft = draft_mapping(export, accounts=accounts, products=products, sample_rows=sample_rows)
    if out is None:
        sys.stdout.write(draft.to_yaml())  # the YAML alone on stdout: `> mapping.yaml` works
    else:
        write_text(out, draft.to_yaml())
    report = errors if out is None else console  # findings never mix into piped YAML
    for finding in draft.findings:
        report.print(finding, markup=False, highlight=False, soft_wrap=True)
    todo = sum(finding.startswith("TODO") for finding in draft.findings)
    where = f"Wrote {out}: " if out is not None else ""
    report.print(f"{where}{todo} TODO to settle before `walkaway train --mapping`.", markup=False)


@app.command()
def promote(
    version: Annotated[int, typer.Argument(help="Registered version to make the champion.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Promote even a version whose run was flagged as a suspected leak."
        ),
    ] = False,
    models_dir: ModelsOption = Path("models"),
) -> None:
    """Make a registered version the champion (a suspected leak only with --force)."""
    from walkaway.serving import registry

    message = registry.promote(version, models_dir=models_dir, force=force)
    console.print(message, markup=False, highlight=False)


@app.command()
def rollback(models_dir: ModelsOption = Path("models")) -> None:
    """Give the champion alias back to the previous champion."""
    from walkaway.serving import registry

    console.print(registry.rollback(models_dir=models_dir), markup=False, highlight=False)


# Commands kept in modules of their own (walkaway.commands), registered here.
from walkaway.commands.models import models_app  # noqa: E402 - registered beside the others

app.add_typer(models_app, name="models")

from walkaway.commands import one_deal  # noqa: E402 - registered beside the others

app.command("explain")(one_deal.explain)
app.command("whatif")(one_deal.whatif)

from walkaway.commands import monitor  # noqa: E402 - registered beside the others

# The scored files follow --scored: the first is its value, the others are extra arguments.
app.command("monitor", context_settings={"allow_extra_args": True})(monitor.monitor)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return its exit status (0 success, 1 error, 2 usage)."""
    try:
        code = app(args=argv, prog_name="walkaway", standalone_mode=False)
        if isinstance(code, int):  # typer turns Ctrl-C into exit code 130
            if code == 130:
                errors.print("walkaway: interrupted: no output was changed")
            return code
    except WalkawayError as error:
        errors.print(f"walkaway: error: {error}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        errors.print("walkaway: aborted")
        return 130
    except Terminated as stopped:
        errors.print(f"walkaway: stopped by SIGTERM: {stopped.unchanged}")
        return 128 + signal.SIGTERM
    except typer.TyperException as error:  # usage mistakes: unknown option, missing value...
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        errors.print(f"walkaway: {message} (see walkaway --help)", markup=False, soft_wrap=True)
        return getattr(error, "exit_code", 2)
    return 0


class Terminated(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """SIGTERM arrived. A BaseException, so that no ``except Exception`` swallows it."""

    unchanged = "no output was changed"


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: partial files are removed,
    and the user is told so."""
    raise Terminated()


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
