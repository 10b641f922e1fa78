"""GoSend: statuses in both vocabularies, the sample webhook, tokens, errors, the CLI quote."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from core.settings import reset_settings_cache
from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    TransientProviderError,
    WebhookRejected,
)
from providers.gosend import GoSendAdapter, mapping, webhooks
from providers.status import DeliveryStatus
from providers.types import TrackingUpdate
from sipoke.cli import main
from tests.providers.gosend.fake import WEBHOOK_TOKEN, FakeGoSend
from tests.providers.gosend.test_contract import GoSendHarness

S = DeliveryStatus

# The README sample of elgiborsolution/laravel-delivery-gosend (docs/providers.md §2.4).
SAMPLE = (b'{"@type":"booking_event","entity_id":"GK-11-117385","type":"DRIVER_NOT_FOUND",'
          b'"event_date":1648542933000,"event_id":"7444acc4-0f14-419d-806c-6e245607c274",'
          b'"partner_id":"601","destination_type":"market_place","booking_id":"GK-11-117385",'
          b'"status":"no_driver","booking_status":"no_driver","booking_type":"instant",'
          b'"driver_name":"","driver_phone":"","total_distance_in_kms":1.184000015258789,'
          b'"price":20000.0,"receiver_name":"","live_tracking_url":"http://..."}')


def parse(body: bytes) -> list[TrackingUpdate]:
    """A verified body as the webhook door parses it: through the adapter."""
    with GoSendAdapter.from_config({}) as adapter:
        return adapter.parse_webhook(body, {})


@pytest.mark.parametrize(("raw", "status"), [
    # webhook keys
    ("confirmed", S.searching_courier), ("allocated", S.courier_assigned),
    ("out_for_pickup", S.courier_assigned), ("picked", S.picked_up),
    ("out_for_delivery", S.in_transit), ("on_hold", S.in_transit),
    ("delivered", S.delivered), ("cancelled", S.cancelled), ("rejected", S.returned),
    ("no_driver", S.no_courier),
    # display strings from the status GET, any case
    ("Finding Driver", S.searching_courier), ("Driver Allocated", S.courier_assigned),
    ("Enroute Pickup", S.courier_assigned), ("Item Picked", S.picked_up),
    ("Item Picked by Driver", S.picked_up), ("Enroute Drop", S.in_transit),
    ("On Hold", S.in_transit), ("Completed", S.delivered), ("CANCELLED", S.cancelled),
    ("Driver not found", S.no_courier), ("Rejected", S.returned), ("Teleported", S.booked),
])
def test_both_status_vocabularies_map(raw: str, status: DeliveryStatus) -> None:
    assert mapping.normalize_status(raw) is status


def test_the_documented_sample_webhook_parses() -> None:
    webhooks.verify(SAMPLE, token="t", received="t")
    [update] = parse(SAMPLE)
    assert update.provider_order_id == "GK-11-117385"
    assert update.provider_event_id == "7444acc4-0f14-419d-806c-6e245607c274"
    assert update.status is S.no_courier and update.raw_status == "no_driver"
    assert update.occurred_at == datetime(2022, 3, 29, 8, 35, 33, tzinfo=UTC)  # ms epoch
    assert update.courier is None and update.tracking_url == "http://..."


def test_event_date_as_a_string_and_the_doc_spelling_of_the_tracking_url() -> None:
    body = json.dumps({"booking_id": "GK-1", "status": "delivered", "event_id": "e",
                       "event_date": "1486105171000", "liveTrackingUrl": "https://t",
                       "driver_name": "Joko"}).encode()
    [update] = parse(body)
    assert update.occurred_at.year == 2017 and update.tracking_url == "https://t"
    assert update.courier.name == "Joko"


@pytest.mark.parametrize("received", [None, "", "wrong", WEBHOOK_TOKEN + "x", "Bearer nope"])
def test_forged_tokens_are_refused(received: str | None) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(SAMPLE, token=WEBHOOK_TOKEN, received=received)


def test_no_configured_token_refuses_everything_but_the_probe() -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(SAMPLE, token="", received="")
    webhooks.verify(b"", token="", received=None)
    assert parse(b"") == []


def test_token_in_a_configured_header_and_bearer_prefix(fake_gosend: FakeGoSend) -> None:
    config = fake_gosend.config(webhook_header="X-Callback-Token")
    with GoSendAdapter.from_config(config) as adapter:
        adapter.verify_webhook(SAMPLE, {"x-callback-token": WEBHOOK_TOKEN})
        with pytest.raises(WebhookRejected):
            adapter.verify_webhook(SAMPLE, {"Authorization": WEBHOOK_TOKEN})
    webhooks.verify(SAMPLE, token=WEBHOOK_TOKEN, received=f"Bearer {WEBHOOK_TOKEN}")


def test_replays_keep_their_event_id_and_events_without_one_get_a_content_hash() -> None:
    assert parse(SAMPLE)[0].provider_event_id == \
        parse(SAMPLE)[0].provider_event_id
    event = json.loads(SAMPLE)
    del event["event_id"]
    a = parse(json.dumps(event).encode())[0].provider_event_id
    b = parse(json.dumps(dict(reversed(event.items())), indent=1).encode())[0]
    assert a == b.provider_event_id and a.startswith("gosend-c-")
    event["status"] = "cancelled"
    assert parse(json.dumps(event).encode())[0].provider_event_id != a


def test_price_estimate_parsing() -> None:
    now = datetime.now(UTC)
    data = {"Instant": {"shipment_method": "Instant", "serviceable": True, "active": True,
                        "distance": 2.76, "price": {"total_price": 18000.5}}}
    quote = mapping.parse_price(data, method="Instant", now=now, validity_s=300)
    assert quote.price.amount == 18001 and quote.distance_m == 2760
    assert (quote.expires_at - now).total_seconds() == 300
    with pytest.raises(OutOfServiceArea):
        mapping.parse_price(data, method="SameDay", now=now, validity_s=300)
    data["Instant"]["serviceable"] = False
    with pytest.raises(OutOfServiceArea):
        mapping.parse_price(data, method="Instant", now=now, validity_s=300)


def _response(status: int, body: object = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers,
                          request=httpx.Request("GET", "https://x"))


def test_error_envelopes() -> None:
    error = mapping.classify(_response(400, {}, {"Error-Message": "Origin not serviceable"}))
    assert type(error) is PermanentProviderError and "not serviceable" in error.message
    error = mapping.classify(_response(400, {"errorMessage": "bad phone", "errors": []}))
    assert "bad phone" in error.message
    assert type(mapping.classify(_response(404, {}))) is OrderNotFound
    assert type(mapping.classify(_response(401, {}))) is AuthenticationFailed
    assert mapping.classify(_response(503, {})) is None
    assert mapping.creation_error({"orderNo": None, "errors": [{"message": "x"}]}) == "x"
    assert mapping.creation_error({"orderNo": "GK-1"}) is None


def test_a_create_answered_2xx_without_an_order_is_refused(fake_gosend: FakeGoSend) -> None:
    harness = GoSendHarness(fake_gosend)
    with GoSendAdapter.from_config(fake_gosend.config()) as adapter:
        quote = adapter.quote(harness.quote_request())
        fake_gosend.fail("book", httpx.Response(200, json={
            "orderNo": None, "errorMessage": "Destination out of range", "errors": []}))
        with pytest.raises(PermanentProviderError, match="out of range"):
            adapter.book(harness.booking_request(quote))


def test_book_sends_our_reference_and_never_creates_when_the_lookup_fails(
        fake_gosend: FakeGoSend) -> None:
    harness = GoSendHarness(fake_gosend)
    with GoSendAdapter.from_config(fake_gosend.config()) as adapter:
        request = harness.booking_request(adapter.quote(harness.quote_request()))
        booking = adapter.book(request)
        sent = json.loads(fake_gosend.received[-1].content)
        assert sent["routes"][0]["storeOrderId"] == request.reference
        assert sent["routes"][0]["item"] == "Dokumen"
        assert booking.provider_order_id.startswith("GK-11-")
        fake_gosend.fail("lookup", httpx.Response(500))
        before = len(fake_gosend.orders)
        with pytest.raises(TransientProviderError):
            adapter.book(harness.booking_request(request.quote))
        assert len(fake_gosend.orders) == before


def test_status_poll_carries_driver_tracking_and_proof(fake_gosend: FakeGoSend) -> None:
    harness = GoSendHarness(fake_gosend)
    with GoSendAdapter.from_config(fake_gosend.config()) as adapter:
        booking = adapter.book(harness.booking_request(adapter.quote(harness.quote_request())))
        fake_gosend.advance(booking.provider_order_id, S.delivered)
        update = adapter.get_status(booking.provider_order_id)
    assert update.raw_status == "Completed" and update.status is S.delivered
    assert update.courier.plate == "B 4567 XYZ" and update.reference == booking.reference
    assert update.proof_urls == (f"https://proof/{booking.provider_order_id}.jpg",)


def test_enabled_needs_credentials() -> None:
    with pytest.raises(ValueError, match="PASS_KEY"):
        GoSendAdapter.from_config({"enabled": "true", "client_id": "x"})


def test_cli_quote_against_the_fake(fake_gosend: FakeGoSend, monkeypatch, capsys) -> None:
    for key, value in fake_gosend.config().items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__GOSEND__{key.upper()}", str(value))
    reset_settings_cache()
    try:
        code = main(["providers", "quote", "gosend", "--pickup", "-6.3925,106.8420",
                     "--dropoff", "-6.3952,106.8461"])
    finally:
        reset_settings_cache()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider     gosend" in out and "price        12500" in out


def test_wrong_pass_key_is_an_authentication_failure(fake_gosend: FakeGoSend) -> None:
    with GoSendAdapter.from_config(fake_gosend.config(pass_key="wrong")) as adapter, \
            pytest.raises(AuthenticationFailed):
        adapter.quote(GoSendHarness(fake_gosend).quote_request())
    sent = fake_gosend.received[-1]
    assert sent.headers["Client-ID"] == "sipoke-client" and sent.headers["Pass-Key"] == "wrong"
