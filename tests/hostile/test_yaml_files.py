"""Hostile YAML in mappings and policies: refused with one line, never expanded or executed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from walkaway.data import yaml_files
from walkaway.data.contracts import ContractError
from walkaway.data.mapping_files import load_mapping, shipped_mappings
from walkaway.data.yaml_files import MAX_BYTES, MAX_DEPTH, read_yaml

TABLES = "tables:\n  deals:\n    file: deals.csv\n    columns: {deal_id: Id}\n"


def alias_bomb() -> str:
    """A mapping whose ``name`` is the billion-laughs pattern: nine levels of ten aliases
    each, 10**9 strings once expanded."""
    lines = ["name:", "  - &a [" + ", ".join(["lol"] * 10) + "]"]
    for previous, anchor in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  - &{anchor} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return "\n".join(lines) + "\n" + TABLES


def refusal(path: Path, what: str = "mapping") -> str:
    with pytest.raises(ContractError) as raised:
        read_yaml(path, what)
    assert len(raised.value.problems) == 1
    return str(raised.value)


def test_an_alias_bomb_in_a_mapping_name_is_refused_at_its_first_anchor(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    expected = "bomb.yaml: uses YAML anchors or aliases (&a / *a) at line 2: write each value out"
    assert refusal(path) == expected
    with pytest.raises(ContractError) as raised:
        load_mapping(path)
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("text", "line", "anchor"),
    [
        ("name: &n my-crm\n" + TABLES, 1, "n"),  # an anchor nobody uses
        (TABLES + "post_outcome: *margin\n", 5, "margin"),  # an alias with no anchor
        ("base: &base {file: d.csv}\ntables:\n  deals:\n    <<: *base\n", 1, "base"),  # merge key
    ],
    ids=["anchor", "alias", "merge-key"],
)
def test_anchors_and_aliases_alone_are_refused(
    tmp_path: Path, text: str, line: int, anchor: str
) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text(text, encoding="utf-8")
    assert refusal(path) == (
        f"crm.yaml: uses YAML anchors or aliases (&{anchor} / *{anchor}) at line {line}: "
        "write each value out"
    )


def test_a_file_over_the_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(5_000_000)  # sparse: costs no disk
    monkeypatch.setattr(yaml_files, "_PlainLoader", None)  # parsing it would fail loudly
    assert refusal(path) == "huge.yaml: is 5,000,000 bytes: a mapping is at most 1,000,000 bytes"
    assert refusal(path, "policy").endswith(": a policy is at most 1,000,000 bytes")


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "padded.yaml"
    text = TABLES + "#" * (MAX_BYTES - len(TABLES) - 1) + "\n"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size == MAX_BYTES
    assert read_yaml(path, "mapping") == yaml.safe_load(TABLES)


def test_deep_nesting_is_refused_instead_of_overflowing_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert refusal(path) == f"deep.yaml: nests deeper than {MAX_DEPTH} levels at line 1"


@pytest.mark.parametrize(
    "tag",
    ["!!python/object/apply:os.system", "!!python/object/new:os.system", "!!python/name:os.system"],
)
def test_python_tags_are_refused_and_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where the command would write its file
    path = tmp_path / "evil.yaml"
    path.write_text(f'name: {tag} ["echo hi > pwned"]\n' + TABLES, encoding="utf-8")
    assert refusal(path) == f"evil.yaml: uses the YAML tag {tag} at line 1: write plain values"
    with pytest.raises(ContractError):
        load_mapping(path)
    assert not (tmp_path / "pwned").exists()


def test_invalid_yaml_and_other_text_are_refused_with_the_old_messages(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntables: [unclosed\n  deals: {file: d.csv\n", encoding="utf-8")
    assert refusal(broken).startswith("broken.yaml: not valid YAML at line ")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: Société\n".encode("latin-1"))
    assert refusal(latin) == "latin.yaml: not a UTF-8 text file"
    twice = tmp_path / "twice.yaml"
    twice.write_text("a: 1\n---\nb: 2\n", encoding="utf-8")
    assert refusal(twice) == "twice.yaml: not valid YAML at line 2"


def test_a_missing_policy_is_unreadable(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope.yaml", "policy") == (
        "nope.yaml: unreadable policy (FileNotFoundError)"
    )


def test_an_empty_file_is_an_empty_document(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert read_yaml(path, "policy") is None


@pytest.mark.parametrize("name", sorted(shipped_mappings()))
def test_shipped_mappings_still_load(name: str) -> None:
    path = shipped_mappings()[name]
    assert read_yaml(path, "mapping") == yaml.safe_load(path.read_text(encoding="utf-8"))
    assert load_mapping(path).name == name


def test_cli_validate_refuses_an_alias_bomb_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from walkaway.cli import main

    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("Id\nD1\n", encoding="utf-8")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    assert main(["validate", "--history", str(export), "--mapping", str(bomb)]) == 1
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert message == (
        "walkaway: error: bomb.yaml: uses YAML anchors or aliases (&a / *a) at line 2: "
        "write each value out"
    )
    assert "Traceback" not in captured.err + captured.out
