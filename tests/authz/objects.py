"""Object makers for the authorization matrix.

A maker builds, through the API or the services, the objects a route's path points at and
returns their path parameters in three places:

* ``home``: Siti's object in Mekarjaya, RW 005 — every role the policy allows must reach it;
* ``other_person``: Agus's object, same office, RW 002 — residents, RW admins and couriers
  (the "personal" roles) must get 404;
* ``other_office``: Dewi's object in Abadijaya — everyone but the platform admin must get 404,
  the same 404 as for an id that does not exist.

Makers run once per calling role, so a call that changes or deletes the object cannot spoil
the next role's call. Keep them small; reuse your package's test helpers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures import RESIDENT_A, RESIDENT_B, RESIDENT_OTHER_OFFICE, Demo


@dataclass
class World:
    client: TestClient
    demo: Demo
    cache: dict[str, Any] = field(default_factory=dict)

    def headers(self, key: str) -> dict[str, str]:
        return self.demo.headers(key)


@dataclass(frozen=True)
class Objects:
    home: dict[str, str]
    other_person: dict[str, str] | None = None
    other_office: dict[str, str] | None = None

    def missing(self) -> dict[str, str]:
        """The home parameters with every id replaced by one that exists nowhere."""
        out = {}
        for name, value in self.home.items():
            try:
                uuid.UUID(value)
                out[name] = str(uuid.uuid4())
            except ValueError:
                out[name] = "tidak-ada-" + uuid.uuid4().hex[:8]
        return out


ObjectMaker = Callable[[World], Objects]
FileMaker = Callable[[], dict[str, tuple[str, bytes, str]]]


def static(**params: str) -> ObjectMaker:
    """Fixed path parameters (a language code, a public slug)."""
    return lambda world: Objects(home=dict(params))


def offices(world: World) -> Objects:
    return Objects(home={"slug": "mekarjaya"}, other_office={"slug": "abadijaya"})


def residents(world: World) -> Objects:
    def uid(key: str) -> dict[str, str]:
        return {"user_id": str(world.demo.user(key).id)}

    return Objects(home=uid(RESIDENT_A), other_person=uid(RESIDENT_B),
                   other_office=uid(RESIDENT_OTHER_OFFICE))


# --- catalog --------------------------------------------------------------------------

SERVICE = "pengantar-akta-kelahiran"


def office_services(world: World) -> Objects:
    return Objects(home={"slug": "mekarjaya", "code": SERVICE},
                   other_office={"slug": "abadijaya", "code": SERVICE})


def own_office_services(world: World) -> Objects:
    """Admin catalog routes resolve the code inside the caller's own office."""
    return Objects(home={"code": SERVICE})


# --- document requests ----------------------------------------------------------------

BIRTH_FIELDS = {"nama_anak": "Putri Aminah", "tanggal_lahir": "2026-11-01"}


def scan_file() -> dict[str, tuple[str, bytes, str]]:
    from tests.core.request_helpers import png

    return {"file": ("scan.png", png(), "image/png")}


def signed_pdf() -> dict[str, tuple[str, bytes, str]]:
    from tests.core.request_helpers import PDF

    return {"file": ("signed.pdf", PDF, "application/pdf")}


def _draft(world: World, resident: str, service: str | None = None) -> str:
    from tests.core.request_helpers import BIRTH, create

    return create(world.client, world.headers(resident), service or BIRTH)["id"]


def _per_resident(world: World, make: Callable[[str], dict[str, str]]) -> Objects:
    return Objects(home=make(RESIDENT_A), other_person=make(RESIDENT_B),
                   other_office=make(RESIDENT_OTHER_OFFICE))


def draft_requests(world: World) -> Objects:
    return _per_resident(world, lambda r: {"request_id": _draft(world, r)})


def submitted_requests(world: World) -> Objects:
    from tests.core.request_helpers import submitted_request

    return _per_resident(world, lambda r: {
        "request_id": submitted_request(world.client, world.headers(r))["id"]})


def cover_letter_requests(world: World) -> Objects:
    """Requests waiting for their RW's cover letter (Agus is in RW 002, not RW 005)."""
    from tests.core.request_helpers import DOMICILE, submitted_request

    return _per_resident(world, lambda r: {
        "request_id": submitted_request(world.client, world.headers(r), DOMICILE)["id"]})


def uploads(world: World) -> Objects:
    from tests.core.request_helpers import upload

    def make(resident: str) -> dict[str, str]:
        request_id = _draft(world, resident)
        up = upload(world.client, world.headers(resident), request_id, "kk")
        assert up.status_code == 201, up.text
        return {"request_id": request_id, "upload_id": up.json()["id"]}

    return _per_resident(world, make)


