"""GoSend transport: static ``Client-ID`` / ``Pass-Key`` headers, no signing."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import revealed
from providers.gosend import mapping
from providers.gosend.settings import GoSendSettings
from providers.http import ProviderHttp

API = "/gokilat/v10"


class GoSendClient:
    def __init__(self, settings: GoSendSettings, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = ProviderHttp(
            mapping.PROVIDER, settings.url, connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout, classify=mapping.classify, transport=transport,
            headers={"Client-ID": settings.client_id or "", "Pass-Key": revealed(settings.pass_key),
                     "Accept": "application/json"},
        )

    def estimate(self, params: dict[str, Any]) -> Any:
        return self.http.json("GET", f"{API}/calculate/price", params=params)

    def create_booking(self, body: dict[str, Any]) -> Any:
        return self.http.json("POST", f"{API}/booking", json=body)

    def by_order_no(self, order_no: str) -> Any:
        return self.http.json("GET", f"{API}/booking/orderno/{order_no}")

    def by_store_order_id(self, reference: str) -> Any:
        return self.http.json("GET", f"{API}/booking/storeOrderId/{reference}")

    def cancel(self, order_no: str) -> Any:
        return self.http.json("PUT", f"{API}/booking/cancel", json={"orderNo": order_no})

    def close(self) -> None:
        self.http.close()
