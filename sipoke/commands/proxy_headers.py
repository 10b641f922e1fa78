"""Which callers' ``X-Forwarded-For`` / ``X-Forwarded-Proto`` uvicorn believes.

Only the proxies named in ``SIPOKE_TRUSTED_PROXIES``: the per-client limits (sign-in codes,
failed sign-ins) count the address these headers give, so a header from anyone else would let
a client choose its own address. Unset, the headers are ignored and the connecting peer is the
client (uvicorn's own default would believe 127.0.0.1, i.e. any local process or proxy).
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings


def proxy_header_options(settings: Settings) -> dict[str, Any]:
    """The ``proxy_headers`` / ``forwarded_allow_ips`` arguments of ``uvicorn.run``."""
    return {"proxy_headers": bool(settings.trusted_proxies),
            "forwarded_allow_ips": settings.trusted_proxies}
