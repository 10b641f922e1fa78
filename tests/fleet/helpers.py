"""Helpers for fleet tests: extra couriers, office ids, a job booked through the in-house
adapter, an offer or a job of a given courier."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from core.accounts.schemas import StaffCreate
from core.accounts.service import create_staff
from core.db import unit_of_work, utcnow
from core.models import Office, User
from core.settings import get_settings
from fleet import service
from fleet.models import InhouseOffer, OfferStatus
from providers.inhouse.adapter import InhouseAdapter
from providers.inhouse.config import InhouseSettings
from providers.types import Booking, Coordinates
from tests.providers.harnesses import InhouseHarness

CONFIG = InhouseSettings()


def office_id(slug: str = "mekarjaya") -> uuid.UUID:
    with unit_of_work() as session:
        found = session.scalar(select(Office.id).where(Office.slug == slug))
        assert found is not None
        return found


def make_courier(username: str, *, office: str = "mekarjaya", at: Coordinates | None = None,
                 on_duty: bool = True) -> User:
    with unit_of_work() as session:
        user = create_staff(session, get_settings(), StaffCreate(
            role="courier", full_name=f"Kurir {username}", username=username,
            password="kurir-password-123", office=office,
            phone=f"+62813{uuid.uuid4().int % 10**8:08d}"), actor=None)
        service.set_duty(session, CONFIG, user, on_duty=on_duty,
                         lat=at.lat if at else None, lng=at.lng if at else None)
        return user


def set_demo_courier_duty(on_duty: bool) -> None:
    with unit_of_work() as session:
        courier = session.scalar(select(User).where(User.username == "kurir.mekarjaya"))
        service.set_duty(session, CONFIG, courier, on_duty=on_duty)


def book_job(office: str = "mekarjaya", config: InhouseSettings = CONFIG) -> Booking:
    harness = InhouseHarness(office_id(office))
    adapter = InhouseAdapter(config)
    return adapter.book(harness.booking_request(adapter.quote(harness.quote_request())))


def offer_to(username: str | None, *, office: str = "mekarjaya") -> tuple[str, str]:
    """(offer id, job id): a fresh job offered to ``username`` (a new courier when None),
    whoever the nearest courier is. For tests that need a given courier's offer or job."""
    if username is None:
        username = f"kurir.{uuid.uuid4().hex[:8]}"
        make_courier(username, office=office, on_duty=False)
    booking = book_job(office)
    with unit_of_work() as session:
        courier = session.scalar(select(User).where(User.username == username))
        job = service.job_by_id(session, booking.provider_order_id)
        service._withdraw_offers(session, job)
        offer = session.scalar(select(InhouseOffer).where(
            InhouseOffer.job_id == job.id, InhouseOffer.courier_id == courier.id))
        if offer is None:
            offer = InhouseOffer(job_id=job.id, courier_id=courier.id)
            session.add(offer)
        offer.status = OfferStatus.pending
        offer.expires_at = utcnow() + timedelta(minutes=10)
        session.flush()
        return str(offer.id), str(job.id)


def job_of(username: str | None, *, office: str = "mekarjaya") -> str:
    """A job accepted by ``username`` (a new courier when None), at courier_assigned."""
    if username is None:
        username = f"kurir.{uuid.uuid4().hex[:8]}"
        make_courier(username, office=office, on_duty=False)
    offer_id, job_id = offer_to(username, office=office)
    with unit_of_work() as session:
        courier = session.scalar(select(User).where(User.username == username))
        service.accept_offer(session, CONFIG, courier, uuid.UUID(offer_id))
    return job_id
