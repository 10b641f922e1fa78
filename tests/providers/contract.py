"""The provider contract suite: the behaviour every adapter must show, whatever the provider.

Structure
---------
* :class:`ContractHarness` says how to drive ONE adapter in tests: build it, make requests
  that suit it, and move an order forward (``advance_to``) - by waiting on the sandbox
  simulator, by courier reports for the in-house provider, or by changing the state of a
  respx fake for a real HTTP adapter.
* :class:`ProviderContract` holds the tests. A test module subclasses it and provides a
  ``harness`` fixture; pytest collects every inherited test for that adapter.

Plugging in a new adapter (e.g. Lalamove) with a respx fake
-----------------------------------------------------------
1. Write a small stateful fake of the provider's API: a class holding quotes and orders in
   dicts, with one method per endpoint taking an ``httpx.Request`` and returning an
   ``httpx.Response`` in the provider's real JSON shapes (as its public API
   documentation gives them). Route it with respx::

       @pytest.fixture
       def fake_lalamove():
           fake = FakeLalamove()
           with respx.mock(base_url="https://rest.sandbox.lalamove.com",
                           assert_all_called=False) as router:
               router.post("/v3/quotations").mock(side_effect=fake.quote)
               router.post("/v3/orders").mock(side_effect=fake.place_order)
               router.get(path__regex=r"/v3/orders/(?P<oid>\\d+)").mock(side_effect=fake.order)
               router.delete(path__regex=r"/v3/orders/(?P<oid>\\d+)").mock(side_effect=fake.cancel)
               yield fake

2. Subclass :class:`ContractHarness`: ``adapter()`` builds the adapter from a config dict
   (``LalamoveAdapter.from_config({"base_url": ..., "api_key": ..., ...})``);
   ``advance_to(booking, status)`` sets the fake order to the provider's raw status for
   ``status`` (plus a driver once assigned); ``expired_quote()`` returns a Quote the fake
   refuses (``ERR_INVALID_QUOTATION_ID``); ``webhook(booking)`` returns ``(body, headers)``
   signed the way the provider signs, or ``None`` when the adapter has no webhooks.
   Set the class flags that describe what the provider cannot do by design
   (``idempotent_booking``, ``webhook_body_signed``, ``webhook_auth_in_headers``).
   Override ``quote_request``/``booking_request`` only if the defaults (Kelurahan
   Mekarjaya office -> a resident 500 m away, motorcycle) do not suit the provider.
3. Add ``tests/providers/test_<name>_contract.py``::

       class TestLalamoveContract(ProviderContract):
           @pytest.fixture
           def harness(self, fake_lalamove):
               return LalamoveHarness(fake_lalamove)

   Tests a provider cannot support by design are skipped by the suite itself from the
   adapter's declared ``capabilities`` (no lookup by reference -> expects
   CapabilityNotSupported; no webhooks -> expects CapabilityNotSupported).
"""

from __future__ import annotations

import json
import threading
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

import pytest

from providers import registry
from providers.base import Capabilities, ProviderAdapter, ProviderSettings
from providers.errors import (
    CancelNotAllowed,
    CapabilityNotSupported,
    OrderNotFound,
    OutOfServiceArea,
    QuoteExpired,
    WebhookRejected,
)
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    Coordinates,
    Money,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    VehicleType,
)

OFFICE = Coordinates(lat=-6.3925, lng=106.8420)  # Kelurahan Mekarjaya, Depok
RESIDENT = Coordinates(lat=-6.3952, lng=106.8461)  # ~540 m away
FAR_AWAY = Coordinates(lat=-7.2575, lng=112.7521)  # Surabaya

S = DeliveryStatus


def new_reference() -> str:
    return f"att-{uuid.uuid4().hex[:16]}"


