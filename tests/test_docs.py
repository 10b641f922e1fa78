"""Citations of docs/providers.md stay true: code cites its numbered headings as
"docs/providers.md §N" or "§N.M", and every cited heading exists in a fresh clone."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS_DOC = ROOT / "docs/providers.md"
# Directories that hold no code of ours: virtualenvs, caches, build and run output.
SKIPPED_DIRS = {"node_modules", "build", "dist", "var", "test-artifacts", "__pycache__"}

HEADING = re.compile(r"^#{1,6}[ \t]+(\d+(?:\.\d+)*)\.?[ \t]", re.M)
CITATION = re.compile(r"docs/providers\.md[ \t]*§[ \t]*(\d+(?:\.\d+)*)")
# The file's name without the docs/ path in front of it (a citation of a file outside the
# repository, or one that only resolves from docs/ itself).
BARE = re.compile(r"(?<!docs/)\bproviders\.md\b")


def _python_files() -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIRS
                      and not d.endswith(".egg-info")]
        found.extend(Path(directory, name) for name in files if name.endswith(".py"))
    return sorted(found)


def _headings() -> set[str]:
    return set(HEADING.findall(PROVIDERS_DOC.read_text(encoding="utf-8")))


def test_every_cited_provider_section_exists() -> None:
    headings = _headings()
    assert {"1", "1.1", "1.6", "2", "3", "4", "7"} <= headings, \
        "docs/providers.md lost its numbered headings"
    cited: dict[str, list[str]] = {}
    bare: list[str] = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for section in CITATION.findall(line):
                cited.setdefault(section, []).append(f"{relative}:{number}")
            if BARE.search(line):
                bare.append(f"{relative}:{number}: {line.strip()}")
    assert cited, "no .py file cites docs/providers.md §N: is the scan broken?"
    missing = {section: places for section, places in sorted(cited.items())
               if section not in headings}
    assert not missing, f"cited sections with no heading in docs/providers.md: {missing}"
    assert not bare, "cite 'docs/providers.md §N', not a bare file name:\n" + "\n".join(bare)


ARCHITECTURE_DOC = ROOT / "docs/architecture.md"
RULE = re.compile(r"^(\d+)\. \*\*", re.M)
RULE_CITATION = re.compile(r"docs/architecture\.md[ \t]*\n?[ \t#*]*rule (\d+)")
OUTSIDE = re.compile(r"\bDESIGN(?:\.md| rule)|\.\./shared")


def test_every_cited_architecture_rule_exists_and_nothing_cites_outside_the_repository(
        ) -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    rules = set(RULE.findall(text.split("## Rules that keep deliveries safe", 1)[1]))
    assert {str(n) for n in range(1, 10)} <= rules, "docs/architecture.md lost its rules"
    cited: dict[str, list[str]] = {}
    outside: list[str] = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        for rule in RULE_CITATION.findall(source):
            cited.setdefault(rule, []).append(relative)
        outside += [f"{relative}: {m.group(0)}" for m in OUTSIDE.finditer(source)
                    if relative != "tests/test_docs.py"]
    assert {"1", "8"} <= set(cited), "no code cites docs/architecture.md rules: scan broken?"
    missing = {rule: places for rule, places in cited.items() if rule not in rules}
    assert not missing, f"cited rules missing from docs/architecture.md: {missing}"
    assert not outside, "documents outside the repository are cited:\n" + "\n".join(outside)
