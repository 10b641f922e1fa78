"""A booking whose answer is lost (the provider made the order, then the connection timed out)
is never sent again to a provider that cannot look an order up by our reference: that would
make a second order (docs/architecture.md rule 2). The attempt waits, flagged for the
operator, who checks the provider's dashboard."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from core.db import unit_of_work, utcnow
from delivery.booking.service import book_attempt
from delivery.models import DeliveryAttempt
from delivery.sweeper import sweep
from providers.errors import TransientProviderError
from tests.delivery.conftest import attempts, load
from tests.delivery.helpers import choose_the_quote
from tests.providers.real_fakes import only_real_provider

# Providers with neither an idempotency key nor a lookup by our reference (docs/providers.md
# §7.1): the route that makes their orders, the fake's handler of it and its orders.
WITHOUT_LOOKUP = {"lalamove": ("/v3/orders", "_place_order", "orders"),
                  "grabexpress": ("/v1/deliveries", "_create", "deliveries"),
                  "biteship": ("/v1/orders", "_create", "orders")}


@pytest.mark.parametrize("name", sorted(WITHOUT_LOOKUP))
def test_a_lost_answer_is_never_booked_twice(name, client, demo, installed, outbox,
                                             monkeypatch):
    with only_real_provider(name, monkeypatch) as (router, fake):
        path, handler, orders_of = WITHOUT_LOOKUP[name]
        make_order = getattr(fake, handler)
        orders = getattr(fake, orders_of)

        def made_then_lost(request: httpx.Request) -> httpx.Response:
            make_order(request)
            raise httpx.ReadTimeout("the answer never came", request=request)

        # Replaces the fake's own route for the same pattern: the order is made, the answer
        # is lost.
        router.post(f"{fake.base_url}{path}").mock(side_effect=made_then_lost)
        did, _quote = choose_the_quote(client, demo, outbox)
        [attempt] = attempts(did)
        with pytest.raises(TransientProviderError) as lost:
            book_attempt(attempt.id)
        assert lost.value.outcome_unknown
        assert len(orders) == 1

        # The task's retry and the sweeper's re-drive both leave the provider alone.
        assert book_attempt(attempt.id) == "awaiting_provider"
        with unit_of_work() as s:  # time switch: the attempt looks stuck to the sweeper
            s.get(DeliveryAttempt, attempt.id).updated_at = utcnow() - timedelta(hours=1)
        with unit_of_work() as s:
            assert sweep(s)["rebooked"] == 1
        assert "delivery.book" in outbox()
        assert len(orders) == 1
        [attempt] = attempts(did)
        assert attempt.status == "unknown" and attempt.calls == 1
        delivery = load(did)
        assert delivery.alert == "booking_unknown" and delivery.state == "booking"


def test_a_call_that_never_left_is_booked_again(client, demo, installed, outbox, monkeypatch):
    with only_real_provider("lalamove", monkeypatch) as (_router, fake):
        fake.fail("order", httpx.Response(429, headers={"Retry-After": "1"}))
        did, _quote = choose_the_quote(client, demo, outbox)
        [attempt] = attempts(did)
        with pytest.raises(TransientProviderError) as refused:
            book_attempt(attempt.id)
        assert not refused.value.outcome_unknown  # a refusal: no order was made
        assert attempts(did)[0].status == "pending"
        assert book_attempt(attempt.id) == "booked"
        assert len(fake.orders) == 1
