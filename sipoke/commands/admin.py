"""Administrative commands: migrate, seed-demo, create-user."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pydantic import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("migrate", help="apply database migrations")
    p.add_argument("--revision", default="head")
    p.set_defaults(handler=migrate)

    p = subparsers.add_parser("seed-demo",
                              help="create demo offices and accounts (not in production)")
    p.set_defaults(handler=seed_demo)

    p = subparsers.add_parser("create-user", help="create a staff account")
    p.add_argument("--role", required=True,
                   choices=["platform_admin", "office_admin", "operator", "rw_admin", "courier"])
    p.add_argument("--username", required=True)
    p.add_argument("--full-name", required=True)
    p.add_argument("--office", help="office slug (not for platform_admin)")
    p.add_argument("--phone")
    p.add_argument("--rw", help="RW number for rw_admin")
    p.add_argument("--password", help="else $SIPOKE_NEW_PASSWORD, else asked")
    p.set_defaults(handler=create_user)


def migrate(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from sipoke.migrate import upgrade

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, args.revision)
    print("database migrated to", args.revision)
    return 0


def seed_demo(args: argparse.Namespace) -> int:
    import sipoke.models  # noqa: F401
    from core.settings import get_settings
    from sipoke.seed import seed_demo as seed

    created = seed(get_settings())
    print("demo data created" if created else "demo data already present")
    return 0


def create_user(args: argparse.Namespace) -> int:
    import sipoke.models  # noqa: F401
    from core.accounts.schemas import StaffCreate
    from core.accounts.service import create_staff
    from core.db import unit_of_work
    from core.errors import AppError
    from core.settings import get_settings

    password = args.password or os.environ.get("SIPOKE_NEW_PASSWORD")
    if not password:
        password = getpass.getpass("Password: ")
    try:
        data = StaffCreate(role=args.role, username=args.username, full_name=args.full_name,
                           password=password, phone=args.phone, rw=args.rw, office=args.office)
        with unit_of_work() as session:
            user = create_staff(session, get_settings(), data, actor=None)
            print(f"created {user.role} {user.username} ({user.id})")
    except ValidationError as exc:
        for err in exc.errors():
            print(f"sipoke: {'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"sipoke: {exc.message}", file=sys.stderr)
        return 2
    return 0
