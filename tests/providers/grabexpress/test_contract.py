"""GrabExpress passes the shared contract suite against the respx fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import ProviderAdapter
from providers.grabexpress import GrabExpressAdapter
from providers.status import DeliveryStatus
from providers.types import Booking, Money, Quote
from tests.providers.contract import ContractHarness, ProviderContract
from tests.providers.grabexpress.fake import FakeGrabExpress


class GrabExpressHarness(ContractHarness):
    # merchantOrderID is neither an idempotency key nor searchable.
    idempotent_booking = False
    # Static Authorization / Authorization-Id headers: they do not cover the body.
    webhook_body_signed = False

    def __init__(self, fake: FakeGrabExpress) -> None:
        self.fake = fake

    def adapter(self) -> ProviderAdapter:
        return GrabExpressAdapter.from_config(self.fake.config())

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        self.fake.advance(booking.provider_order_id, status)

    def expired_quote(self) -> Quote:
        return Quote(provider="grabexpress", provider_quote_id="grab-old",
                     price=Money(amount=16000),
                     expires_at=datetime.now(UTC) - timedelta(seconds=1))

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]]:
        return self.fake.webhook(booking.provider_order_id)


class TestGrabExpressContract(ProviderContract):
    @pytest.fixture
    def harness(self, fake_grab: FakeGrabExpress) -> GrabExpressHarness:
        return GrabExpressHarness(fake_grab)
