"""Mapping files: reading one by path or by a shipped name, and picking the shipped one an
export fits.

walkaway ships mappings (``src/walkaway/mappings/*.yaml``, see :func:`shipped_mappings`) and,
when none is given, picks the one whose columns an export has (:func:`detect_mapping`). Apart
from :mod:`walkaway.data.mapping_document`, which turns a document into a mapping whatever it
came from (a file, or a draft of ``walkaway mapping init``): this module is about files, the
user's and the package's.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from walkaway.data.contracts import TABLE_COLUMNS, ContractError, Problem
from walkaway.data.mapping import Mapping, canonical_mapping
from walkaway.data.mapping_document import parse_mapping
from walkaway.data.yaml_files import read_yaml


def load_mapping(path: Path | str) -> Mapping:
    """Read and validate a mapping file, or a shipped mapping by name (e.g. ``synthetic-crm``).

    Raises
    ------
    ContractError
        Naming the file, the key and the rule when the mapping is wrong.
    """
    shipped = shipped_mappings()
    if str(path) in shipped:
        path = shipped[str(path)]
    path = Path(path)
    if not path.is_file():
        names = ", ".join(sorted(shipped))
        raise ContractError([Problem(str(path), None, None, f"no such mapping (shipped: {names})")])
    # Bounded and plain: no file over a size cap, no anchors or aliases (an alias bomb).
    return parse_mapping(read_yaml(path, "mapping"), source=path.name)


def shipped_mappings() -> dict[str, Path]:
    """Mappings shipped with walkaway, by name (the file name without ``.yaml``)."""
    folder = resources.files("walkaway") / "mappings"
    return {
        Path(str(item)).stem: Path(str(item))
        for item in folder.iterdir()
        if str(item).endswith(".yaml")
    }


def detect_mapping(
    columns_by_file: dict[str, list[str]], deals_header: list[str] | None = None
) -> Mapping:
    """Pick the shipped mapping whose deals file and required columns an export has.

    ``deals_header``, when given, is the header of a deals file named by the user (whatever
    its file name). Falls back to the canonical identity mapping when no shipped mapping fits.
    """
    for path in sorted(shipped_mappings().values()):
        mapping = load_mapping(path)
        deals = mapping.tables["deals"]
        header = deals_header if deals_header is not None else columns_by_file.get(deals.file)
        if header is None:
            continue
        required = [e for c, e in deals.columns.items() if TABLE_COLUMNS["deals"][c].required]
        if all(column in header for column in required):
            because = f"detected: the deals file has its columns ({', '.join(required)})"
            return replace(mapping, chosen_because=because)
    because = "no shipped mapping matches the export's columns: walkaway's own column names"
    return replace(canonical_mapping(), chosen_because=because)
