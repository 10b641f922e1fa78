"""Lalamove webhooks: the computed vector, the real sample payloads, forged and replayed ones."""

from __future__ import annotations

import json
import time

import pytest

from providers.errors import WebhookRejected
from providers.lalamove import LalamoveAdapter, webhooks
from providers.lalamove.mapping import signature
from providers.status import DeliveryStatus, should_apply
from providers.types import TrackingUpdate
from tests.providers.lalamove.fake import FakeLalamove

S = DeliveryStatus
SECRET, KEY, PATH = "sk_test_Lalamove", "pk_test_Lalamove", "/webhooks/lalamove"
VECTOR_DATA = ('{"order":{"orderId":"3316227378875113604","status":"PICKED_UP",'
               '"previousStatus":"ON_GOING"},"updatedAt":"2025-09-10T19:21.00Z"}')
VECTOR_SIG = "5da82e769aa3d0f2d9e1fb8786282d558ee2cd7ae036f3337ecab9d3fe40b138"

# Real captures from public repos (docs/providers.md §1.6), byte for byte.
SAMPLE_STATUS = (
    b'{"apiKey":"pk_test_c68358d847953299e2993899f2370dbc","timestamp":1757503305,"signature":'
    b'"c09cda84c96d78892d00b3ad86bc78c2fea87eafa478469ba8d4c28110453f51","eventId":'
    b'"8B343F60-220B-4330-A242-61AFE4DA10B5","eventType":"ORDER_STATUS_CHANGED","eventVersion":'
    b'"v3","data":{"order":{"orderId":"3316227378875113604","scheduleAt":"2025-09-10T19:08.00Z",'
    b'"shareLink":"https://share.sandbox.lalamove.com?PH100250910190909430520010087055448&lang='
    b'en_PH&sign=bc88611da4c06955e9213ca165f87042&source=api_wrapper","market":"PH_MNL",'
    b'"createdAt":"2025-09-10T19:09.00Z","driverId":"80557","previousStatus":"ON_GOING",'
    b'"status":"PICKED_UP"},"updatedAt":"2025-09-10T19:21.00Z"}}')
SAMPLE_DRIVER = (
    b'{"apiKey":"pk_test_60230f8cf51f2a996389556d03eb9406","timestamp":1766915551,"signature":'
    b'"cf7a215ded4e25b6d7b852194d1280b65bdd8af34feb93002f057f494a0aba75","eventId":'
    b'"B35F478A-2136-4566-9430-C419C2A8762F","eventType":"DRIVER_ASSIGNED","eventVersion":"v3",'
    b'"data":{"driver":{"driverId":"80029","phone":"+6522211222","name":"TestDriver 11222",'
    b'"photo":"","plateNumber":"VP4388905"},"location":{"lng":114.1763239,"lat":22.3352951},'
    b'"order":{"orderId":"3394517965935702476"},"updatedAt":"2025-12-28T17:52.00Z"}}')


def vector_body(*, timestamp: int = 1757503305, data: str = VECTOR_DATA, sig: str = VECTOR_SIG,
                api_key: str = KEY, event_key: str = "eventId") -> bytes:
    return (f'{{"apiKey":"{api_key}","timestamp":{timestamp},"signature":"{sig}",'
            f'"{event_key}":"E-1","eventType":"ORDER_STATUS_CHANGED","eventVersion":"v3",'
            f'"data":{data}}}').encode()


def check(body: bytes, *, now: float = 1757503305 + 5, mode: str = "raw") -> None:
    webhooks.verify(body, api_key=KEY, api_secret=SECRET, path=PATH, now=now,
                    tolerance_s=900, mode=mode)


def parse(body: bytes) -> list[TrackingUpdate]:
    """A verified body as the webhook door parses it: through the adapter."""
    with LalamoveAdapter.from_config({}) as adapter:
        return adapter.parse_webhook(body, {})


def test_computed_vector() -> None:
    assert signature(SECRET, 1757503305, "POST", PATH, VECTOR_DATA.encode()) == VECTOR_SIG
    check(vector_body())
    check(vector_body(), mode="compact")
    check(vector_body(), mode="either")


def test_raw_data_is_cut_from_the_body_as_received() -> None:
    spaced = b'{ "a" : [1, {"b": "}"}] ,\n "data" :  {"x": 1.50, "y":"\\u00e9"} , "z": 2}'
    assert webhooks.raw_member(spaced.decode(), "data") == '{"x": 1.50, "y":"\\u00e9"}'
    assert webhooks.raw_member(spaced.decode(), "z") == "2"
    assert webhooks.raw_member("[1]", "data") is None
    assert webhooks.raw_member('{"a":1}', "data") is None


def test_real_samples_parse() -> None:
    [update] = parse(SAMPLE_STATUS)
    assert update.provider_order_id == "3316227378875113604"
    assert update.provider_event_id == "8B343F60-220B-4330-A242-61AFE4DA10B5"
    assert update.status is S.picked_up and update.raw_status == "PICKED_UP"
    assert update.occurred_at.timestamp() == 1757503305  # Unix seconds, not ms
    assert update.tracking_url.startswith("https://share.sandbox.lalamove.com")

    [driver] = parse(SAMPLE_DRIVER)
    assert driver.provider_order_id == "3394517965935702476"
    assert driver.status is S.courier_assigned
    assert driver.courier.name == "TestDriver 11222" and driver.courier.plate == "VP4388905"
    assert driver.courier.photo_url is None
    assert (driver.position.lat, driver.position.lng) == (22.3352951, 114.1763239)


