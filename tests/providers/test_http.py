"""The shared transport: timeouts, connection errors, 5xx, 429 + Retry-After, 4xx (respx)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from providers.errors import (
    AuthenticationFailed,
    OutOfServiceArea,
    PermanentProviderError,
    TransientProviderError,
)
from providers.http import ProviderHttp, parse_retry_after

BASE = "https://courier.example"


@pytest.fixture
def http():
    client = ProviderHttp("example", BASE, connect_timeout=0.5, read_timeout=0.5,
                          headers={"X-Key": "k"})
    yield client
    client.close()


@respx.mock
def test_success_returns_json_and_sends_headers(http: ProviderHttp) -> None:
    route = respx.post(f"{BASE}/v1/quotes").mock(return_value=httpx.Response(201, json={"a": 1}))
    assert http.json("POST", "/v1/quotes", json={"x": 1}) == {"a": 1}
    assert route.calls.last.request.headers["X-Key"] == "k"


@respx.mock
def test_read_timeout_is_transient_with_unknown_outcome(http: ProviderHttp) -> None:
    respx.post(f"{BASE}/v1/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientProviderError) as err:
        http.request("POST", "/v1/orders")
    assert err.value.outcome_unknown is True
    assert err.value.provider == "example"


@respx.mock
def test_connect_error_is_transient_and_surely_not_sent(http: ProviderHttp) -> None:
    respx.post(f"{BASE}/v1/orders").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientProviderError) as err:
        http.request("POST", "/v1/orders")
    assert err.value.outcome_unknown is False


@respx.mock
def test_connect_timeout_is_transient_and_surely_not_sent(http: ProviderHttp) -> None:
    respx.get(f"{BASE}/v1/x").mock(side_effect=httpx.ConnectTimeout("slow dns"))
    with pytest.raises(TransientProviderError) as err:
        http.request("GET", "/v1/x")
    assert err.value.outcome_unknown is False


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_transient(http: ProviderHttp, status: int) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(status, text="oops"))
    with pytest.raises(TransientProviderError) as err:
        http.request("GET", "/v1/x")
    assert err.value.status_code == status
    assert err.value.outcome_unknown is True


@respx.mock
def test_429_carries_retry_after_seconds(http: ProviderHttp) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(TransientProviderError) as err:
        http.request("GET", "/v1/x")
    assert err.value.retry_after == 7.0
    assert err.value.status_code == 429


@respx.mock
def test_429_with_http_date_retry_after(http: ProviderHttp) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(429, headers={"Retry-After": when}))
    with pytest.raises(TransientProviderError) as err:
        http.request("GET", "/v1/x")
    assert 25 <= (err.value.retry_after or 0) <= 30


@respx.mock
def test_429_without_retry_after(http: ProviderHttp) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(429))
    with pytest.raises(TransientProviderError) as err:
        http.request("GET", "/v1/x")
    assert err.value.retry_after is None


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(http: ProviderHttp, status: int) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(status))
    with pytest.raises(AuthenticationFailed):
        http.request("GET", "/v1/x")


@respx.mock
@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_are_permanent(http: ProviderHttp, status: int) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(status, json={"e": "bad"}))
    with pytest.raises(PermanentProviderError) as err:
        http.request("GET", "/v1/x")
    assert not isinstance(err.value, TransientProviderError)
    assert err.value.status_code == status


@respx.mock
def test_adapter_classifier_wins_over_defaults() -> None:
    def classify(response: httpx.Response):
        if response.json().get("code") == "ERR_OUT_OF_SERVICE_AREA":
            return OutOfServiceArea("outside")
        return None

    http = ProviderHttp("example", BASE, classify=classify)
    respx.post(f"{BASE}/q").mock(return_value=httpx.Response(
        422, json={"code": "ERR_OUT_OF_SERVICE_AREA"}))
    with pytest.raises(OutOfServiceArea) as err:
        http.request("POST", "/q")
    assert err.value.provider == "example" and err.value.status_code == 422
    http.close()


@respx.mock
def test_malformed_json_is_transient(http: ProviderHttp) -> None:
    respx.get(f"{BASE}/v1/x").mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(TransientProviderError):
        http.json("GET", "/v1/x")


def test_real_timeout_against_a_silent_server() -> None:
    """No mock: a socket that accepts and never answers trips the read timeout."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    http = ProviderHttp("example", f"http://127.0.0.1:{server.getsockname()[1]}",
                        read_timeout=0.2, connect_timeout=0.5)
    try:
        with pytest.raises(TransientProviderError) as err:
            http.request("GET", "/")
        assert err.value.outcome_unknown is True
    finally:
        http.close()
        server.close()


def test_parse_retry_after_bounds() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("999999") == 600