def _finished(world: World, resident: str) -> dict:
    """Walk a birth-certificate request (no cover letter) to finished by its own office."""
    from tests.core.request_helpers import PDF, ok, submitted_request

    request = submitted_request(world.client, world.headers(resident))
    operator = world.headers("operator.abadijaya" if resident == RESIDENT_OTHER_OFFICE
                             else "operator.mekarjaya")
    base = f"/api/v1/operator/requests/{request['id']}"
    ok(world.client.post(f"{base}/assign", headers=operator))
    ok(world.client.post(f"{base}/processing", headers=operator))
    return ok(world.client.post(f"{base}/finish", headers=operator,
                                files={"file": ("signed.pdf", PDF, "application/pdf")}))


def finished_requests(world: World) -> Objects:
    return _per_resident(world, lambda r: {"request_id": _finished(world, r)["id"]})


def digital_copy_requests(world: World) -> Objects:
    """Finished requests of a service that offers a digital copy (the office admin's switch,
    set here in the database), so their residents may download the signed PDF."""
    from core.db import unit_of_work
    from core.models import DocumentRequest

    def make(resident: str) -> dict[str, str]:
        request_id = _finished(world, resident)["id"]
        with unit_of_work() as s:
            request = s.get(DocumentRequest, uuid.UUID(request_id))
            assert request is not None
            request.service.digital_copy = True
        return {"request_id": request_id}

    return _per_resident(world, make)


def pickup_requests(world: World) -> Objects:
    """Finished requests whose residents chose office pickup."""

    def make(resident: str) -> dict[str, str]:
        request_id = _finished(world, resident)["id"]
        r = world.client.post(f"/api/v1/requests/{request_id}/handover",
                              headers=world.headers(resident), json={"method": "pickup"})
        assert r.status_code == 200, r.text
        return {"request_id": request_id}

    return _per_resident(world, make)


def verification_codes(world: World) -> Objects:
    """A finished document's public verification code (the code is the only key)."""
    return Objects(home={"code": _finished(world, RESIDENT_A)["verification_code"]})


def with_params(maker: ObjectMaker, **extra: str) -> ObjectMaker:
    """Another maker's objects plus fixed path parameters (e.g. a requirement code)."""

    def make(world: World) -> Objects:
        objs = maker(world)

        def add(params: dict[str, str] | None) -> dict[str, str] | None:
            return None if params is None else {**params, **extra}

        return Objects(home={**objs.home, **extra}, other_person=add(objs.other_person),
                       other_office=add(objs.other_office))

    return make


# --- the office's couriers (fleet/) -------------------------------------------------------
# Home: the demo courier's own offer/job; other person: another Mekarjaya courier's;
# other office: an Abadijaya courier's.

def courier_offers(world: World) -> Objects:
    from tests.fleet.helpers import offer_to

    return Objects(home={"offer_id": offer_to("kurir.mekarjaya")[0]},
                   other_person={"offer_id": offer_to(None)[0]},
                   other_office={"offer_id": offer_to(None, office="abadijaya")[0]})


def courier_jobs(world: World) -> Objects:
    from tests.fleet.helpers import job_of

    return Objects(home={"job_id": job_of("kurir.mekarjaya")},
                   other_person={"job_id": job_of(None)},
                   other_office={"job_id": job_of(None, office="abadijaya")})


# --- deliveries (for the web pages; the delivery API may share them) --------------------

def _delivery(world: World, resident: str) -> tuple[str, str]:
    """(delivery id, request id): a finished request whose resident asked for delivery."""
    request_id = _finished(world, resident)["id"]
    r = world.client.post("/api/v1/deliveries", headers=world.headers(resident), json={
        "request_id": request_id, "address": "Jl. Kenanga No. 5, RT 003/RW 005",
        "lat": -6.3952, "lng": 106.8461})
    assert r.status_code == 201, r.text
    return r.json()["id"], request_id


def delivery_ids(world: World) -> Objects:
    return _per_resident(world, lambda r: {"delivery_id": _delivery(world, r)[0]})


def delivery_requests(world: World) -> Objects:
    """Requests (by request_id) that have a delivery: the resident's tracking pages."""
    return _per_resident(world, lambda r: {"request_id": _delivery(world, r)[1]})


def envelope_tokens(world: World) -> Objects:
    """The envelope QR token of Siti's delivery (the token is the only key)."""
    delivery_id, _ = _delivery(world, RESIDENT_A)
    r = world.client.post(f"/api/v1/operator/deliveries/{delivery_id}/envelope",
                          headers=world.headers("operator.mekarjaya"))
    assert r.status_code == 201, r.text
    return Objects(home={"token": r.json()["url"].rsplit("/", 1)[-1]})


def staff_users(world: World) -> Objects:
    """Staff accounts: Mekarjaya's operator (home) and Abadijaya's (other office)."""
    def uid(username: str) -> str:
        return str(world.demo.user(username).id)

    return Objects(home={"user_id": uid("operator.mekarjaya")},
                   other_office={"user_id": uid("operator.abadijaya")})
