"""GrabExpress transport: OAuth2 client credentials with a cached token, one refresh on 401.

The token (a JWT, ~7 days) is cached per (token URL, client id) for the whole process, since
adapters are built per call. A 401 from the API means the token was revoked or expired early:
we drop it, fetch a new one and resend the request once (a 401 was not processed, so the
resend is safe even for a create). A second 401 is a real credentials problem.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from providers.errors import AuthenticationFailed, PermanentProviderError
from providers.grabexpress import mapping
from providers.grabexpress.settings import GrabExpressSettings
from providers.http import ProviderHttp
from providers.throttle import THROTTLE, Limit, Throttle

# Production requests per second [GRAB-VN]: quotes 300, create/get/cancel 33.
LIMITS = {"quotes": Limit(300, 1.0), "deliveries": Limit(33, 1.0)}


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


_TOKENS: dict[tuple[str, str], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    with _TOKENS_LOCK:
        _TOKENS.clear()


class GrabExpressClient:
    def __init__(self, settings: GrabExpressSettings, *,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 throttle: Throttle = THROTTLE) -> None:
        self.settings = settings
        self.clock = clock
        self.throttle = throttle
        self.http = ProviderHttp(
            mapping.PROVIDER, settings.url, connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout, classify=mapping.classify, transport=transport,
            headers={"Accept": "application/json"},
        )
        self._key = (settings.token_url, settings.client_id or "")

    # --- token -------------------------------------------------------------------------------

    def _fetch_token(self) -> _Token:
        form = {"client_id": self.settings.client_id or "",
                "client_secret": self.settings.secret(),
                "grant_type": "client_credentials", "scope": self.settings.scope}
        kwargs: dict[str, Any] = {"json": form}
        if self.settings.token_request_format == "form":  # noqa: S105 - not a password
            kwargs = {"content": urlencode(form).encode(),
                      "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
        try:
            data = self.http.json("POST", self.settings.token_url, **kwargs)
        except PermanentProviderError as exc:
            # Any refusal of the token endpoint (400 invalid_client, 401) is a settings issue.
            raise AuthenticationFailed(f"token refused: {exc.message}", provider=mapping.PROVIDER,
                                       code=exc.code, status_code=exc.status_code) from exc
        if not isinstance(data, dict) or not data.get("access_token"):
            raise AuthenticationFailed("token response without access_token",
                                       provider=mapping.PROVIDER)
        lifetime = float(data.get("expires_in") or 3600)
        margin = min(self.settings.token_refresh_margin_s, lifetime / 2)
        return _Token(str(data["access_token"]), self.clock() + lifetime - margin)

    def token(self) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._key)
            if cached is not None and self.clock() < cached.refresh_at:
                return cached.value
            # Fetch under the lock: concurrent quote threads share one token request.
            fresh = self._fetch_token()
            _TOKENS[self._key] = fresh
            return fresh.value

    def _drop_token(self, value: str) -> None:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._key)
            if cached is not None and cached.value == value:
                del _TOKENS[self._key]

    # --- calls ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, limit: str, body: dict[str, Any] | None = None
             ) -> Any:
        self.throttle.acquire(mapping.PROVIDER, limit, LIMITS[limit])
        token = self.token()
        try:
            return self.http.json(method, path, json=body,
                                  headers={"Authorization": f"Bearer {token}"})
        except AuthenticationFailed as exc:
            if exc.status_code != 401:
                raise
        self._drop_token(token)
        return self.http.json(method, path, json=body,
                              headers={"Authorization": f"Bearer {self.token()}"})

    def quotes(self, body: dict[str, Any]) -> Any:
        return self.call("POST", "/v1/deliveries/quotes", "quotes", body)

    def create(self, body: dict[str, Any]) -> Any:
        return self.call("POST", "/v1/deliveries", "deliveries", body)

    def get(self, delivery_id: str) -> Any:
        return self.call("GET", f"/v1/deliveries/{delivery_id}", "deliveries")

    def cancel(self, delivery_id: str) -> None:
        self.call("DELETE", f"/v1/deliveries/{delivery_id}", "deliveries")

    def cancel_by_merchant_order(self, reference: str) -> None:
        self.call("DELETE", f"/v1/merchant/deliveries/{reference}", "deliveries")

    def close(self) -> None:
        self.http.close()
