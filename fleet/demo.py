"""Demo data step (``sipoke.seed.EXTRA_STEPS``): a duty profile for every demo courier.

Idempotent: couriers that already have a profile are left alone. Demo couriers start on
duty at their office, so a demo delivery by in-house courier gets an offer at once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Office, Role, User
from fleet.models import CourierProfile


def seed_courier_profiles(session: Session, settings: object) -> None:
    have = set(session.scalars(select(CourierProfile.user_id)))
    couriers = session.scalars(select(User).where(User.role == Role.courier,
                                                  User.office_id.is_not(None)))
    for number, user in enumerate(couriers, start=1):
        if user.id in have:
            continue
        office = session.get(Office, user.office_id)
        assert office is not None
        session.add(CourierProfile(user_id=user.id, office_id=office.id, on_duty=True,
                                   lat=office.lat, lng=office.lng, plate=f"B {4100 + number} KLR"))
    session.flush()
