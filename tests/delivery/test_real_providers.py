"""A delivery routed through each real provider adapter (Lalamove, GoSend, GrabExpress,
Biteship) against its respx fake: quotes fan out, the resident chooses, a worker books
through the outbox, the provider's own webhook moves the delivery, a replay changes nothing.

Only the provider's HTTP is faked; our API, database and outbox tasks are real."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from delivery.models import TrackingEvent
from providers.status import DeliveryStatus
from tests.delivery.conftest import attempts, load
from tests.delivery.helpers import choose_the_quote
from tests.providers.real_fakes import FAKES, only_real_provider


def _events() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(TrackingEvent)) or 0


@pytest.mark.parametrize("name", sorted(FAKES))
def test_a_delivery_routes_through_each_real_provider(name, client, demo, installed, outbox,
                                                      monkeypatch):
    with only_real_provider(name, monkeypatch) as (_router, fake):
        did, quote = choose_the_quote(client, demo, outbox)
        assert quote["provider"] == name and quote["price"] > 0
        outbox()  # the booking

        [attempt] = attempts(did)
        assert attempt.provider == name and attempt.provider_order_id
        assert load(did).state == "searching_courier"

        fake.advance(attempt.provider_order_id, DeliveryStatus.courier_assigned)
        body, webhook_headers = fake.webhook(attempt.provider_order_id)
        response = client.post(f"/webhooks/{name}", content=body, headers=webhook_headers)
        assert response.status_code == 200, response.text
        outbox()  # tracking.apply
        assert load(did).state == "courier_assigned"

        stored = _events()
        replay = client.post(f"/webhooks/{name}", content=body, headers=webhook_headers)
        assert replay.status_code == 200
        assert _events() == stored  # the same event is kept once
        forged = client.post(f"/webhooks/{name}", content=body.replace(b"}", b' }', 1),
                             headers={"content-type": "application/json"})
        assert forged.status_code == 401
        assert load(did).state == "courier_assigned"
