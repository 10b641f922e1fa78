"""The run's data, written straight into its database: the demo offices and staff, and one
resident per delivery (a phone of their own, so every notification names one delivery), each
with a finished request waiting for the resident's handover choice. Everything after that
goes through the product over HTTP: the resident asks for delivery, and either the office's
policy books the cheapest quote (Mekarjaya, the deployment default in this run) or the
resident picks a quote (Abadijaya, whose policy is ``resident``)."""

from __future__ import annotations

import math
import os
import random
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from chaos.stack import ChaosStack

AUTO_OFFICE = "mekarjaya"
CHOOSING_OFFICE = "abadijaya"


@dataclass(frozen=True)
class Resident:
    index: int
    phone: str
    token: str
    request_id: uuid.UUID
    address: str
    lat: float
    lng: float
    chooses: bool  # picks a quote herself (else the office's policy books one)


def bind(stack: ChaosStack) -> None:
    """Point this process's settings and database at the chaos stack."""
    for key, value in stack.env().items():
        if key.startswith("SIPOKE_"):
            os.environ[key] = value
    from core import db
    from core.settings import reset_settings_cache

    reset_settings_cache()
    db.configure(stack.database_url)


def migrate_and_seed(stack: ChaosStack) -> None:
    from sipoke.migrate import upgrade

    upgrade(stack.database_url)
    import sipoke.models  # noqa: F401
    from core.settings import get_settings
    from sipoke.seed import seed_demo

    seed_demo(get_settings())


def residents(count: int, seed: int) -> list[Resident]:
    """``count`` residents, each with a finished request of the office's domisili letter;
    every third one in the office where residents choose their quote."""
    from core.accounts.service import _issue_session
    from core.db import unit_of_work, utcnow
    from core.models import DocumentRequest, Office, RequestState, Role, Service, User
    from core.requests.service import new_code
    from core.settings import get_settings
    from delivery.models import DeliveryPolicy

    rng = random.Random(seed ^ 0x5EED)
    settings = get_settings()
    out: list[Resident] = []
    with unit_of_work() as s:
        offices = {o.slug: o for o in s.scalars(select(Office))}
        services = {slug: s.scalar(select(Service).where(Service.office_id == o.id,
                                                         Service.code == "domisili"))
                    for slug, o in offices.items()}
        s.add(DeliveryPolicy(office_id=offices[CHOOSING_OFFICE].id,
                             settings={"choice_policy": "resident"}))
        now = utcnow()
        for i in range(count):
            chooses = i % 3 == 2
            office = offices[CHOOSING_OFFICE if chooses else AUTO_OFFICE]
            service = services[CHOOSING_OFFICE if chooses else AUTO_OFFICE]
            assert service is not None, "the demo catalog has no domisili letter"
            # Somewhere 0.5-4 km from the office.
            bearing, metres = rng.uniform(0, 2 * math.pi), rng.uniform(500, 4000)
            lat = office.lat + metres * math.cos(bearing) / 111_320
            lng = office.lng + metres * math.sin(bearing) / 110_000
            phone = f"+62857{i:08d}"
            address = f"Jl. Uji Coba No. {i + 1}, RT 001/RW 001"
            user = User(office_id=office.id, role=Role.resident, full_name=f"Warga Uji {i + 1}",
                        phone=phone, address=address, rt="001", rw="001", lat=lat, lng=lng)
            s.add(user)
            s.flush()
            request = DocumentRequest(
                office_id=office.id, resident_id=user.id, service_id=service.id,
                reference=new_code(8), state=RequestState.finished, fields={},
                finished_at=now, verification_code=new_code(12))
            s.add(request)
            s.flush()
            token = _issue_session(s, settings, user, client_ip="chaos").token
            out.append(Resident(index=i, phone=phone, token=token, request_id=request.id,
                                address=address, lat=lat, lng=lng, chooses=chooses))
    return out
