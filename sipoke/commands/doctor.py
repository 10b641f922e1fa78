"""``sipoke doctor [--reach] [--json]``: check this deployment and say what to fix."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

LABELS = {"ok": "OK", "warn": "PERINGATAN", "fail": "GAGAL"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor", help="check the database, broker, beat, secret key, providers, "
        "notifications and disk space; exits 1 when something is wrong")
    p.add_argument("--reach", action="store_true",
                   help="also call each enabled provider's API and the message gateway")
    p.add_argument("--json", action="store_true", help="the findings as JSON")
    # Broken settings are one of the things it reports: it loads them itself.
    p.set_defaults(handler=doctor, loads_settings_itself=True)


def doctor(args: argparse.Namespace) -> int:
    from sipoke.doctor import Options, Status, diagnose

    findings = diagnose(Options(reach=args.reach))
    failed = sum(f.status is Status.fail for f in findings)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=2))
        return 1 if failed else 0
    out = sys.stdout
    width = max(len(label) for label in LABELS.values())
    print("Pemeriksaan SIP OKE Antar\n", file=out)
    for finding in findings:
        label = LABELS[finding.status.value]
        print(f"{label:<{width}}  {finding.area}: {finding.message}", file=out)
        if finding.action:
            print(f"{'':<{width}}  Yang perlu dilakukan: {finding.action}", file=out)
    warned = sum(f.status is Status.warn for f in findings)
    passed = len(findings) - failed - warned
    print(f"\nHasil: {passed} OK, {warned} peringatan, {failed} gagal.", file=out)
    if failed:
        print("Perbaiki yang GAGAL, lalu jalankan `sipoke doctor` lagi.", file=out)
    return 1 if failed else 0
