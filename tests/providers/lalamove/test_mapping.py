"""Lalamove statuses, amounts, ids, error envelopes, rate limits and the CLI quote."""

from __future__ import annotations

import httpx
import pytest

from core.settings import reset_settings_cache
from providers.errors import (
    AuthenticationFailed,
    CancelNotAllowed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    QuoteExpired,
    TransientProviderError,
)
from providers.lalamove import mapping
from providers.lalamove.client import ORDERS_PER_SECOND
from providers.parsing import parse_time
from providers.status import DeliveryStatus
from providers.throttle import Limit, Throttle
from sipoke.cli import main
from tests.providers.lalamove.fake import FakeLalamove

S = DeliveryStatus


@pytest.mark.parametrize(("raw", "status"), [
    ("ASSIGNING_DRIVER", S.searching_courier), ("ON_GOING", S.courier_assigned),
    ("PICKED_UP", S.picked_up), ("COMPLETED", S.delivered), ("CANCELED", S.cancelled),
    ("CANCELLED", S.cancelled), ("REJECTED", S.no_courier), ("EXPIRED", S.no_courier),
    ("completed", S.delivered), ("SOMETHING_NEW", S.booked),
])
def test_every_documented_status_maps(raw: str, status: DeliveryStatus) -> None:
    assert mapping.normalize_status(raw) is status


def test_quote_amounts_become_whole_rupiah_rounded_up_and_ids_stay_strings() -> None:
    from datetime import UTC, datetime

    quote = mapping.parse_quote({
        "quotationId": "1514140994227007571", "expiresAt": "2022-04-13T07:23:39.00Z",
        "priceBreakdown": {"base": "90", "total": "34200.5", "currency": "IDR"},
        "distance": {"value": "5836", "unit": "m"}}, now=datetime.now(UTC), validity_s=300)
    assert quote.price.amount == 34201 and quote.price.currency == "IDR"
    assert quote.provider_quote_id == "1514140994227007571"
    assert quote.distance_m == 5836
    assert quote.expires_at == datetime(2022, 4, 13, 7, 23, 39, tzinfo=UTC)


def test_lenient_timestamps() -> None:
    assert parse_time("2025-09-10T19:21.00Z").isoformat() == "2025-09-10T19:21:00+00:00"
    assert parse_time("2022-04-13T07:18:38.00Z").second == 38


def _response(status: int, body: object = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers,
                          request=httpx.Request("GET", "https://x/v3"))


@pytest.mark.parametrize(("status", "body", "kind", "code"), [
    (422, {"errors": [{"id": "ERR_OUT_OF_SERVICE_AREA", "message": "Out of area"}]},
     OutOfServiceArea, "ERR_OUT_OF_SERVICE_AREA"),
    (422, {"errors": [{"id": "ERR_INVALID_QUOTATION_ID"}]}, QuoteExpired,
     "ERR_INVALID_QUOTATION_ID"),
    (409, {"errors": {"id": "ERR_CANCELLATION_FORBIDDEN"}}, CancelNotAllowed,
     "ERR_CANCELLATION_FORBIDDEN"),
    (404, {"message": "ERR_ORDER_NOT_FOUND"}, OrderNotFound, "ERR_ORDER_NOT_FOUND"),
    (404, None, OrderNotFound, None),
    (401, {"message": "ERR_UNAUTHORIZED"}, AuthenticationFailed, "ERR_UNAUTHORIZED"),
    (402, {"errors": [{"id": "ERR_INSUFFICIENT_CREDIT", "message": "Top up"}]},
     PermanentProviderError, "ERR_INSUFFICIENT_CREDIT"),
    (422, {"errors": [{"id": "ERR_REQUIRED_FIELD", "message": "Please verify your field.",
                       "detail": "'name' validation failed"}]}, PermanentProviderError,
     "ERR_REQUIRED_FIELD"),
])
def test_error_envelopes_map_to_our_kinds(status, body, kind, code) -> None:
    error = mapping.classify(_response(status, body))
    assert type(error) is kind
    assert error.code == code


def test_rate_limit_answers_are_transient_with_the_reset_delay() -> None:
    error = mapping.classify(_response(429, {"errors": [{"id": "ERR_RATE_LIMIT_EXCEEDED"}]},
                                       {"RateLimit-Reset-PostQuotation": "12"}))
    assert isinstance(error, TransientProviderError) and error.retry_after == 12
    assert mapping.classify(_response(503, {})) is None  # the shared transport decides
    assert mapping.classify(_response(201, {})) is None


def test_client_side_throttle_waits_briefly_then_refuses_without_sending() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(clock=lambda: now[0], sleep=sleep, max_wait_s=1.0)
    for _ in range(3):  # 2 orders a second: the third waits for the window
        throttle.acquire("lalamove", "order", ORDERS_PER_SECOND)
    assert slept == [1.0]
    per_minute = Limit(2, 60.0)
    throttle.acquire("lalamove", "quotation", per_minute)
    throttle.acquire("lalamove", "quotation", per_minute)
    with pytest.raises(TransientProviderError) as info:
        throttle.acquire("lalamove", "quotation", per_minute)
    assert info.value.retry_after == pytest.approx(60.0) and not info.value.outcome_unknown


def test_cli_quote_against_the_fake(fake_lalamove: FakeLalamove, monkeypatch, capsys) -> None:
    for key, value in fake_lalamove.config().items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__LALAMOVE__{key.upper()}", str(value))
    reset_settings_cache()
    try:
        code = main(["providers", "quote", "lalamove", "--pickup", "-6.3925,106.8420",
                     "--dropoff", "-6.3952,106.8461"])
    finally:
        reset_settings_cache()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider     lalamove" in out and "currency     IDR" in out
    assert fake_lalamove.received[-1].url.path == "/v3/quotations"


def test_the_adapter_keeps_under_the_configured_limit_without_sending(
        fake_lalamove: FakeLalamove) -> None:
    from providers.lalamove import LalamoveAdapter
    from tests.providers.lalamove.test_contract import LalamoveHarness

    config = fake_lalamove.config(client_rate_limits=True, quotations_per_minute=2)
    request = LalamoveHarness(fake_lalamove).quote_request()
    with LalamoveAdapter.from_config(config) as adapter:
        adapter.quote(request)
        adapter.quote(request)
        sent = len(fake_lalamove.received)
        with pytest.raises(TransientProviderError, match="client-side rate limit") as info:
            adapter.quote(request)
    assert len(fake_lalamove.received) == sent
    assert 0 < info.value.retry_after <= 60
