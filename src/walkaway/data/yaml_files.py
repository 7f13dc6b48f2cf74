"""Reading the small YAML files a user hands walkaway (mappings, policies), defensively.

A mapping or a policy is a few KB of plain keys and values, so anything else is refused before
it can cost memory or time: a file over :data:`MAX_BYTES`, anchors and aliases (an alias bomb,
nine levels of ``*a`` ten times over, expands to a billion strings), nesting deeper than
:data:`MAX_DEPTH`, and tags that a safe loader cannot build (``!!python/object/apply:...``).
Every refusal is a :class:`~walkaway.data.contracts.ContractError` naming the file and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict, Unpack

import yaml

from walkaway.data.contracts import ContractError, Problem

MAX_BYTES = 1_000_000  # a mapping is a few KB: a million bytes is generous, and bounded
MAX_DEPTH = 50  # a mapping nests 4 levels; the composer recurses once per level
_STANDARD_TAG = "tag:yaml.org,2002:"


class _Refused(Exception):
    """A rule the document breaks, found while composing it (before anything is built)."""

    def __init__(self, rule: str):
        super().__init__(rule)
        self.rule = rule


class _PlainLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors, aliases, deep nesting and unknown tags as it meets
    them, so nothing is ever expanded or constructed from them."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        anchor = getattr(event, "anchor", None)  # aliases and anchored nodes both carry one
        if anchor is not None:
            raise _Refused(
                f"uses YAML anchors or aliases (&{anchor} / *{anchor}) at line {line}: "
                "write each value out"
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in self.yaml_constructors:
            shown = tag.replace(_STANDARD_TAG, "!!", 1)
            raise _Refused(f"uses the YAML tag {shown} at line {line}: write plain values")
        if self._depth >= MAX_DEPTH:
            raise _Refused(f"nests deeper than {MAX_DEPTH} levels at line {line}")
        self._depth += 1
        try:
            # types-PyYAML says index is an int, but PyYAML also passes None (a document or a
            # mapping key) and the key's node (a mapping value).
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


def read_yaml(path: Path | str, what: str) -> object:
    """The document of the YAML file ``path``, a ``what`` (``"mapping"``, ``"policy"``).

    Parameters
    ----------
    path
        The file to read; at most :data:`MAX_BYTES`, UTF-8, plain YAML.
    what
        What the file is, for messages (``"unreadable policy (...)"``).

    Returns
    -------
    object
        The document (``None`` for an empty file), as :func:`yaml.safe_load` gives it.

    Raises
    ------
    ContractError
        Naming the file and the rule: unreadable, too large, not UTF-8, not valid YAML (with
        the line), or using anchors, aliases, deep nesting or tags a safe loader cannot build.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     policy, bomb = Path(folder, "policy.yaml"), Path(folder, "bomb.yaml")
    ...     _ = policy.write_text("pursue_p_good: 0.7\\n", encoding="utf-8")
    ...     _ = bomb.write_text("a: &a [x, x]\\nb: [*a, *a]\\n", encoding="utf-8")
    ...     print(read_yaml(policy, "policy"))
    ...     try:
    ...         read_yaml(bomb, "mapping")
    ...     except ContractError as error:
    ...         print(error)
    {'pursue_p_good': 0.7}
    bomb.yaml: uses YAML anchors or aliases (&a / *a) at line 1: write each value out
    """
    path = Path(path)

    def refuse(rule: str) -> ContractError:
        return ContractError([Problem(path.name, None, None, rule)])

    too_large = f"a {what} is at most {MAX_BYTES:,} bytes"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # refused before a byte is read
            raise refuse(f"is {size:,} bytes: {too_large}")
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # bounded: a pipe or device reports no size
    except OSError as error:
        raise refuse(f"unreadable {what} ({type(error).__name__})") from None
    if len(data) > MAX_BYTES:
        raise refuse(f"is over {MAX_BYTES:,} bytes: {too_large}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("not a UTF-8 text file") from None
    loader = _PlainLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as refused:
        raise refuse(refused.rule) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise refuse(f"not valid YAML{where}") from None
    finally:
        loader.dispose()


class _PlainDumper(yaml.SafeDumper):
    """Writes a value met twice out twice: walkaway's own files must read back through
    :func:`read_yaml`, which refuses the aliases PyYAML writes by default."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class DumpOptions(TypedDict, total=False):
    """The options of :func:`yaml.dump` that shape its text (no ``encoding``: that gives bytes)."""

    default_style: str | None
    default_flow_style: bool | None
    canonical: bool | None
    indent: int | None
    width: float | None
    allow_unicode: bool | None
    line_break: str | None
    explicit_start: bool | None
    explicit_end: bool | None
    version: tuple[int, int] | None
    tags: Mapping[str, str] | None
    sort_keys: bool


def yaml_text(document: object, **options: Unpack[DumpOptions]) -> str:
    """``document`` as YAML without anchors or aliases (``options`` as for yaml.dump).

    Examples
    --------
    >>> shared = {"file": "deals.csv"}
    >>> print(yaml_text({"a": shared, "b": shared}), end="")
    a:
      file: deals.csv
    b:
      file: deals.csv
    """
    return yaml.dump(document, Dumper=_PlainDumper, **options)
