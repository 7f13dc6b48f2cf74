"""Tests of a draft written as YAML (walkaway.data.drafting.yaml_render)."""

from __future__ import annotations

import yaml

from walkaway.data.drafting.draft import MappingDraft


def test_yaml_lists_findings_in_a_comment_header_and_keeps_a_readable_key_order(
    synthetic_draft: MappingDraft,
) -> None:
    text = synthetic_draft.to_yaml()
    assert yaml.safe_load(text) == synthetic_draft.document
    header = text.split("\n\n", 1)[0].splitlines()
    assert all(line.startswith("#") for line in header)
    starts = [line for line in header if line.startswith(("# TODO", "# NOTE"))]
    assert len(starts) == len(synthetic_draft.findings)
    keys = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys == ["name", "description", "date_format", "post_outcome", "regret", "tables"]
    tables = [
        line.strip(" :")
        for line in text.splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert tables[-3:] == ["deals", "accounts", "products"]
