"""The README stays true: every setting in its configuration table, the two commands of the
quick start, and a Providers section for the adapters' notes."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _table_variables() -> set[str]:
    rows = re.findall(r"^\| `(SIPOKE_[A-Z0-9_<>]+)` \|", _section("Configuration"), re.M)
    return {row.removeprefix("SIPOKE_").split("__")[0].lower() for row in rows}


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = sorted(set(Settings.model_fields) - _table_variables())
    assert not missing, f"add to the README configuration table: {missing}"


def test_the_table_names_no_setting_that_does_not_exist() -> None:
    unknown = sorted(_table_variables() - set(Settings.model_fields))
    assert not unknown, f"README configuration table names unknown settings: {unknown}"


def test_quick_start_is_exactly_make_run_and_make_test() -> None:
    block = re.search(r"```sh\n(.*?)```", _section("Quick start"), re.S)
    assert block and block.group(1).split("\n")[:2] == ["make run", "make test"]


def test_the_printed_urls_match_the_defaults() -> None:
    quick = _section("Quick start")
    for path in ("/api/v1", "/docs", "/healthz"):
        assert f"http://127.0.0.1:8000{path}" in quick


def test_sections_other_engineers_fill() -> None:
    for title in ("Providers", "Run on PostgreSQL + Redis (`docker compose up`)",
                  "Package layout", "Migrations", "House rules"):
        assert _section(title).strip(), title
