"""All SQL of the fleet: couriers, jobs, offers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Office, Role, User
from fleet.models import (
    CourierProfile,
    InhouseJob,
    InhouseJobEvent,
    InhouseOffer,
    OfferStatus,
)
from fleet.statuses import ACTIVE, JobStatus


class FleetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()

    # --- offices and couriers ------------------------------------------------------------

    def office(self, office_id: uuid.UUID) -> Office | None:
        return self.session.get(Office, office_id)

    def courier_count(self, office_id: uuid.UUID) -> int:
        return self.session.scalar(select(func.count()).select_from(User).where(
            User.office_id == office_id, User.role == Role.courier,
            User.is_active.is_(True))) or 0

    def profile(self, user_id: uuid.UUID) -> CourierProfile | None:
        return self.session.scalar(select(CourierProfile).where(CourierProfile.user_id == user_id))

    def available_couriers(self, office_id: uuid.UUID, *, excluding_job: uuid.UUID
                           ) -> list[tuple[User, CourierProfile]]:
        """On-duty active couriers of the office with no active job, no pending offer, and
        not yet asked for ``excluding_job``."""
        busy = select(InhouseJob.courier_id).where(
            InhouseJob.courier_id.is_not(None), InhouseJob.status.in_(ACTIVE))
        offered = select(InhouseOffer.courier_id).where(
            (InhouseOffer.status == OfferStatus.pending) | (InhouseOffer.job_id == excluding_job))
        stmt = (
            select(User, CourierProfile)
            .join(CourierProfile, CourierProfile.user_id == User.id)
            .where(User.office_id == office_id, User.role == Role.courier,
                   User.is_active.is_(True), CourierProfile.on_duty.is_(True),
                   User.id.not_in(busy), User.id.not_in(offered))
        )
        return [(u, p) for u, p in self.session.execute(stmt).all()]

    # --- jobs ------------------------------------------------------------------------------

    def job(self, job_id: uuid.UUID, *, for_update: bool = False) -> InhouseJob | None:
        return self.session.get(InhouseJob, job_id, with_for_update=for_update)

    def job_by_reference(self, reference: str) -> InhouseJob | None:
        return self.session.scalar(select(InhouseJob).where(InhouseJob.reference == reference))

    def jobs_of_courier(self, courier_id: uuid.UUID, *, active_only: bool) -> list[InhouseJob]:
        stmt = select(InhouseJob).where(InhouseJob.courier_id == courier_id)
        if active_only:
            stmt = stmt.where(InhouseJob.status.in_(ACTIVE))
        return list(self.session.scalars(stmt.order_by(InhouseJob.created_at.desc()).limit(50)))

    def searching_past_deadline(self, now: datetime, limit: int = 200) -> list[InhouseJob]:
        return list(self.session.scalars(select(InhouseJob).where(
            InhouseJob.status == JobStatus.searching_courier, InhouseJob.search_deadline <= now,
        ).limit(limit).with_for_update(skip_locked=True)))

    def searching_without_offer(self, limit: int = 200) -> list[InhouseJob]:
        pending = select(InhouseOffer.job_id).where(InhouseOffer.status == OfferStatus.pending)
        return list(self.session.scalars(select(InhouseJob).where(
            InhouseJob.status == JobStatus.searching_courier, InhouseJob.id.not_in(pending),
        ).limit(limit).with_for_update(skip_locked=True)))

    def latest_event(self, job_id: uuid.UUID) -> InhouseJobEvent | None:
        return self.session.scalar(select(InhouseJobEvent).where(InhouseJobEvent.job_id == job_id)
                                   .order_by(InhouseJobEvent.id.desc()).limit(1))

    # --- offers ------------------------------------------------------------------------------

    def offer(self, offer_id: uuid.UUID, *, for_update: bool = False) -> InhouseOffer | None:
        return self.session.get(InhouseOffer, offer_id, with_for_update=for_update)

    def pending_offers_of_courier(self, courier_id: uuid.UUID, now: datetime
                                  ) -> list[InhouseOffer]:
        return list(self.session.scalars(select(InhouseOffer).where(
            InhouseOffer.courier_id == courier_id, InhouseOffer.status == OfferStatus.pending,
            InhouseOffer.expires_at > now).order_by(InhouseOffer.created_at)))

    def pending_offers_of_job(self, job_id: uuid.UUID) -> list[InhouseOffer]:
        return list(self.session.scalars(select(InhouseOffer).where(
            InhouseOffer.job_id == job_id, InhouseOffer.status == OfferStatus.pending)))

    def expired_offers(self, now: datetime, limit: int = 200) -> list[InhouseOffer]:
        return list(self.session.scalars(select(InhouseOffer).where(
            InhouseOffer.status == OfferStatus.pending, InhouseOffer.expires_at <= now,
        ).order_by(InhouseOffer.expires_at).limit(limit).with_for_update(skip_locked=True)))

