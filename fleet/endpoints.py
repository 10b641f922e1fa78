"""Courier-only API under ``/api/v1/courier``: duty, position, offers, jobs, status reports.

A courier sees only their own offers and jobs; anything else answers 404.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.orm import Session

from core.deps import CourierUser, SessionDep, SettingsDep
from fleet import service
from fleet.config import fleet_settings
from fleet.models import InhouseJob, InhouseOffer
from fleet.schemas import (
    DutyIn,
    JobOut,
    OfferOut,
    Position,
    ProfileOut,
    StatusReport,
    StopOut,
)

router = APIRouter(prefix="/courier", tags=["courier"])


def job_out(session: Session, job: InhouseJob) -> JobOut:
    view = service.job_view(session, job)
    return JobOut(id=job.id, reference=job.reference, status=job.status, status_at=job.status_at,
                  price=job.price, distance_m=job.distance_m,
                  pickup=StopOut.from_json(job.pickup), dropoff=StopOut.from_json(job.dropoff),
                  failure_reason=job.failure_reason, proof_urls=list(job.proof_urls or []),
                  phase=view.phase, allowed_next=list(view.actions))


def offer_out(offer: InhouseOffer, job: InhouseJob) -> OfferOut:
    return OfferOut(id=offer.id, job_id=offer.job_id, status=offer.status,
                    distance_m=offer.distance_m, expires_at=offer.expires_at,
                    trip_distance_m=job.distance_m,
                    pickup_address=job.pickup.get("address", ""),
                    dropoff_address=job.dropoff.get("address", ""))


@router.get("/me", response_model=ProfileOut)
def me(courier: CourierUser, session: SessionDep) -> ProfileOut:
    return ProfileOut.model_validate(service.profile_of(session, courier))


@router.put("/me/duty", response_model=ProfileOut)
def set_duty(data: DutyIn, courier: CourierUser, session: SessionDep,
             settings: SettingsDep) -> ProfileOut:
    profile = service.set_duty(session, fleet_settings(settings), courier,
                               on_duty=data.on_duty, lat=data.lat, lng=data.lng)
    return ProfileOut.model_validate(profile)


@router.put("/me/position", response_model=ProfileOut)
def set_position(data: Position, courier: CourierUser, session: SessionDep) -> ProfileOut:
    return ProfileOut.model_validate(
        service.update_position(session, courier, lat=data.lat, lng=data.lng))


@router.get("/offers", response_model=list[OfferOut])
def my_offers(courier: CourierUser, session: SessionDep) -> list[OfferOut]:
    return [offer_out(o, j) for o, j in service.pending_offers(session, courier)]


@router.post("/offers/{offer_id}/accept", response_model=JobOut)
def accept(offer_id: uuid.UUID, courier: CourierUser, session: SessionDep,
           settings: SettingsDep) -> JobOut:
    return job_out(session, service.accept_offer(session, fleet_settings(settings), courier,
                                                  offer_id))


@router.post("/offers/{offer_id}/decline", response_model=OfferOut)
def decline(offer_id: uuid.UUID, courier: CourierUser, session: SessionDep,
            settings: SettingsDep) -> OfferOut:
    return offer_out(*service.decline_offer(session, fleet_settings(settings), courier,
                                            offer_id))


@router.get("/jobs", response_model=list[JobOut])
def my_jobs(courier: CourierUser, session: SessionDep, active: bool = False) -> list[JobOut]:
    return [job_out(session, j) for j in service.courier_jobs(session, courier, active_only=active)]


@router.get("/jobs/{job_id}", response_model=JobOut)
def my_job(job_id: uuid.UUID, courier: CourierUser, session: SessionDep) -> JobOut:
    return job_out(session, service.courier_job(session, courier, job_id))


@router.post("/jobs/{job_id}/status", response_model=JobOut)
def report_status(job_id: uuid.UUID, data: StatusReport, courier: CourierUser,
                  session: SessionDep) -> JobOut:
    return job_out(session, service.report(session, courier, job_id, data.status, lat=data.lat,
                                           lng=data.lng, note=data.note,
                                           proof_url=data.proof_url))
