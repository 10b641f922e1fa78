"""Benchmark data written straight into the bench database: the demo offices and accounts,
and N finished requests each with a delivery waiting for the resident's choice of a real
sandbox quote (asked from the running sandbox over HTTP). The booking itself then goes
through the product: ``POST /api/v1/deliveries/{id}/choose`` -> outbox -> worker -> sandbox.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from bench.stack import BenchStack

SITI = "+6281234560001"
OPERATOR = "operator.mekarjaya"


def bind(stack: BenchStack) -> None:
    """Point this process's settings and database at the bench stack."""
    for key, value in stack.env().items():
        if key.startswith("SIPOKE_"):
            os.environ[key] = value
    from core import db
    from core.settings import reset_settings_cache

    reset_settings_cache()
    db.configure(stack.database_url)


def seed() -> None:
    import sipoke.models  # noqa: F401
    from core.settings import get_settings
    from sipoke.seed import seed_demo

    seed_demo(get_settings())


def bearer(key: str) -> dict[str, str]:
    from core.accounts.service import _issue_session
    from core.db import unit_of_work
    from core.models import User
    from core.settings import get_settings

    with unit_of_work() as s:
        user = s.scalar(select(User).where((User.username == key) | (User.phone == key)))
        assert user is not None, key
        issued = _issue_session(s, get_settings(), user, client_ip="bench")
    return {"Authorization": f"Bearer {issued.token}"}


def _sandbox_quotes(count: int, office_lat: float, office_lng: float) -> list:
    from core.settings import get_settings
    from providers import registry
    from providers.types import Coordinates, Place, QuoteRequest

    request = QuoteRequest(
        pickup=Place(coordinates=Coordinates(lat=office_lat, lng=office_lng), address="Kantor"),
        dropoff=Place(coordinates=Coordinates(lat=-6.3952, lng=106.8461),
                      address="Jl. Kenanga No. 5"))

    # One adapter (its httpx client is thread-safe) for all: set-up, not what is measured.
    with registry.get_adapter("sandbox", get_settings().providers) as adapter, \
            ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: adapter.quote(request), range(count)))


def deliveries_awaiting_choice(count: int) -> list[uuid.UUID]:
    """``count`` deliveries of Siti in ``awaiting_choice``, each with one sandbox quote."""
    from core.db import unit_of_work, utcnow
    from core.models import (
        DocumentRequest,
        HandoverMethod,
        Office,
        RequestState,
        Service,
        User,
    )
    from core.requests.service import new_code
    from delivery.models import Delivery, DeliveryQuote, DeliveryState

    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.phone == SITI))
        assert user is not None and user.office_id is not None
        office = s.get(Office, user.office_id)
        assert office is not None
        service = s.scalar(select(Service).where(Service.office_id == office.id,
                                                 Service.code == "domisili"))
        assert service is not None
        user_id, office_id, service_id = user.id, office.id, service.id
        lat, lng, name, phone = office.lat, office.lng, user.full_name, user.phone
    quotes = _sandbox_quotes(count, lat, lng)
    ids = []
    now = utcnow()
    with unit_of_work() as s:
        for quote in quotes:
            request = DocumentRequest(
                office_id=office_id, resident_id=user_id, service_id=service_id,
                reference=new_code(8), state=RequestState.handover_pending, fields={},
                handover_method=HandoverMethod.delivery,
                finished_at=now, verification_code=new_code(12))
            s.add(request)
            s.flush()
            delivery = Delivery(
                office_id=office_id, request_id=request.id, resident_id=user_id,
                state=DeliveryState.awaiting_choice, state_changed_at=now,
                recipient_name=name or "Warga", recipient_phone=phone,
                address="Jl. Kenanga No. 5, RT 003/RW 005", lat=-6.3952, lng=106.8461,
                distance_m=quote.distance_m, budget_deadline=now + timedelta(hours=2))
            s.add(delivery)
            s.flush()
            s.add(DeliveryQuote(
                delivery_id=delivery.id, office_id=office_id, provider="sandbox",
                provider_quote_id=quote.provider_quote_id, price=quote.price.amount,
                resident_pays=quote.price.amount, distance_m=quote.distance_m,
                pickup_eta_s=quote.pickup_eta_s, dropoff_eta_s=quote.dropoff_eta_s,
                expires_at=quote.expires_at))
            ids.append(delivery.id)
    return ids
