"""Biteship transport: ``authorization: <API key>`` on every call."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import revealed
from providers.biteship import mapping
from providers.biteship.settings import BiteshipSettings
from providers.http import ProviderHttp


class BiteshipClient:
    def __init__(self, settings: BiteshipSettings, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = ProviderHttp(
            mapping.PROVIDER, settings.url, connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout, classify=mapping.classify, transport=transport,
            headers={"authorization": revealed(settings.api_key), "Accept": "application/json"},
        )

    def rates(self, body: dict[str, Any]) -> Any:
        return self.http.json("POST", "/v1/rates/couriers", json=body)

    def create_order(self, body: dict[str, Any]) -> Any:
        return self.http.json("POST", "/v1/orders", json=body)

    def get_order(self, order_id: str) -> Any:
        return self.http.json("GET", f"/v1/orders/{order_id}")

    def cancel_order(self, order_id: str, reason: str) -> Any:
        # DELETE /v1/orders/:id is deprecated in favour of this.
        return self.http.json("POST", f"/v1/orders/{order_id}/cancel",
                              json={"cancellation_reason_code": "others",
                                    "cancellation_reason": reason})

    def close(self) -> None:
        self.http.close()
