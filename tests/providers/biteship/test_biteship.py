"""Biteship: statuses in both spellings, rate choice, order body, errors, webhooks, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from core.settings import reset_settings_cache
from providers.biteship import BiteshipAdapter, mapping, webhooks
from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    WebhookRejected,
)
from providers.status import DeliveryStatus
from providers.types import TrackingUpdate
from sipoke.cli import main
from tests.providers.biteship.fake import HOOK_HEADER, HOOK_SECRET
from tests.providers.biteship.test_contract import BiteshipHarness

S = DeliveryStatus

# The flat field list of a logged real order.status payload (docs/providers.md §4.4).
REAL_SHAPE = json.dumps({
    "event": "order.status", "order_id": "5dd599ebdefcd4158eb8470b", "order_price": 20000,
    "courier_tracking_id": "6d8e5d2c6cd0a1f6", "courier_waybill_id": "GK-11-1234567",
    "courier_company": "gojek", "courier_type": "instant",
    "courier_driver_name": "Budi", "courier_driver_phone": "0813000000",
    "courier_driver_plate_number": "B 1234 CD", "courier_driver_photo_url": "https://p/b.jpg",
    "courier_link": "https://gsend.co/abc", "status": "droppingOff", "sub_status": None,
    "updated_at": "2026-11-28T08:15:00+07:00"}).encode()


def parse(body: bytes) -> list[TrackingUpdate]:
    """A verified body as the webhook door parses it: through the adapter."""
    with BiteshipAdapter.from_config({}) as adapter:
        return adapter.parse_webhook(body, {})


@pytest.mark.parametrize(("raw", "status"), [
    ("confirmed", S.searching_courier), ("scheduled", S.booked),
    ("allocated", S.courier_assigned), ("picking_up", S.courier_assigned),
    ("pickingUp", S.courier_assigned), ("picked", S.picked_up),
    ("dropping_off", S.in_transit), ("droppingOff", S.in_transit),
    ("in_transit", S.in_transit), ("on_hold", S.in_transit), ("onHold", S.in_transit),
    ("delivered", S.delivered), ("cancelled", S.cancelled),
    ("return_in_transit", S.returning), ("returnInTransit", S.returning),
    ("returned", S.returned), ("rejected", S.failed), ("disposed", S.failed),
    ("courier_not_found", S.no_courier), ("courierNotFound", S.no_courier),
    ("somethingNew", S.booked),
])
def test_both_status_spellings_map(raw: str, status: DeliveryStatus) -> None:
    assert mapping.normalize_status(raw) is status


def test_the_cheapest_accepted_courier_service_is_chosen() -> None:
    def entry(code: str, service: str, price: int) -> dict:
        return {"courier_code": code, "courier_service_code": service, "price": price,
                "shipment_duration_range": "1 - 3", "shipment_duration_unit": "hours"}

    data = {"pricing": [entry("jne", "reg", 9000), entry("gojek", "same_day", 11000),
                        entry("grab", "instant", 15500), entry("gojek", "instant", 16000)]}
    quote = mapping.parse_rates(data, couriers=["gojek", "grab"], services=["instant"],
                                now=datetime.now(UTC), validity_s=300)
    assert quote.price.amount == 15500 and quote.dropoff_eta_s == 3 * 3600
    assert mapping.courier_of(quote.provider_quote_id) == ("grab", "instant")
    with pytest.raises(OutOfServiceArea):
        mapping.parse_rates({"pricing": [entry("jne", "reg", 9000)]}, couriers=["gojek"],
                            services=["instant"], now=datetime.now(UTC), validity_s=300)


def test_order_body_carries_courier_reference_and_local_phones(fake_biteship) -> None:
    harness = BiteshipHarness(fake_biteship)
    with harness.adapter() as adapter:
        quote = adapter.quote(harness.quote_request())
        request = harness.booking_request(quote)
        booking = adapter.book(request)
    body = mapping.order_body(request, phone_format="local", declared_value=0)
    sent = json.loads(fake_biteship.received[-1].content)
    assert sent == body
    assert sent["reference_id"] == request.reference == booking.reference
    assert (sent["courier_company"], sent["courier_type"]) == ("gojek", "instant")
    assert sent["destination_contact_phone"] == "081234560001"
    assert sent["delivery_type"] == "now" and sent["items"][0]["name"] == "Dokumen"
    assert sent["destination_coordinate"] == {"latitude": -6.3952, "longitude": 106.8461}
    e164 = mapping.order_body(request, phone_format="e164", declared_value=0)
    assert e164["destination_contact_phone"] == "+6281234560001"


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "https://x"))


def test_error_envelopes() -> None:
    error = mapping.classify(_response(400, {"success": False, "error": "Invalid phone",
                                             "code": 40002014}))
    assert type(error) is PermanentProviderError and error.code == "40002014"
    assert type(mapping.classify(_response(400, {"success": False, "code": 40101002,
                                                 "error": "key"}))) is AuthenticationFailed
    assert type(mapping.classify(_response(404, {"error": "Order not found"}))) is OrderNotFound
    assert mapping.classify(_response(502, {})) is None


def test_the_real_payload_shape_parses() -> None:
    webhooks.verify(REAL_SHAPE, secret="s", received="s")
    [update] = parse(REAL_SHAPE)
    assert update.provider_order_id == "5dd599ebdefcd4158eb8470b"
    assert update.status is S.in_transit and update.raw_status == "droppingOff"
    assert update.courier.plate == "B 1234 CD" and update.tracking_url == "https://gsend.co/abc"
    assert update.occurred_at == datetime(2026, 11, 28, 1, 15, tzinfo=UTC)
    assert update.provider_event_id.startswith("biteship-c-")


@pytest.mark.parametrize("received", [None, "", "nope", HOOK_SECRET.upper()])
def test_forged_headers_are_refused(received) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(REAL_SHAPE, secret=HOOK_SECRET, received=received)


def test_the_header_name_is_configurable_and_matched_case_insensitively(fake_biteship) -> None:
    with BiteshipAdapter.from_config(fake_biteship.config()) as adapter:
        adapter.verify_webhook(REAL_SHAPE, {HOOK_HEADER.lower(): HOOK_SECRET})
        with pytest.raises(WebhookRejected):
            adapter.verify_webhook(REAL_SHAPE, {"Authorization": HOOK_SECRET})


@pytest.mark.parametrize("probe", [b"", b"{}", b'{"event":"installation"}'])
def test_installation_tests_are_answered_without_updates(probe: bytes) -> None:
    webhooks.verify(probe, secret=HOOK_SECRET, received=None)
    assert parse(probe) == []


def test_non_json_and_untracked_events() -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(b"<xml/>", secret=HOOK_SECRET, received=HOOK_SECRET)
    for event in ("order.price", "order.waybill_id"):
        body = json.dumps({**json.loads(REAL_SHAPE), "event": event}).encode()
        assert parse(body) == []


def test_a_replay_is_the_same_event_and_a_new_status_is_not() -> None:
    event = json.loads(REAL_SHAPE)
    replay = json.dumps(dict(reversed(event.items())), indent=2).encode()
    assert parse(replay)[0].provider_event_id == \
        parse(REAL_SHAPE)[0].provider_event_id
    event["status"] = "delivered"
    assert parse(json.dumps(event).encode())[0].provider_event_id != \
        parse(REAL_SHAPE)[0].provider_event_id


def test_courier_not_found_means_no_courier(fake_biteship) -> None:
    harness = BiteshipHarness(fake_biteship)
    with harness.adapter() as adapter:
        booking = adapter.book(harness.booking_request(adapter.quote(harness.quote_request())))
        fake_biteship.set_status(booking.provider_order_id, "courier_not_found")
        body, headers = fake_biteship.webhook(booking.provider_order_id)
        adapter.verify_webhook(body, headers)
        [update] = adapter.parse_webhook(body, headers)
        assert update.status is S.no_courier
        assert adapter.get_status(booking.provider_order_id).status is S.no_courier


def test_enabled_needs_an_api_key() -> None:
    with pytest.raises(ValueError, match="API_KEY"):
        BiteshipAdapter.from_config({"enabled": "true"})


def test_cli_quote_against_the_fake(fake_biteship, monkeypatch, capsys) -> None:
    for key, value in fake_biteship.config().items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__BITESHIP__{key.upper()}", str(value))
    reset_settings_cache()
    try:
        code = main(["providers", "quote", "biteship", "--pickup", "-6.3925,106.8420",
                     "--dropoff", "-6.3952,106.8461"])
    finally:
        reset_settings_cache()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider     biteship" in out and "quote_id     gojek/instant/" in out


def test_wrong_api_key_is_an_authentication_failure(fake_biteship) -> None:
    with BiteshipAdapter.from_config(fake_biteship.config(api_key="biteship_test.x")) as a, \
            pytest.raises(AuthenticationFailed) as info:
        a.quote(BiteshipHarness(fake_biteship).quote_request())
    assert info.value.code == "40101001"
    assert fake_biteship.received[-1].headers["authorization"] == "biteship_test.x"
