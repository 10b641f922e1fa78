"""``sipoke``: one command for every process of the product."""

from __future__ import annotations

import argparse
import importlib
import sys

from core.settings import SettingsError, get_settings

# Each module exposes ``register(subparsers)``; other packages add theirs here.
COMMAND_MODULES = [
    "sipoke.commands.serve",
    "sipoke.commands.admin",
    "sipoke.commands.providers",
    "sipoke.commands.sandbox",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sipoke", description="SIP OKE Antar")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        get_settings()
        return int(args.handler(args) or 0)
    except SettingsError as exc:
        print(f"sipoke: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
