"""A delivery routed through each real provider adapter (Lalamove, GoSend, GrabExpress,
Biteship) against its respx fake: quotes fan out, the resident chooses, a worker books
through the outbox, the provider's own webhook moves the delivery, a replay changes nothing.

Only the provider's HTTP is faked; our API, database and outbox tasks are real."""

from __future__ import annotations

import pytest
import respx
from sqlalchemy import func, select

from core.db import unit_of_work
from delivery.models import TrackingEvent
from providers.grabexpress.client import clear_token_cache
from providers.status import DeliveryStatus
from tests.delivery.conftest import SITI, ask_delivery, attempts, finished_request, load
from tests.providers.real_fakes import FAKES, install_fake, use_only


def _events() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(TrackingEvent)) or 0


@pytest.mark.parametrize("name", sorted(FAKES))
def test_a_delivery_routes_through_each_real_provider(name, client, demo, installed, outbox,
                                                      monkeypatch):
    clear_token_cache()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        fake = install_fake(name, router)
        use_only(monkeypatch, name, fake.config(enabled=True, priority=1))
        headers = demo.headers(SITI)

        created = ask_delivery(client, demo, finished_request(SITI))
        outbox()  # the quote fan-out
        view = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
        assert view["state"] == "awaiting_choice", view
        [quote] = view["quotes"]
        assert quote["provider"] == name and quote["price"] > 0
        chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=headers,
                             json={"quote_id": quote["id"]})
        assert chosen.status_code == 200, chosen.text
        outbox()  # the booking

        [attempt] = attempts(created["id"])
        assert attempt.provider == name and attempt.provider_order_id
        assert load(created["id"]).state == "searching_courier"

        fake.advance(attempt.provider_order_id, DeliveryStatus.courier_assigned)
        body, webhook_headers = fake.webhook(attempt.provider_order_id)
        response = client.post(f"/webhooks/{name}", content=body, headers=webhook_headers)
        assert response.status_code == 200, response.text
        outbox()  # tracking.apply
        assert load(created["id"]).state == "courier_assigned"

        stored = _events()
        replay = client.post(f"/webhooks/{name}", content=body, headers=webhook_headers)
        assert replay.status_code == 200
        assert _events() == stored  # the same event is kept once
        forged = client.post(f"/webhooks/{name}", content=body.replace(b"}", b' }', 1),
                             headers={"content-type": "application/json"})
        assert forged.status_code == 401
        assert load(created["id"]).state == "courier_assigned"
