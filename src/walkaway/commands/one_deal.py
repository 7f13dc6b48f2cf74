"""``walkaway explain`` and ``walkaway whatif``: why one open deal scores as it does, and what
would change it.

Both read the deal as the batch job reads a pipeline (:func:`walkaway.serving.pipeline_reading.read_open_deals`:
the mapping the model was trained with, the contract's checks, the accounts, related tables and
stage history joined), explain it with :mod:`walkaway.serving.one_deal` (the logic notebook 03
uses too) and print it as a rich panel, or as JSON with ``--json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from walkaway.terminal import MappingOption, ModelsOption, console

if TYPE_CHECKING:
    import pandas as pd

    from walkaway.serving.one_deal import ExplainedDeal, WhatIf
    from walkaway.serving.registry import LoadedModel

DealIdArgument = Annotated[
    str, typer.Argument(metavar="DEAL_ID", help="The deal's id, as the export writes it.")
]
DealsOption = Annotated[
    Path, typer.Option("--deals", help="Pipeline export holding the deal: CSV or Parquet file.")
]
ModelOption = Annotated[str, typer.Option("--model", help="MLflow model URI.")]
AccountsOption = Annotated[
    Path | None, typer.Option(help="Accounts file (default: the mapping's, beside the deals).")
]
AsOfOption = Annotated[
    str | None, typer.Option(help="Score as of this date (YYYY-MM-DD); default today.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the same content as JSON (stable keys).")
]
CHAMPION = "models:/walkaway@champion"
# The recommendations' colours in a terminal (the report's palette, in rich's names).
STYLES = {
    "pursue": "green",
    "compete": "blue",
    "keep_presence": "yellow",
    "walk_away": "red",
    "qualify": "bright_black",
}


def explain(
    deal_id: DealIdArgument,
    deals: DealsOption,
    model: ModelOption = CHAMPION,
    models_dir: ModelsOption = Path("models"),
    mapping: MappingOption = None,
    accounts: AccountsOption = None,
    as_of: AsOfOption = None,
    json_output: JsonOption = False,
) -> None:
    """Explain one open deal: its scores, each sign's effect on p_good with its reasons, and the
    recommendation with why."""
    from walkaway.serving.one_deal import explain_deal

    loaded, deal, moment = _read_deal(deal_id, deals, model, models_dir, mapping, accounts, as_of)
    explained = explain_deal(loaded.model, deal, moment, loaded.name, loaded.version)
    if json_output:
        _print_json(explained.to_dict())
    else:
        console.print(deal_panel(explained))


def whatif(
    deal_id: DealIdArgument,
    deals: DealsOption,
    settings: Annotated[
        list[str],
        typer.Option(
            "--set",
            metavar="COLUMN=VALUE",
            help="A canonical column and its new value, e.g. decision_maker_access=yes; repeat "
            "for several (values are read as the data contract reads them).",
        ),
    ],
    model: ModelOption = CHAMPION,
    models_dir: ModelsOption = Path("models"),
    mapping: MappingOption = None,
    accounts: AccountsOption = None,
    as_of: AsOfOption = None,
    json_output: JsonOption = False,
) -> None:
    """Explain one open deal before and after changing some of its inputs: the change in p_good
    and in the recommendation."""
    from walkaway.serving.deal_inputs import parse_changes
    from walkaway.serving.one_deal import what_if

    parse_changes(settings)  # a bad setting is said before the model and the file are read
    loaded, deal, moment = _read_deal(deal_id, deals, model, models_dir, mapping, accounts, as_of)
    changed = what_if(
        loaded.model, deal, parse_changes(settings, deal), moment, loaded.name, loaded.version
    )
    if json_output:
        _print_json(changed.to_dict())
        return
    console.print(
        "What if " + "; ".join(escape(c.words()) for c in changed.changes), soft_wrap=True
    )
    console.print(deal_panel(changed.before, "before"))
    console.print(deal_panel(changed.after, "after"))
    console.print(change_table(changed))
    for note in changed.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", soft_wrap=True)


def _read_deal(
    deal_id: str,
    deals: Path,
    model_uri: str,
    models_dir: Path,
    mapping: str | None,
    accounts: Path | None,
    as_of: str | None,
) -> tuple[LoadedModel, pd.DataFrame, pd.Timestamp]:
    """The model, the deal (read as the batch job reads the pipeline) and the scoring day."""
    import pandas as pd

    from walkaway.data.exports import resolve_mapping
    from walkaway.serving import registry
    from walkaway.serving.deal_inputs import find_deal
    from walkaway.serving.pipeline_reading import read_open_deals

    moment = pd.Timestamp.now().normalize()
    if as_of is not None:
        moment = pd.to_datetime(as_of, format="%Y-%m-%d", errors="coerce")
        if pd.isna(moment):
            raise typer.BadParameter(
                f"{as_of!r} is not a date like 2025-12-31", param_hint="--as-of"
            )
    loaded = registry.load_model(model_uri, models_dir=models_dir)
    chosen = resolve_mapping(Path(deals), mapping, loaded.mapping)
    pipeline = read_open_deals(Path(deals), chosen, accounts)
    return loaded, find_deal(pipeline, deal_id, Path(deals).name), moment


def _print_json(document: dict[str, object]) -> None:
    """JSON alone on stdout (no markup, no wrapping), strict: no NaN."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def deal_panel(explained: ExplainedDeal, label: str = "") -> Panel:
    """One explained deal as a panel: scores, recommendation and why, each sign's effect on
    p_good with its reasons, and what it was scored with; ``label`` ends its title."""
    from walkaway.serving.one_deal import percent, points, recommendation_words

    style = STYLES.get(explained.recommendation, "")
    scores = Text.assemble(
        *(
            part
            for name, value in (
                ("p_win", explained.p_win),
                ("p_regret", explained.p_regret),
                ("p_good", explained.p_good),
            )
            for part in ((f"{name} ", "dim"), (percent(value), "bold"), "    ")
        )
    )
    verdict = Text.assemble(
        ("Recommendation: ", "dim"),
        (recommendation_words(explained.recommendation), f"bold {style}"),
        f" — {explained.recommendation_reason}",
    )
    signs = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    signs.add_column("sign", no_wrap=True)
    signs.add_column("effect on p_good", justify="right", no_wrap=True)
    signs.add_column("reasons", ratio=1)
    for effect in explained.effects:
        tone = "red" if effect.points <= -0.05 else "green" if effect.points >= 0.05 else ""
        signs.add_row(
            effect.title,
            Text(points(effect.points), style=tone),
            Text("\n".join(effect.reasons) or "–"),
        )
    day = "" if explained.as_of is None else f" as of {explained.as_of:%Y-%m-%d}"
    moved = 100 * (explained.p_good - explained.p_good_base)
    footer = Text(
        f"p_good {percent(explained.p_good)} = {percent(explained.p_good_base)} for a deal at "
        f"the base margins {points(moved)} (the four effects) · scored by {explained.model}{day}",
        style="dim",
    )
    facts = [f"Deal {explained.deal_id}"]
    if explained.account_id is not None:
        facts.append(f"account {explained.account_id}")
    facts.append(
        "amount unknown" if explained.amount is None else f"amount {explained.amount:,.0f}"
    )
    title = " · ".join(facts) + (f" ({label})" if label else "")
    return Panel(
        Group(scores, verdict, signs, footer),
        title=escape(title),
        title_align="left",
        border_style=style or "none",
    )


def change_table(changed: WhatIf) -> Table:
    """p_good, each group's effect and the recommendation, before and after, with the change."""
    from walkaway.serving.one_deal import percent, points, recommendation_words

    before, after = changed.before, changed.after
    table = Table(title="What the changes move", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("", no_wrap=True)
    for column in ("before", "after", "change"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_row(
        Text("p_good", style="bold"),
        percent(before.p_good),
        percent(after.p_good),
        Text(points(changed.p_good_points), style="bold"),
    )
    for old, new in zip(before.effects, after.effects, strict=True):
        table.add_row(
            f"  {old.title}",
            points(old.points),
            points(new.points),
            points(new.points - old.points),
        )
    table.add_row(
        Text("recommendation", style="bold"),
        recommendation_words(before.recommendation),
        Text(
            recommendation_words(after.recommendation), style=STYLES.get(after.recommendation, "")
        ),
        "changed" if changed.recommendation_changed else "same",
    )
    return table
