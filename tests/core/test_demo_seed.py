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


def test_every_rw_a_demo_resident_lives_in_has_a_head(client, demo, settings):
    """Issue 15, item 11: Agus (RW 002) and Dewi (Abadijaya RW 001) have someone to issue
    their cover letters, and demo data made before gets the missing heads."""
    from core.models import Role, User
    from sipoke.seed import RESIDENTS, seed_demo
    from tests.core.request_helpers import AGUS, DOMICILE, submitted_request

    with unit_of_work() as s:
        heads = {(u.office.slug, u.rw) for u in s.scalars(select(User).where(
            User.role == Role.rw_admin, User.is_active.is_(True)))}
    assert {(r.office, r.rw) for r in RESIDENTS} <= heads

    request = submitted_request(client, demo.headers(AGUS), DOMICILE)
    assert request["state"] == "cover_letter_pending"
    head = demo.headers("rw02.mekarjaya")
    assert [c["request"]["id"] for c in ok(client.get(api("/rw/cover-letters"),
                                                      headers=head))] == [request["id"]]
    ok(client.post(api(f"/rw/cover-letters/{request['id']}/approve"), headers=head,
                   json={"number": "003/RW02"}))
    assert ok(client.get(api(f"/requests/{request['id']}"),
                         headers=demo.headers(AGUS)))["state"] == "submitted"

    with unit_of_work() as s:  # an older demo database, without the new heads
        s.delete(s.scalar(select(User).where(User.username == "rw01.abadijaya")))
    assert seed_demo(settings) is False
    with unit_of_work() as s:
        assert s.scalar(select(User).where(User.username == "rw01.abadijaya")) is not None
