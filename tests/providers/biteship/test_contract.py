"""Biteship passes the shared contract suite against the respx fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import ProviderAdapter
from providers.biteship import BiteshipAdapter
from providers.status import DeliveryStatus
from providers.types import Booking, Money, Quote
from tests.providers.biteship.fake import FakeBiteship
from tests.providers.contract import ContractHarness, ProviderContract


class BiteshipHarness(ContractHarness):
    # reference_id is neither an idempotency key nor documented as searchable.
    idempotent_booking = False
    # A static custom header: it does not cover the body.
    webhook_body_signed = False

    def __init__(self, fake: FakeBiteship) -> None:
        self.fake = fake

    def adapter(self) -> ProviderAdapter:
        return BiteshipAdapter.from_config(self.fake.config())

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        self.fake.advance(booking.provider_order_id, status)

    def expired_quote(self) -> Quote:
        return Quote(provider="biteship", provider_quote_id="gojek/instant/old",
                     price=Money(amount=13500),
                     expires_at=datetime.now(UTC) - timedelta(seconds=1))

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]]:
        return self.fake.webhook(booking.provider_order_id)


class TestBiteshipContract(ProviderContract):
    @pytest.fixture
    def harness(self, fake_biteship: FakeBiteship) -> BiteshipHarness:
        return BiteshipHarness(fake_biteship)
