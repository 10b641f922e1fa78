"""``sipoke providers list`` and ``sipoke providers quote NAME --pickup LAT,LNG --dropoff ...``."""

from __future__ import annotations

import argparse
import json
import re
import sys

from pydantic import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("providers", help="courier provider adapters")
    sub = p.add_subparsers(dest="providers_command", required=True, metavar="ACTION")

    ls = sub.add_parser("list", help="installed adapters, enabled flag and capabilities")
    ls.add_argument("--json", action="store_true", help="full capabilities as JSON")
    ls.set_defaults(handler=list_providers)

    q = sub.add_parser("quote", help="ask one provider for a quote with the configured settings")
    q.add_argument("name")
    q.add_argument("--pickup", required=True, metavar="LAT,LNG")
    q.add_argument("--dropoff", required=True, metavar="LAT,LNG")
    q.add_argument("--vehicle", default="motorcycle")
    q.add_argument("--office", help="office slug (the in-house provider needs it)")
    # Indonesian latitudes are negative: let "-6.39,106.84" be a value, not an option.
    q._negative_number_matcher = re.compile(r"^-\d[\d.,]*$")
    q.set_defaults(handler=quote)


def list_providers(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from providers.registry import describe

    infos = describe(get_settings().providers)
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2, default=str))
        return 0
    print(f"{'NAME':<12} {'ENABLED':<8} {'PRIO':>4}  {'CAPABILITIES'}")
    for info in infos:
        if info.error:
            print(f"{info.name:<12} {'error':<8} {'-':>4}  {info.error}")
            continue
        caps = info.capabilities
        flags = [name for name in ("webhooks", "lookup_by_reference", "pin_proof", "photo_proof",
                                   "cash_on_delivery", "round_trip", "multi_stop", "scheduled")
                 if caps.get(name)]
        limits = f"max {caps['max_distance_m'] // 1000} km" if caps.get("max_distance_m") else ""
        print(f"{info.name:<12} {'yes' if info.enabled else 'no':<8} {info.priority:>4}  "
              f"{info.display_name}; {','.join(caps['vehicle_types'])}; {limits}; "
              f"quote {caps.get('quote_validity_s') or '?'} s; {' '.join(flags) or '-'}")
    return 0


def _office_id(slug: str | None) -> str | None:
    if not slug:
        return None
    import sipoke.models  # noqa: F401
    from core.db import unit_of_work
    from core.offices.repository import OfficeRepository

    with unit_of_work() as session:
        office = OfficeRepository(session).by_slug(slug)
        if office is None:
            raise LookupError(f"unknown office '{slug}'")
        return str(office.id)


def quote(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from providers.errors import ProviderError
    from providers.registry import UnknownProvider, get_adapter, settings_error_text
    from providers.types import Coordinates, Place, QuoteRequest

    try:
        request = QuoteRequest(
            pickup=Place(coordinates=Coordinates.parse(args.pickup)),
            dropoff=Place(coordinates=Coordinates.parse(args.dropoff)),
            vehicle=args.vehicle, office_id=_office_id(args.office))
    except (ValidationError, ValueError) as exc:
        print(f"sipoke: invalid input: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"sipoke: {exc}", file=sys.stderr)
        return 1
    try:
        adapter = get_adapter(args.name, get_settings().providers)
    except ValidationError as exc:
        print(f"sipoke: {settings_error_text(args.name, exc)}", file=sys.stderr)
        return 2
    except (UnknownProvider, LookupError, ImportError, TypeError) as exc:
        print(f"sipoke: {exc}", file=sys.stderr)
        return 1
    try:
        with adapter:
            result = adapter.quote(request)
    except ProviderError as exc:
        print(f"sipoke: {exc}", file=sys.stderr)
        return 1
    print(f"provider     {result.provider}")
    print(f"price        {result.price.amount}")
    print(f"currency     {result.price.currency}")
    print(f"expires_at   {result.expires_at.isoformat()}")
    print(f"quote_id     {result.provider_quote_id}")
    if result.distance_m is not None:
        print(f"distance_m   {result.distance_m}")
    if result.dropoff_eta_s is not None:
        print(f"dropoff_eta  {result.dropoff_eta_s} s")
    return 0
