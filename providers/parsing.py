"""Small pure helpers the real provider adapters share (Lalamove, GoSend, GrabExpress, Biteship).

Each provider answers in its own units and spellings; these turn them into contract values:
amounts into integer rupiah (rounded up), timestamps in seconds, milliseconds or lenient
ISO-8601 into aware UTC datetimes, camelCase or display-string statuses into one lookup key,
and static webhook tokens compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.types import Money

# Unix timestamps above this are milliseconds (1e12 ms = 2001-09-09; 1e12 s is year 33658).
_MS_THRESHOLD = 10**12


def rupiah(value: Any, currency: str | None = "IDR") -> Money | None:
    """``"34200"``, ``34200.0``, ``"34200.50"`` -> ``Money(amount=34201)``; None when absent.

    Providers send strings (Lalamove), floats (GoSend) or numbers (Grab, Biteship); we bill
    whole rupiah and never under-quote, so fractions round up.
    """
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount: {value!r}")
    return Money(amount=math.ceil(amount), currency=(currency or "IDR").upper())


def from_epoch(value: Any) -> datetime:
    """Unix seconds or milliseconds (number or numeric string) -> aware UTC datetime."""
    number = float(str(value).strip())
    if abs(number) >= _MS_THRESHOLD:
        number /= 1000.0
    return datetime.fromtimestamp(number, UTC)


def epoch_seconds(value: Any) -> float:
    """Unix seconds or milliseconds -> seconds (for replay windows)."""
    return from_epoch(value).timestamp()


# "2025-09-10T19:21.00Z" (Lalamove: minutes, then fractional seconds without a seconds field)
_MINUTES_DOT = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})\.(\d+)(.*)$")


def parse_time(value: Any) -> datetime:
    """Lenient ISO-8601 -> aware UTC; naive values are taken as UTC (providers say UTC)."""
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = _MINUTES_DOT.match(text)
    if match:
        text = f"{match.group(1)}:00{match.group(3)}"
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def status_key(raw: Any) -> str:
    """One lookup key for a provider status in any spelling: ``pickingUp``, ``picking_up``,
    ``PICKING_UP``, ``"Item Picked by Driver"`` -> ``picking_up`` / ``item_picked_by_driver``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(raw).strip())
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def tokens_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of a static webhook token; an unset token never matches."""
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.strip().encode(), received.strip().encode())


def content_event_id(prefix: str, payload: Any) -> str:
    """A stable event id from a webhook's content, for providers that send no event id: the
    same event re-sent (whatever its key order or whitespace) gets the same id."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{prefix}-c-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def is_empty_ping(body: bytes) -> bool:
    """A provider's "is your URL alive?" probe: empty body, or an empty JSON object/list."""
    text = body.strip()
    return text in (b"", b"{}", b"[]", b"null")


def local_phone(e164: str) -> str:
    """``+6281234`` -> ``081234`` (Indonesian local format some APIs want)."""
    return "0" + e164[3:] if e164.startswith("+62") else e164.lstrip("+")


def digits_phone(e164: str) -> str:
    """``+6281234`` -> ``6281234`` (Grab wants the country code without ``+``)."""
    return e164.lstrip("+")