class ContractHarness(ABC):
    """How the contract suite drives one adapter (see the module docstring)."""

    office_id: str | None = None
    # Provider facts some tests depend on; the defaults suit an API that is idempotent (or
    # searchable) on our reference and signs webhooks with an HMAC carried in headers.
    #: False where the API has neither an idempotency key nor a lookup by our reference
    #: (Lalamove, GrabExpress, Biteship): the adapter cannot deduplicate a second booking;
    #: the delivery side resolves unknown outcomes instead (docs/architecture.md rule 2).
    idempotent_booking: bool = True
    #: False for static shared-token webhooks (GoSend, GrabExpress, Biteship): the token does
    #: not cover the body, so a changed body carrying a valid token cannot be detected.
    webhook_body_signed: bool = True
    #: False where the proof lives inside the body (Lalamove's apiKey and signature).
    webhook_auth_in_headers: bool = True

    @abstractmethod
    def adapter(self) -> ProviderAdapter:
        """A ready adapter talking to the test double (server, fake or database)."""

    @abstractmethod
    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        """Move the order until the provider reports ``status`` (or a later one)."""

    @abstractmethod
    def expired_quote(self) -> Quote:
        """A quote the provider no longer honours."""

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]] | None:
        """A genuine webhook about ``booking`` as (raw body, headers); None: no webhooks."""
        return None

    def quote_request(self, dropoff: Coordinates = RESIDENT,
                      vehicle: VehicleType = VehicleType.motorcycle) -> QuoteRequest:
        return QuoteRequest(pickup=Place(coordinates=OFFICE, address="Kantor Kelurahan"),
                            dropoff=Place(coordinates=dropoff, address="Jl. Kenanga No. 5"),
                            vehicle=vehicle, office_id=self.office_id)

    def booking_request(self, quote: Quote, reference: str | None = None) -> BookingRequest:
        return BookingRequest(
            reference=reference or new_reference(), quote=quote, office_id=self.office_id,
            pickup=Stop(coordinates=OFFICE, address="Jl. Tole Iskandar No. 1",
                        name="Kelurahan Mekarjaya", phone="+622177820000",
                        note="Loket antar dokumen"),
            dropoff=Stop(coordinates=RESIDENT, address="Jl. Kenanga No. 5", name="Siti Aminah",
                         phone="+6281234560001", note="Rumah pagar hijau"),
        )


