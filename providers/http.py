"""Shared synchronous httpx transport for adapters: timeouts and error classification.

Adapters build requests and parse responses with pure functions (their ``mapping.py``)
and send them through :class:`ProviderHttp`, which maps what can go wrong on the wire:

* connect error or connect timeout (nothing was sent): transient, ``outcome_unknown=False``;
* read/write/pool timeout, connection dropped mid-call: transient, ``outcome_unknown=True``;
* HTTP 429: transient with ``retry_after`` from the Retry-After header;
* HTTP 408 and 5xx: transient, ``outcome_unknown=True`` (``retry_after`` if the header came);
* HTTP 401 and 403: AuthenticationFailed;
* any other 4xx: PermanentProviderError, or what the adapter's ``classify`` hook returns.

``classify(response)`` lets an adapter turn its own error payloads into specific errors
(``ERR_OUT_OF_SERVICE_AREA`` -> OutOfServiceArea, ``ERR_INVALID_QUOTATION_ID`` -> QuoteExpired)
before the defaults apply; it is a pure function of the response, testable without HTTP.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from providers.errors import (
    AuthenticationFailed,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

Classifier = Callable[[httpx.Response], ProviderError | None]

MAX_RETRY_AFTER = 600.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def classify_response(response: httpx.Response, *, provider: str,
                      classify: Classifier | None = None) -> ProviderError | None:
    """The error an unsuccessful response means, or None for a 2xx/3xx. Pure."""
    status = response.status_code
    if status < 400:
        return None
    if classify is not None:
        specific = classify(response)
        if specific is not None:
            specific.provider = specific.provider or provider
            specific.status_code = specific.status_code or status
            return specific
    snippet = response.text[:200] if response.content else ""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        return TransientProviderError("rate limited", provider=provider, status_code=status,
                                      retry_after=retry_after)
    if status == 408 or status >= 500:
        return TransientProviderError(f"server error: {snippet}".strip(), provider=provider,
                                      status_code=status, retry_after=retry_after,
                                      outcome_unknown=True)
    if status in (401, 403):
        return AuthenticationFailed("credentials rejected", provider=provider,
                                    status_code=status)
    return PermanentProviderError(f"request rejected: {snippet}".strip(), provider=provider,
                                  status_code=status)


class ProviderHttp:
    """A pooled httpx.Client bound to one provider's base URL and timeouts."""

    def __init__(self, provider: str, base_url: str, *, connect_timeout: float = 3.0,
                 read_timeout: float = 10.0, headers: Mapping[str, str] | None = None,
                 classify: Classifier | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.provider = provider
        self.classify = classify
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        self.client = httpx.Client(base_url=base_url, timeout=timeout,
                                   headers=dict(headers or {}), transport=transport)

    def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send and return a successful response; raise a :mod:`providers.errors` error."""
        try:
            response = self.client.request(method, path, json=json, content=content,
                                           params=params, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientProviderError(f"cannot connect: {exc!r}", provider=self.provider,
                                         outcome_unknown=False) from exc
        except httpx.TimeoutException as exc:
            raise TransientProviderError(f"timed out: {type(exc).__name__}",
                                         provider=self.provider, outcome_unknown=True) from exc
        except httpx.TransportError as exc:
            raise TransientProviderError(f"transport error: {exc!r}", provider=self.provider,
                                         outcome_unknown=True) from exc
        error = classify_response(response, provider=self.provider, classify=self.classify)
        if error is not None:
            raise error
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode the JSON body; a malformed body is transient."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise TransientProviderError("response is not JSON", provider=self.provider,
                                         status_code=response.status_code,
                                         outcome_unknown=True) from exc

    def close(self) -> None:
        self.client.close()
