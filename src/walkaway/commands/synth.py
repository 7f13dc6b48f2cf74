"""``walkaway synth``: write a synthetic CRM history whose true drivers are known, or continue
one in time (optionally with a documented shift of the world's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from walkaway.terminal import console


def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the export and truth.parquet to.")],
    deals: Annotated[
        int | None, typer.Option(help="Number of deals (default 5000).", min=1)
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed: same seed, same files (default 7).")
    ] = None,
    stage_history: Annotated[
        bool,
        typer.Option(
            help="Also write stage_history.csv: each deal's stage and close-date changes."
        ),
    ] = False,
    continue_from: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Continue the world of this synth export instead (its synth.json gives the "
            "seed, deals and date): the same deals later on, and new ones created since.",
        ),
    ] = None,
    months: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="With --continue-from: months after its export date.", min=1
        ),
    ] = None,
    shift: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SPEC",
            help="With --continue-from: change the world for the new deals, rival:REGION or "
            "churn:INDUSTRY (repeatable; see docs/synthetic-spec.md).",
        ),
    ] = None,
) -> None:
    """Write a synthetic CRM history whose true drivers are known, or continue one later."""
    if continue_from is not None:
        from walkaway.data.synth_continuation import continue_synthetic_history, parse_shift

        options = [("--deals", deals), ("--seed", seed), ("--stage-history", stage_history or None)]
        given = [name for name, value in options if value is not None]
        if given:
            raise typer.BadParameter(
                f"it takes {', '.join(given)} from its synth.json: leave them out",
                param_hint="--continue-from",
            )
        if months is None:
            raise typer.BadParameter(
                "missing: how many months after the export to continue by",
                param_hint="--months",
            )
        for spec in shift or []:
            try:
                parse_shift(spec)
            except ValueError as error:
                raise typer.BadParameter(str(error), param_hint="--shift") from None
        continued = continue_synthetic_history(continue_from, months, shift or [], out)
        for line in continued.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)  # paths whole
        return
    if months is not None or shift:
        raise typer.BadParameter(
            "only continues a world: give --continue-from DIR", param_hint="--months/--shift"
        )
    from walkaway.data.synth import write_synthetic_history

    deals, seed = 5000 if deals is None else deals, 7 if seed is None else seed
    summary = write_synthetic_history(out, n_deals=deals, seed=seed, stage_history=stage_history)
    console.print(
        f"Wrote {summary.n_deals:,} deals ({summary.n_won:,} won, {summary.n_lost:,} lost, "
        f"{summary.n_open:,} open) for {summary.n_accounts:,} accounts to {out} "
        f"in {summary.seconds:.1f} s",
        soft_wrap=True,
    )
