"""Lalamove passes the shared contract suite against the respx fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import ProviderAdapter
from providers.lalamove import LalamoveAdapter
from providers.status import DeliveryStatus
from providers.types import Booking, Money, Quote
from tests.providers.contract import ContractHarness, ProviderContract
from tests.providers.lalamove.fake import FakeLalamove


class LalamoveHarness(ContractHarness):
    # No idempotency key, no search by metadata: see the adapter docstring.
    idempotent_booking = False
    # The apiKey and signature are inside the body; headers carry nothing to strip.
    webhook_auth_in_headers = False

    def __init__(self, fake: FakeLalamove) -> None:
        self.fake = fake

    def adapter(self) -> ProviderAdapter:
        return LalamoveAdapter.from_config(self.fake.config())

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        self.fake.advance(booking.provider_order_id, status)

    def expired_quote(self) -> Quote:
        with self.adapter() as adapter:
            quote = adapter.quote(self.quote_request())
        self.fake.expire_quotation(quote.provider_quote_id)
        # Still valid by our clock: the provider's refusal is what must be mapped.
        return quote.model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=1),
                                        "price": Money(amount=quote.price.amount)})

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]]:
        return self.fake.webhook(booking.provider_order_id)


class TestLalamoveContract(ProviderContract):
    @pytest.fixture
    def harness(self, fake_lalamove: FakeLalamove) -> LalamoveHarness:
        return LalamoveHarness(fake_lalamove)
