"""The README stays true: every setting in its configuration table, the two commands of the
quick start, every make target and `sipoke` command it shows, a package layout naming every
top-level folder, and a Providers section for the adapters' notes."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from core.settings import Settings

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text()


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


def test_the_package_layout_names_every_top_level_folder_and_only_those() -> None:
    block = re.search(r"```text\n(.*?)```", _section("Package layout"), re.S)
    assert block
    listed = set(re.findall(r"^([a-z_]+)/", block.group(1), re.M))
    files = subprocess.run(["git", "ls-files"], cwd=README_PATH.parent, capture_output=True,
                           text=True, check=True).stdout.split()
    tracked = {f.split("/")[0] for f in files if "/" in f and not f.startswith(".")}
    assert listed == tracked


MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (README_PATH.parent / "Makefile").read_text(),
                              re.M))


def test_every_make_target_the_readme_names_exists() -> None:
    named = set(re.findall(r"`make ([a-z-]+)`", README)) | set(
        re.findall(r"^make ([a-z-]+)$", README, re.M))
    assert {"run", "test"} <= named
    assert not named - MAKE_TARGETS, f"README names missing make targets: {named - MAKE_TARGETS}"


def _documented_sipoke_commands() -> list[list[str]]:
    text = README.replace("\\\n", " ")  # shell line continuations
    commands = re.findall(r"`sipoke ([^`]+)`", text)
    commands += re.findall(r"^(?:docker compose exec \w+ )?sipoke (.+)$", text, re.M)
    commands += re.findall(r"`docker run sipoke-antar ([^`]+)`", text)  # the image runs sipoke
    return [shlex.split(c.replace("<name>", "sandbox")) for c in commands]


def test_every_sipoke_command_the_readme_shows_is_one_the_cli_accepts() -> None:
    from sipoke.cli import build_parser

    documented = _documented_sipoke_commands()
    assert len(documented) >= 4
    for argv in documented:
        if argv == ["--help"]:
            continue
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"README shows `sipoke {' '.join(argv)}`, which the CLI refuses")
