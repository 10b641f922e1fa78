"""The Jinja2 environment: autoescaped templates, money/time filters, static asset URLs, and
``scrub_nik`` for text a courier reads (the envelope label, the offers list)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from core.identity import scrub_nik

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
JAKARTA = ZoneInfo("Asia/Jakarta")


def rupiah(amount: int | None) -> str:
    """Integer rupiah as residents read it: Rp12.500."""
    if amount is None:
        return "–"
    return "Rp" + f"{int(amount):,}".replace(",", ".")


def local_time(value: datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """UTC in the database, Asia/Jakarta (WIB) on screen."""
    if value is None:
        return "–"
    return value.astimezone(JAKARTA).strftime(fmt)


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
templates.env.filters["local_time"] = local_time
templates.env.filters["filesize"] = filesize
templates.env.filters["scrub_nik"] = scrub_nik
templates.env.globals["static_url"] = static_url
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
