"""The Jinja2 environment: autoescaped templates, money/time/number filters (Babel, through
:mod:`core.formatting`, in the viewer's office zone and the page's language), static asset
URLs, and ``scrub_nik`` for text a courier reads (the envelope label, the offers list)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from core import formatting
from core.identity import scrub_nik

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"


def rupiah(amount: int | None) -> str:
    """Integer rupiah as residents read it: Rp12.500."""
    if amount is None:
        return "–"
    return "Rp" + f"{int(amount):,}".replace(",", ".")


def local_time(value: datetime | None, style: str = "datetime", *,
               zone: str | None = formatting.DEFAULT_ZONE, lang: str = "id") -> str:
    """UTC in the database, the office's zone on screen: ``28 Nov 2026 08.30 WIB``."""
    return formatting.format_when(value, zone, style=style, lang=lang)


@pass_context
def _local_time(ctx: Any, value: datetime | None, style: str = "datetime") -> str:
    return local_time(value, style, zone=ctx.get("tz"), lang=ctx.get("lang") or "id")


@pass_context
def _km(ctx: Any, metres: float | None) -> str:
    return formatting.format_km(metres, ctx.get("lang"))


@pass_context
def _minutes(ctx: Any, seconds: float | None) -> str:
    return formatting.format_minutes(seconds, ctx.get("lang"))


@pass_context
def _working_days(ctx: Any, n: int) -> str:
    return formatting.plural(int(n), "working_day", ctx.get("lang"))


@pass_context
def _number(ctx: Any, value: float, decimals: int = 0) -> str:
    return formatting.format_number(value, ctx.get("lang"), decimals=decimals)


def field_value(value: Any, spec: dict[str, Any] | None = None) -> str:
    """A resident's answer as staff and residents read it: a date field as 01-11-2026, a
    number field with thousands dots; anything else as typed."""
    kind = (spec or {}).get("type") or "text"
    text = "" if value is None else str(value)
    if kind == "date":
        try:
            return date.fromisoformat(text).strftime("%d-%m-%Y")
        except ValueError:
            return text
    if kind == "number" and text.isdigit():
        return f"{int(text):,}".replace(",", ".")
    return text


def filesize(size: int | None) -> str:
    if not size:
        return "0 KB"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


@cache
def _asset_version(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.is_file() else "0"


def static_url(path: str) -> str:
    """A cache-busting URL: assets can be cached for long because the name changes."""
    return f"/static/{path}?v={_asset_version(path)}"


templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.filters["rupiah"] = rupiah
templates.env.filters["local_time"] = _local_time
templates.env.filters["km"] = _km
templates.env.filters["minutes"] = _minutes
templates.env.filters["working_days"] = _working_days
templates.env.filters["number"] = _number
templates.env.filters["filesize"] = filesize
templates.env.filters["field_value"] = field_value
templates.env.filters["scrub_nik"] = scrub_nik
templates.env.globals["static_url"] = static_url
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
