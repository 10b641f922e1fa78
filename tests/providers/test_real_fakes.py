"""The four real-provider fakes share one surface and one router (for end-to-end tests)."""

from __future__ import annotations

import httpx
import pytest
import respx

from providers.errors import TransientProviderError
from providers.grabexpress.client import clear_token_cache
from providers.registry import get_adapter
from providers.status import DeliveryStatus
from tests.providers.contract import ContractHarness
from tests.providers.real_fakes import FAKES, install_fake

S = DeliveryStatus


class _Requests(ContractHarness):
    def adapter(self):  # pragma: no cover - only the request builders are used
        raise NotImplementedError

    def advance_to(self, booking, status):  # pragma: no cover
        raise NotImplementedError

    def expired_quote(self):  # pragma: no cover
        raise NotImplementedError


def test_all_four_fakes_route_a_delivery_on_one_router() -> None:
    clear_token_cache()
    requests = _Requests()
    with respx.mock(assert_all_called=False) as router:
        fakes = {name: install_fake(name, router) for name in FAKES}
        config = {name: fake.config(enabled=True) for name, fake in fakes.items()}
        for name, fake in fakes.items():
            with get_adapter(name, config) as adapter:
                booking = adapter.book(requests.booking_request(
                    adapter.quote(requests.quote_request())))
                fake.advance(booking.provider_order_id, S.delivered)
                body, headers = fake.webhook(booking.provider_order_id)
                adapter.verify_webhook(body, headers)
                [update] = adapter.parse_webhook(body, headers)
                assert update.status is S.delivered, name
                assert adapter.get_status(booking.provider_order_id).status is S.delivered


@pytest.mark.parametrize("name", sorted(FAKES))
def test_injected_outages_are_transient(name: str) -> None:
    clear_token_cache()
    with respx.mock(assert_all_called=False) as router:
        fake = install_fake(name, router)
        endpoint = {"lalamove": "quote", "gosend": "price", "grabexpress": "quotes",
                    "biteship": "rates"}[name]
        fake.fail(endpoint, httpx.Response(503))
        with get_adapter(name, {name: fake.config()}) as adapter, \
                pytest.raises(TransientProviderError) as info:
            adapter.quote(_Requests().quote_request())
    assert info.value.outcome_unknown