def test_real_samples_are_refused_with_our_credentials() -> None:
    for sample in (SAMPLE_STATUS, SAMPLE_DRIVER):
        with pytest.raises(WebhookRejected, match="apiKey"):
            check(sample, now=json.loads(sample)["timestamp"])


@pytest.mark.parametrize("body", [
    vector_body(sig="0" * 64),                                          # forged signature
    vector_body(api_key="pk_test_someone_else"),                        # another account
    vector_body(data=VECTOR_DATA.replace("PICKED_UP", "COMPLETED", 1)),  # changed status
    vector_body(data=VECTOR_DATA.replace(",", ", ")),                    # re-serialized
    vector_body(sig=""),
    b'{"apiKey":"pk_test_Lalamove","data":{}}',
    b"not json",
    b"[1, 2]",
])
def test_forged_webhooks_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        check(body)


def test_signature_with_another_secret_is_refused() -> None:
    sig = signature("sk_test_attacker", 1757503305, "POST", PATH, VECTOR_DATA.encode())
    with pytest.raises(WebhookRejected, match="signature"):
        check(vector_body(sig=sig))


def test_stale_or_future_timestamps_are_refused() -> None:
    with pytest.raises(WebhookRejected, match="tolerance"):
        check(vector_body(), now=1757503305 + 901)
    with pytest.raises(WebhookRejected, match="tolerance"):
        check(vector_body(), now=1757503305 - 901)


def test_a_replay_within_the_window_has_the_same_event_id() -> None:
    first, again = parse(vector_body()), parse(vector_body())
    assert first[0].provider_event_id == again[0].provider_event_id == "E-1"
    [capital] = parse(vector_body(event_key="eventID"))
    assert capital.provider_event_id == "E-1"


def test_empty_probe_passes_and_carries_nothing() -> None:
    for probe in (b"", b"  ", b"{}"):
        check(probe)
        assert parse(probe) == []


def test_untracked_events_give_no_updates() -> None:
    for event in ("WALLET_BALANCE_CHANGED", "ORDER_AMOUNT_CHANGED", "ORDER_EDITED"):
        body = json.dumps({"eventId": "x", "eventType": event, "timestamp": 1,
                           "data": {"order": {"orderId": "1"}}}).encode()
        assert parse(body) == []


def test_order_created_carries_our_reference_and_pod_carries_proof() -> None:
    created = json.dumps({"eventId": "c1", "eventType": "ORDER_CREATED", "timestamp": 1757503305,
                          "data": {"order": {"orderId": "3316227378875113604",
                                             "metadata": {"reference": "att-1234567890"}}}})
    [update] = parse(created.encode())
    assert update.reference == "att-1234567890" and update.status is S.searching_courier
    pod = json.dumps({"eventId": "p1", "eventType": "POD_STATUS_CHANGED", "timestamp": 1757503305,
                      "data": {"order": {"orderId": "1", "stops": [
                          {"stopId": "a"},
                          {"stopId": "b", "POD": {"status": "DELIVERED",
                                                  "image": "https://pod/1.jpg",
                                                  "deliveredAt": "2025-09-10T19:30.00Z"}}]}}})
    [proof] = parse(pod.encode())
    assert proof.proof_urls == ("https://pod/1.jpg",) and proof.status is S.at_dropoff
    assert proof.provider_event_id == "p1:b"  # one id per stop of the event


def test_driver_rejection_goes_backwards_and_is_not_applied(fake_lalamove: FakeLalamove
                                                            ) -> None:
    with LalamoveAdapter.from_config(fake_lalamove.config()) as adapter:
        order_id = _booked(adapter, fake_lalamove)
        fake_lalamove.set_status(order_id, "ON_GOING")
        assigned = adapter.get_status(order_id)
        fake_lalamove.set_status(order_id, "ASSIGNING_DRIVER")  # the driver dropped out
        body, headers = fake_lalamove.webhook(order_id)
        adapter.verify_webhook(body, headers)
        [back] = adapter.parse_webhook(body, headers)
    assert back.status is S.searching_courier and back.raw_status == "ASSIGNING_DRIVER"
    assert not should_apply(assigned.status, back.status)
    assert assigned.courier is not None


def test_adapter_verifies_the_fake_webhooks_and_refuses_a_stale_replay(
        fake_lalamove: FakeLalamove) -> None:
    with LalamoveAdapter.from_config(fake_lalamove.config()) as adapter:
        order_id = _booked(adapter, fake_lalamove)
        body, headers = fake_lalamove.webhook(order_id)
        adapter.verify_webhook(body, headers)
        old, _ = fake_lalamove.webhook(order_id, timestamp=int(time.time()) - 3600)
        with pytest.raises(WebhookRejected, match="tolerance"):
            adapter.verify_webhook(old, headers)


def _booked(adapter: LalamoveAdapter, fake: FakeLalamove) -> str:
    from tests.providers.lalamove.test_contract import LalamoveHarness

    harness = LalamoveHarness(fake)
    return adapter.book(harness.booking_request(adapter.quote(harness.quote_request())))\
        .provider_order_id


def test_a_replaced_order_names_the_new_order_and_the_old_one() -> None:
    body = json.dumps({"eventId": "r1", "eventType": "ORDER_REPLACED", "timestamp": 1757503305,
                       "data": {"order": {"orderId": "3316227378875119999",
                                          "metadata": {"reference": "att-1234567890"}},
                                "prevOrderId": "3316227378875113604"}})
    [update] = parse(body.encode())
    assert update.provider_order_id == "3316227378875119999"
    assert update.reference == "att-1234567890"
    assert update.failure_reason == "replaces Lalamove order 3316227378875113604"
