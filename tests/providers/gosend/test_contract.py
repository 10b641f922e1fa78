"""GoSend passes the shared contract suite against the respx fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import ProviderAdapter
from providers.gosend import GoSendAdapter
from providers.status import DeliveryStatus
from providers.types import Booking, Money, Quote
from tests.providers.contract import ContractHarness, ProviderContract
from tests.providers.gosend.fake import FakeGoSend


class GoSendHarness(ContractHarness):
    # A static token in a header: it does not cover the body.
    webhook_body_signed = False

    def __init__(self, fake: FakeGoSend) -> None:
        self.fake = fake

    def adapter(self) -> ProviderAdapter:
        return GoSendAdapter.from_config(self.fake.config())

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        self.fake.advance(booking.provider_order_id, status)

    def expired_quote(self) -> Quote:
        # GoSend has no quote ids: validity is ours (quote_validity_s).
        return Quote(provider="gosend", provider_quote_id="gosend-old",
                     price=Money(amount=12500),
                     expires_at=datetime.now(UTC) - timedelta(seconds=1))

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]]:
        return self.fake.webhook(booking.provider_order_id)


class TestGoSendContract(ProviderContract):
    @pytest.fixture
    def harness(self, fake_gosend: FakeGoSend) -> GoSendHarness:
        return GoSendHarness(fake_gosend)
