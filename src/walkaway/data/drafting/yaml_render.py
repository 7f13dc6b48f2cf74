"""A drafted mapping as YAML a reviewer reads top to bottom: the findings, then the mapping.

The findings head the file as a comment block (wrapped, TODO first), and the keys come in
reading order, canonical columns in the contract's order, through the project's defensive
:func:`walkaway.data.yaml_files.yaml_text`. Comments are the one place the draft can explain
itself: the mapping format rejects keys it does not know.
"""

from __future__ import annotations

import textwrap
from typing import Any

from walkaway.data.contracts import TABLE_COLUMNS
from walkaway.data.yaml_files import yaml_text


def mapping_yaml(document: dict[str, Any], findings: list[str]) -> str:
    """A mapping document as YAML, headed by a comment block listing the findings.

    Keys come in a readable order (name, description, date_format, post_outcome, regret,
    tables; in each table file, columns, values), so the file reads top to bottom.

    Examples
    --------
    >>> print(mapping_yaml({"name": "x"}, ["NOTE: drafted."]))
    # Mapping drafted by `walkaway mapping init`. Review it before training:
    # act on every TODO; NOTE lines explain the decisions taken.
    #
    # NOTE: drafted.
    <BLANKLINE>
    name: x
    <BLANKLINE>
    """
    header = [
        "Mapping drafted by `walkaway mapping init`. Review it before training:",
        "act on every TODO; NOTE lines explain the decisions taken.",
    ]
    lines = [f"# {line}" for line in header] + ["#"]
    for finding in findings:
        lines += textwrap.wrap(
            finding,
            width=98,
            initial_indent="# ",
            subsequent_indent="#   ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    body = yaml_text(
        _ordered_document(document),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=120,
    )
    return "\n".join(lines) + "\n\n" + body


def _ordered_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document with keys in reading order and canonical columns in contract order."""
    top = (
        "name",
        "description",
        "delimiter",
        "decimal",
        "date_format",
        "dates",
        "post_outcome",
        "regret",
        "tables",
    )
    ordered = {key: document[key] for key in top if key in document}
    ordered.update({k: v for k, v in document.items() if k not in ordered})
    tables = document.get("tables")
    if isinstance(tables, dict):
        ordered["tables"] = {name: _ordered_table(name, spec) for name, spec in tables.items()}
    return ordered


def _ordered_table(table: str, spec: Any) -> Any:
    """A table's keys as file, columns, values; its columns in the contract's order."""
    if not isinstance(spec, dict):
        return spec
    rank = {name: position for position, name in enumerate(TABLE_COLUMNS.get(table, {}))}
    columns = spec.get("columns") or {}
    by_rank = sorted(columns.items(), key=lambda item: rank.get(item[0], len(rank)))
    ordered = {key: spec[key] for key in ("file",) if key in spec}
    if columns:
        ordered["columns"] = dict(by_rank)
    if spec.get("values"):
        ordered["values"] = spec["values"]
    ordered.update({k: v for k, v in spec.items() if k not in ("file", "columns", "values")})
    return ordered
