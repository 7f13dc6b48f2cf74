"""The drafting tests' shared fixture: walkaway's synthetic export and its drafted mapping, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from walkaway.data.drafting.draft import MappingDraft, draft_mapping
from walkaway.data.synth import write_synthetic_history


@pytest.fixture(scope="package")
def synthetic_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-export")
    write_synthetic_history(folder, 1500, 11)
    return folder


@pytest.fixture(scope="package")
def synthetic_draft(synthetic_export: Path) -> MappingDraft:
    return draft_mapping(
        synthetic_export / "deals.csv",
        accounts=synthetic_export / "accounts.csv",
        products=synthetic_export / "products.csv",
    )
