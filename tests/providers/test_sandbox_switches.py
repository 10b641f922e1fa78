"""Each sandbox failure switch, demonstrated against the live server over HTTP."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from providers.errors import PermanentProviderError, TransientProviderError
from providers.sandbox.adapter import SandboxAdapter
from providers.sandbox.server import SandboxServer
from providers.status import DeliveryStatus, resolve
from providers.types import Booking
from tests.providers.conftest import (
    API_KEY,
    SandboxAdmin,
    WebhookReceiver,
    sandbox_adapter_config,
    sandbox_config,
)
from tests.providers.contract import RESIDENT, new_reference
from tests.providers.harnesses import SandboxHarness

S = DeliveryStatus


@pytest.fixture
def harness(sandbox, sandbox_admin, receiver) -> SandboxHarness:
    return SandboxHarness(sandbox, sandbox_admin, receiver)


def adapter_for(server: SandboxServer, **extra: object) -> SandboxAdapter:
    return SandboxAdapter.from_config(sandbox_adapter_config(server, **extra))


def book(harness: SandboxHarness, adapter: SandboxAdapter, reference: str | None = None
         ) -> Booking:
    return adapter.book(harness.booking_request(adapter.quote(harness.quote_request()),
                                                reference))


def statuses_for(receiver: WebhookReceiver, order_id: str) -> list[str]:
    return [b["order"]["status"] for b in receiver.bodies()
            if b["order"]["order_id"] == order_id and b["type"] == "order.status"]


def run_to_end(harness: SandboxHarness, booking: Booking, last: str) -> list[str]:
    harness.admin.switches(time_scale=2000)
    return harness.receiver.wait_for(
        lambda _: last in statuses_for(harness.receiver, booking.provider_order_id))


def test_latency_slows_every_call_and_trips_short_timeouts(harness, sandbox) -> None:
    harness.admin.switches(latency_ms=300)
    with adapter_for(sandbox) as adapter:
        started = time.monotonic()
        adapter.quote(harness.quote_request())
        assert time.monotonic() - started >= 0.3
    with adapter_for(sandbox, read_timeout=0.1) as impatient, \
            pytest.raises(TransientProviderError) as err:
        impatient.quote(harness.quote_request())
    assert err.value.outcome_unknown


def test_error_rate_answers_503_then_recovers(harness, sandbox) -> None:
    harness.admin.switches(error_rate=1.0)
    with adapter_for(sandbox) as adapter:
        with pytest.raises(TransientProviderError) as err:
            adapter.quote(harness.quote_request())
        assert err.value.status_code == 503
        harness.admin.switches(error_rate=0.0)
        assert adapter.quote(harness.quote_request()).price.amount > 0


def test_rate_limit_answers_429_with_retry_after(harness, sandbox) -> None:
    harness.admin.switches(rate_limit_rate=1.0, retry_after_s=3)
    with adapter_for(sandbox) as adapter, pytest.raises(TransientProviderError) as err:
        adapter.quote(harness.quote_request())
    assert err.value.status_code == 429
    assert err.value.retry_after == 3


def test_hang_after_accept_creates_the_order_but_times_out(harness, sandbox) -> None:
    harness.admin.switches(hang_after_accept_rate=1.0, hang_seconds=1.0)
    reference = new_reference()
    with adapter_for(sandbox, read_timeout=0.3) as adapter:
        quote = adapter.quote(harness.quote_request())
        with pytest.raises(TransientProviderError) as err:
            adapter.book(harness.booking_request(quote, reference))
        assert err.value.outcome_unknown  # the order may exist: look it up, never re-create
        found = adapter.find_by_reference(reference)
        assert found is not None
        again = adapter.book(harness.booking_request(quote, reference))  # answered at once
        assert again.provider_order_id == found.provider_order_id
    assert len(harness.server.simulator.orders) == 1


def test_no_courier_ends_the_order(harness, sandbox, receiver) -> None:
    harness.admin.switches(no_courier_rate=1.0)
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        run_to_end(harness, booking, "NO_DRIVER")
        final = adapter.get_status(booking.provider_order_id)
    assert final.status is S.no_courier and final.failure_reason
    assert final.courier is None
    assert statuses_for(receiver, booking.provider_order_id) == ["CREATED", "ALLOCATING",
                                                                 "NO_DRIVER"]


def test_failed_dropoff_returns_the_envelope(harness, sandbox, receiver) -> None:
    harness.admin.switches(failed_dropoff_rate=1.0)
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        run_to_end(harness, booking, "RETURNED")
        final = adapter.get_status(booking.provider_order_id)
    seen = statuses_for(receiver, booking.provider_order_id)
    assert seen[-3:] == ["AT_DROPOFF", "RETURNING", "RETURNED"]
    assert "COMPLETED" not in seen
    assert final.status is S.returned
    assert final.failure_reason == "Penerima tidak ada di tempat"
    assert final.position is not None
    assert final.position.distance_m(harness.quote_request().pickup.coordinates) < 5


def test_duplicate_webhooks_send_every_event_twice(harness, sandbox, receiver) -> None:
    harness.admin.switches(duplicate_webhooks=True)
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        run_to_end(harness, booking, "COMPLETED")
        receiver.wait_for(lambda bodies: statuses_for(receiver, booking.provider_order_id)
                          .count("COMPLETED") == 2)
    counts = Counter(b["event_id"] for b in receiver.bodies())
    assert counts and set(counts.values()) == {2}


def test_out_of_order_webhooks_still_resolve_to_the_final_state(harness, sandbox, receiver
                                                                ) -> None:
    harness.admin.switches(out_of_order_webhooks=True)
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        run_to_end(harness, booking, "COMPLETED")
        receiver.wait_for(lambda _: len(statuses_for(receiver, booking.provider_order_id)) == 8)
        with receiver.lock:
            hooks = [(r.body, r.headers) for r in receiver.received]
        updates = [u for body, headers in hooks for u in adapter.parse_webhook(body, headers)]
    ranks = [u.status.rank for u in updates]
    assert ranks != sorted(ranks), "events should arrive out of order"
    assert len({u.provider_event_id for u in updates}) == 8  # nothing lost
    assert resolve(u.status for u in updates) is S.delivered


def test_webhooks_are_signed_and_retried_until_accepted(harness, sandbox, receiver) -> None:
    receiver.fail_next = 2
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        receiver.wait_for(lambda _: statuses_for(receiver, booking.provider_order_id))
        with receiver.lock:
            first = receiver.received[0]
        adapter.verify_webhook(first.body, first.headers)
        receiver.wait_for(lambda _: len(statuses_for(receiver, booking.provider_order_id)) == 2)
    log = harness.admin.webhook_log()
    assert all(d["delivered"] for d in log)
    # The receiver refused the first two attempts; each was retried until it got a 2xx.
    assert sum(d["attempts"] for d in log) == len(log) + 2
    assert first.path == "/webhooks/sandbox"


def test_webhook_delivery_gives_up_after_max_attempts(receiver: WebhookReceiver) -> None:
    receiver.fail_next = 100
    config = sandbox_config(receiver, webhook_max_attempts=3, webhook_retry_base_s=0.01)
    with SandboxServer(config).running() as server:
        admin = SandboxAdmin(server)
        harness = SandboxHarness(server, admin, receiver)
        with adapter_for(server) as adapter:
            book(harness, adapter)
        deadline = time.monotonic() + 5
        while not all(d["gave_up"] for d in admin.webhook_log() or [{"gave_up": False}]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert {d["attempts"] for d in admin.webhook_log()} == {3}
        admin.client.close()


def test_courier_position_moves_towards_the_pickup(harness, sandbox) -> None:
    with adapter_for(sandbox) as adapter:
        booking = book(harness, adapter)
        harness.advance_to(booking, S.courier_assigned)
        pickup = harness.quote_request().pickup.coordinates
        first = adapter.get_status(booking.provider_order_id)
        harness.admin.switches(time_scale=100)
        time.sleep(0.3)
        second = adapter.get_status(booking.provider_order_id)
        harness.admin.switches(time_scale=0.001)
    assert first.status is S.courier_assigned and second.status is S.courier_assigned
    assert first.position is not None and second.position is not None
    assert second.position.distance_m(pickup) < first.position.distance_m(pickup)
    assert first.courier is not None and first.courier.plate


def test_location_pings_while_moving(receiver: WebhookReceiver) -> None:
    with SandboxServer(sandbox_config(receiver, location_ping_s=10, time_scale=200)
                       ).running() as server:
        harness = SandboxHarness(server, SandboxAdmin(server), receiver)
        with adapter_for(server) as adapter:
            booking = book(harness, adapter)
            receiver.wait_for(lambda bodies: sum(b["type"] == "order.location" for b in bodies)
                              >= 2)
            pings = [b for b in receiver.bodies() if b["type"] == "order.location"]
            [update] = adapter.parse_webhook(
                next(r.body for r in receiver.received if b'"order.location"' in r.body), {})
        assert all(p["order"]["order_id"] == booking.provider_order_id for p in pings)
        assert update.position is not None
        harness.admin.client.close()


def test_switches_at_start_up_and_validation_at_run_time(receiver: WebhookReceiver) -> None:
    with SandboxServer(sandbox_config(receiver, error_rate=1.0)).running() as server:
        admin = SandboxAdmin(server)
        assert admin.client.get("/v1/admin/switches").json()["error_rate"] == 1.0
        bad = admin.client.patch("/v1/admin/switches", json={"error_rate": 2})
        assert bad.status_code == 422
        unknown = admin.client.patch("/v1/admin/switches", json={"explode": True})
        assert unknown.status_code == 422
        assert admin.client.get("/v1/admin/switches",
                                headers={"Authorization": "Bearer nope"}).status_code == 401
        harness = SandboxHarness(server, admin, receiver)
        with adapter_for(server) as adapter, pytest.raises(TransientProviderError):
            adapter.quote(harness.quote_request())
        admin.client.close()


@pytest.mark.parametrize("nik", ["3276015708900001", "3276 0157 0890 0001",
                                 "3276.0157.0890.0001", "3276-0157-0890-0001",
                                 "32.76.01 570890-0001"])
def test_identity_numbers_in_notes_are_refused(harness, sandbox, nik) -> None:
    with adapter_for(sandbox) as adapter:
        request = harness.booking_request(adapter.quote(harness.quote_request()))
        # model_copy skips validation: the stop reaches the wire as written.
        leaky = request.model_copy(update={"dropoff": request.dropoff.model_copy(
            update={"note": f"NIK {nik}"})})
        with pytest.raises(PermanentProviderError, match="identity"):
            adapter.book(leaky)


def test_wrong_api_key_is_an_authentication_failure(sandbox) -> None:
    from providers.errors import AuthenticationFailed
    from providers.types import Coordinates, Place, QuoteRequest

    with adapter_for(sandbox, api_key="wrong") as adapter, pytest.raises(AuthenticationFailed):
        adapter.quote(QuoteRequest(pickup=Place(coordinates=RESIDENT),
                                   dropoff=Place(coordinates=Coordinates(lat=-6.4, lng=106.85))))
    assert API_KEY != "wrong"