class ProviderContract:
    """Every adapter passes these. Subclass and provide a ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> ContractHarness:
        raise NotImplementedError("provide a harness fixture")

    @pytest.fixture
    def adapter(self, harness: ContractHarness):
        with harness.adapter() as adapter:
            yield adapter

    def book(self, harness: ContractHarness, adapter: ProviderAdapter,
             reference: str | None = None) -> Booking:
        return adapter.book(harness.booking_request(adapter.quote(harness.quote_request()),
                                                    reference))

    # --- declaration -----------------------------------------------------------------------

    def test_declares_name_settings_and_capabilities(self, adapter: ProviderAdapter) -> None:
        assert adapter.name == adapter.name.lower() and adapter.name.isidentifier()
        assert adapter.display_name
        assert issubclass(adapter.settings_model, ProviderSettings)
        assert isinstance(adapter.capabilities, Capabilities)
        assert adapter.capabilities.vehicle_types
        assert all(not s.is_terminal for s in adapter.capabilities.cancellable_statuses)
        assert registry.adapter_class(adapter.name) is type(adapter)

    # --- quotes ------------------------------------------------------------------------------

    def test_quote_is_priced_in_rupiah_and_expires(self, harness: ContractHarness,
                                                   adapter: ProviderAdapter) -> None:
        quote = adapter.quote(harness.quote_request())
        now = datetime.now(UTC)
        assert quote.provider == adapter.name
        assert quote.provider_quote_id
        assert isinstance(quote.price.amount, int) and quote.price.amount >= 0
        assert quote.price.currency == "IDR"
        assert quote.expires_at > now
        validity = adapter.capabilities.quote_validity_s
        if validity:
            assert quote.expires_at <= now + timedelta(seconds=validity + 5)

    def test_quotes_can_be_fanned_out_over_threads(self, harness: ContractHarness,
                                                   adapter: ProviderAdapter) -> None:
        results: list[Quote | BaseException] = []

        def ask() -> None:
            try:
                results.append(adapter.quote(harness.quote_request()))
            except BaseException as exc:  # collected and asserted below
                results.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert len(results) == 4
        assert all(isinstance(r, Quote) for r in results), results
        assert len({r.provider_quote_id for r in results}) == 4  # type: ignore[union-attr]

    def test_quote_beyond_service_area_is_refused(self, harness: ContractHarness,
                                                  adapter: ProviderAdapter) -> None:
        with pytest.raises(OutOfServiceArea):
            adapter.quote(harness.quote_request(dropoff=FAR_AWAY))

    def test_quote_for_unoffered_vehicle_is_not_supported(self, harness: ContractHarness,
                                                          adapter: ProviderAdapter) -> None:
        missing = [v for v in VehicleType if v not in adapter.capabilities.vehicle_types]
        if not missing:
            pytest.skip("offers every vehicle type")
        with pytest.raises(CapabilityNotSupported):
            adapter.quote(harness.quote_request(vehicle=missing[0]))

    def test_scheduled_quote_only_where_declared(self, harness: ContractHarness,
                                                 adapter: ProviderAdapter) -> None:
        if adapter.capabilities.scheduled:
            pytest.skip("declares scheduled pickups")
        request = harness.quote_request().model_copy(
            update={"scheduled_at": datetime.now(UTC) + timedelta(hours=2)})
        with pytest.raises(CapabilityNotSupported):
            adapter.quote(request)

    # --- booking -----------------------------------------------------------------------------

    def test_book_creates_an_order_for_our_reference(self, harness: ContractHarness,
                                                     adapter: ProviderAdapter) -> None:
        reference = new_reference()
        booking = self.book(harness, adapter, reference)
        assert booking.provider == adapter.name
        assert booking.provider_order_id
        assert booking.reference == reference
        assert booking.status in {S.booked, S.searching_courier, S.courier_assigned}
        assert booking.raw_status

    def test_book_is_idempotent_on_reference(self, harness: ContractHarness,
                                             adapter: ProviderAdapter) -> None:
        if not harness.idempotent_booking:
            assert not adapter.capabilities.lookup_by_reference, \
                "an adapter that can look its reference up must book idempotently"
            pytest.skip("no idempotency key and no lookup by reference")
        reference = new_reference()
        first = self.book(harness, adapter, reference)
        again = self.book(harness, adapter, reference)  # a retry, even with a fresh quote
        assert again.provider_order_id == first.provider_order_id
        other = self.book(harness, adapter)
        assert other.provider_order_id != first.provider_order_id

    def test_book_with_expired_quote_is_refused(self, harness: ContractHarness,
                                                adapter: ProviderAdapter) -> None:
        request = harness.booking_request(harness.expired_quote())
        with pytest.raises(QuoteExpired):
            adapter.book(request)
        if adapter.capabilities.lookup_by_reference:
            assert adapter.find_by_reference(request.reference) is None

    def test_book_refuses_cash_and_pin_unless_declared(self, harness: ContractHarness,
                                                      adapter: ProviderAdapter) -> None:
        capabilities = adapter.capabilities
        if capabilities.cash_on_delivery and capabilities.pin_proof:
            pytest.skip("declares cash on delivery and PIN proof")
        request = harness.booking_request(adapter.quote(harness.quote_request()))
        if not capabilities.cash_on_delivery:
            with pytest.raises(CapabilityNotSupported):
                adapter.book(request.model_copy(
                    update={"cash_on_delivery": Money(amount=25_000)}))
        if not capabilities.pin_proof:
            with pytest.raises(CapabilityNotSupported):
                adapter.book(request.model_copy(update={"require_pin": True}))
        if capabilities.lookup_by_reference:
            assert adapter.find_by_reference(request.reference) is None

    def test_find_by_reference_resolves_unknown_outcomes(self, harness: ContractHarness,
                                                         adapter: ProviderAdapter) -> None:
        if not adapter.capabilities.lookup_by_reference:
            with pytest.raises(CapabilityNotSupported):
                adapter.find_by_reference(new_reference())
            return
        booking = self.book(harness, adapter)
        found = adapter.find_by_reference(booking.reference)
        assert found is not None
        assert found.provider_order_id == booking.provider_order_id
        assert adapter.find_by_reference(new_reference()) is None

    # --- status --------------------------------------------------------------------------------

    def test_get_status_reports_the_order(self, harness: ContractHarness,
                                          adapter: ProviderAdapter) -> None:
        booking = self.book(harness, adapter)
        update = adapter.get_status(booking.provider_order_id)
        assert isinstance(update, TrackingUpdate)
        assert update.provider == adapter.name
        assert update.provider_order_id == booking.provider_order_id
        assert update.occurred_at.tzinfo is not None
        assert update.raw_status
        again = adapter.get_status(booking.provider_order_id)
        if again.status == update.status:  # an unchanged state is the same event
            assert again.provider_event_id == update.provider_event_id

    def test_get_status_of_unknown_order(self, adapter: ProviderAdapter) -> None:
        with pytest.raises(OrderNotFound):
            adapter.get_status(str(uuid.uuid4()))

    def test_lifecycle_reaches_delivered_with_a_courier(self, harness: ContractHarness,
                                                        adapter: ProviderAdapter) -> None:
        booking = self.book(harness, adapter)
        harness.advance_to(booking, S.picked_up)
        moving = adapter.get_status(booking.provider_order_id)
        assert moving.status.rank >= S.picked_up.rank and not moving.status.is_terminal
        assert moving.courier is not None and moving.courier.name
        harness.advance_to(booking, S.delivered)
        done = adapter.get_status(booking.provider_order_id)
        assert done.status is S.delivered
        assert done.provider_event_id != moving.provider_event_id

    # --- cancel --------------------------------------------------------------------------------

    def test_cancel_before_pickup_is_idempotent(self, harness: ContractHarness,
                                                adapter: ProviderAdapter) -> None:
        booking = self.book(harness, adapter)
        adapter.cancel(booking.provider_order_id, reason="warga memilih ambil sendiri")
        assert adapter.get_status(booking.provider_order_id).status is S.cancelled
        adapter.cancel(booking.provider_order_id)  # again: no error
        assert adapter.get_status(booking.provider_order_id).status is S.cancelled

    def test_cancel_after_pickup_is_refused(self, harness: ContractHarness,
                                            adapter: ProviderAdapter) -> None:
        assert S.picked_up not in adapter.capabilities.cancellable_statuses
        booking = self.book(harness, adapter)
        harness.advance_to(booking, S.picked_up)
        with pytest.raises(CancelNotAllowed):
            adapter.cancel(booking.provider_order_id)
        assert adapter.get_status(booking.provider_order_id).status is not S.cancelled

    def test_cancel_unknown_order(self, adapter: ProviderAdapter) -> None:
        with pytest.raises(OrderNotFound):
            adapter.cancel(str(uuid.uuid4()))

    # --- webhooks --------------------------------------------------------------------------------

    def test_webhook_verifies_and_parses(self, harness: ContractHarness,
                                         adapter: ProviderAdapter) -> None:
        if not adapter.capabilities.webhooks:
            assert not adapter.webhooks_configured()  # its webhook door stays closed (404)
            with pytest.raises(CapabilityNotSupported):
                adapter.verify_webhook(b"{}", {})
            return
        # Configured with its webhook secrets, so the door is open once the provider is on.
        assert adapter.webhooks_configured()
        booking = self.book(harness, adapter)
        hook = harness.webhook(booking)
        assert hook is not None, "capabilities say webhooks: the harness must give one"
        body, headers = hook
        adapter.verify_webhook(body, headers)
        adapter.verify_webhook(body, {k.lower(): v for k, v in headers.items()})
        updates = adapter.parse_webhook(body, headers)
        assert updates
        for update in updates:
            assert update.provider == adapter.name
            assert update.provider_order_id == booking.provider_order_id
            assert update.provider_event_id
            assert update.occurred_at.tzinfo is not None

    def test_webhook_with_tampered_body_is_rejected(self, harness: ContractHarness,
                                                    adapter: ProviderAdapter) -> None:
        if not adapter.capabilities.webhooks:
            pytest.skip("no webhooks")
        hook = harness.webhook(self.book(harness, adapter))
        assert hook is not None
        body, headers = hook
        data = json.loads(body)
        tampered = json.dumps({**data, "forged": True}).encode()
        if harness.webhook_body_signed:
            with pytest.raises(WebhookRejected):
                adapter.verify_webhook(tampered, headers)
        if harness.webhook_auth_in_headers:
            with pytest.raises(WebhookRejected):
                adapter.verify_webhook(body, {})
