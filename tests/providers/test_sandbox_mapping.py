"""Pure sandbox mapping: requests, parsing, statuses, errors and webhook signatures."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from providers.errors import CancelNotAllowed, OrderNotFound, OutOfServiceArea, WebhookRejected
from providers.sandbox import mapping
from providers.sandbox.adapter import SandboxAdapter
from providers.sandbox.simulator import CANCELLABLE, TERMINAL
from providers.status import BEFORE_PICKUP, DeliveryStatus
from tests.providers.contract import ContractHarness, new_reference

ORDER = {"order_id": "123", "client_reference": "att-1", "status": "ON_DELIVERY",
         "price": {"amount": 9500, "currency": "IDR"}, "tracking_url": "http://t/123",
         "courier": {"name": "Joko", "phone": "+6281300000000", "plate": "B 1 X",
                     "photo_url": None},
         "position": {"lat": -6.39, "lng": 106.84}, "proof_urls": ["http://p/1.jpg"],
         "failure_reason": None, "created_at": "2030-01-01T00:00:00+00:00",
         "updated_at": "2030-01-01T00:05:00+00:00"}


class _Requests(ContractHarness):
    def adapter(self):
        raise NotImplementedError

    def advance_to(self, booking, status) -> None:
        raise NotImplementedError

    def expired_quote(self):
        raise NotImplementedError


def test_every_raw_status_maps_and_unknown_is_harmless() -> None:
    assert mapping.normalize_status("COMPLETED") is DeliveryStatus.delivered
    assert mapping.normalize_status("no_driver") is DeliveryStatus.no_courier
    assert mapping.normalize_status("SOMETHING_NEW") is DeliveryStatus.booked
    for raw in TERMINAL:
        assert mapping.normalize_status(raw).is_terminal
    assert {mapping.normalize_status(r) for r in CANCELLABLE} <= BEFORE_PICKUP


def test_order_body_carries_only_what_a_courier_needs() -> None:
    quote = mapping.parse_quote({"quote_id": "sq_1", "price": {"amount": 9500},
                                 "expires_at": "2030-01-01T00:00:00Z", "distance_m": 540})
    request = _Requests().booking_request(quote, new_reference())
    body = mapping.order_body(request)
    assert set(body) == {"quote_id", "client_reference", "pickup", "dropoff", "item"}
    assert set(body["dropoff"]) == {"lat", "lng", "address", "name", "phone", "note"}
    assert body["item"]["description"] == "Dokumen"
    assert body["client_reference"] == request.reference


def test_parse_order_update_and_stable_poll_ids() -> None:
    update = mapping.parse_order_update(ORDER)
    assert update.status is DeliveryStatus.in_transit and update.raw_status == "ON_DELIVERY"
    assert update.courier is not None and update.courier.plate == "B 1 X"
    assert update.position is not None and update.position.lat == -6.39
    assert update.proof_urls == ("http://p/1.jpg",)
    assert mapping.parse_order_update(dict(ORDER)).provider_event_id == update.provider_event_id
    moved = mapping.parse_order_update({**ORDER, "status": "AT_DROPOFF",
                                        "updated_at": "2030-01-01T00:09:00+00:00"})
    assert moved.provider_event_id != update.provider_event_id


def test_parse_webhook_and_malformed_bodies() -> None:
    [update] = mapping.webhook_updates({"event_id": "evt_1", "type": "order.status",
                                        "occurred_at": "2030-01-01T00:05:00Z", "order": ORDER})
    assert update.provider_event_id == "evt_1"
    # A well-formed event of a type we do not track is accepted and yields no update.
    assert mapping.webhook_updates({"type": "wallet.balance", "event_id": "e"}) == []
    # The sandbox sends no probes: even an empty object is a malformed event.
    with SandboxAdapter.from_config({}) as adapter:
        for bad in (b"not json", b"{}", b"[]", b'{"type": "order.status", "order": {}}'):
            with pytest.raises(WebhookRejected):
                adapter.parse_webhook(bad, {})


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event_id":"evt_1"}'
    independent = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert mapping.sign("s3cret", 1700000000, body) == f"v1={independent}"
    mapping.check_signature("s3cret", body, "1700000000", f"v1={independent}",
                            now=1700000100, tolerance_s=300)


@pytest.mark.parametrize(("timestamp", "signature", "now"), [
    (None, "v1=abc", 1700000000),
    ("1700000000", None, 1700000000),
    ("yesterday", "v1=abc", 1700000000),
    ("1700000000", "v1=" + "0" * 64, 1700000000),
    ("1700000000", "SIGNED", 1700000000 + 301),  # stale: a replay
])
def test_bad_signatures_are_rejected(timestamp, signature, now) -> None:
    body = b"{}"
    if signature == "SIGNED":
        signature = mapping.sign("s3cret", timestamp, body)
    with pytest.raises(WebhookRejected):
        mapping.check_signature("s3cret", body, timestamp, signature, now=now, tolerance_s=300)


@pytest.mark.parametrize(("status", "code", "kind"), [
    (422, "OUT_OF_SERVICE_AREA", OutOfServiceArea),
    (404, "ORDER_NOT_FOUND", OrderNotFound),
    (409, "CANCEL_FORBIDDEN", CancelNotAllowed),
])
def test_error_payloads_map_to_contract_errors(status: int, code: str, kind: type) -> None:
    response = httpx.Response(status, json={"error": {"code": code, "message": "m"}})
    assert isinstance(mapping.classify(response), kind)


def test_unclassified_errors_fall_through_to_the_http_defaults() -> None:
    assert mapping.classify(httpx.Response(503, json={"error": {"code": "UNAVAILABLE"}})) is None
    assert mapping.classify(httpx.Response(400, text="<html>")) is None
