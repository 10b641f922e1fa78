"""The demo seed steps: every office has its catalog, and Siti has a finished request to try
the pickup-or-delivery choice with. Both are idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from core.catalog.template import template_services
from core.db import unit_of_work
from core.models import DocumentRequest, Service
from core.requests.demo import seed_catalogs, seed_finished_request
from tests.core.request_helpers import SITI, api, ok


def test_demo_steps_are_idempotent_and_give_siti_a_finished_request(client, demo, settings):
    with unit_of_work() as s:
        seed_finished_request(s, settings)  # skipped in tests unless forced
        assert s.scalar(select(func.count(DocumentRequest.id))) == 0
    for _ in range(2):
        with unit_of_work() as s:
            seed_catalogs(s, settings)
            seed_finished_request(s, settings, force=True)
    with unit_of_work() as s:
        assert s.scalar(select(func.count(Service.id))) == 2 * len(template_services())
        assert s.scalar(select(func.count(DocumentRequest.id))) == 1
    mine = ok(client.get(api("/requests"), headers=demo.headers(SITI)))
    assert [(r["state"], r["service"]["code"]) for r in mine] == [("finished", "domisili")]
    assert mine[0]["cover_letter"]["number"] == "001/RW05/DEMO"
    ok(client.get(api(f"/verify/{mine[0]['verification_code']}")))
    chosen = ok(client.post(api(f"/requests/{mine[0]['id']}/handover"),
                            headers=demo.headers(SITI), json={"method": "pickup"}))
    assert chosen["state"] == "handover_pending"
