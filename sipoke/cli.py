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
    "sipoke.commands.backup",
    "sipoke.commands.doctor",
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
        if not getattr(args, "loads_settings_itself", False):  # sipoke doctor reports them
            settings = get_settings()
            if getattr(args, "wired", True):
                # Commands run with the product wired; their commits are left to the relay
                # (the long-running processes publish at once, see sipoke.commands.serve).
                from sipoke.wiring import wire

                wire(settings, publish_after_commit=False)
        return int(args.handler(args) or 0)
    except SettingsError as exc:
        print(f"sipoke: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
