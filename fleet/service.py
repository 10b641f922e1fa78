"""The fleet's logic: quotes, jobs, offers to the nearest courier, courier reports.

Services only flush; the caller's unit of work commits. Booking-side functions (quote, book,
cancel, job lookups) raise :class:`fleet.errors.FleetRefused`; functions used by the courier
API and pages raise :mod:`core.errors` (rendered as JSON or a page with their HTTP status).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.formatting import format_km, format_minutes
from core.geo import distance_m
from core.models import User
from core.notifications import notify_user
from fleet import errors
from fleet.config import FleetSettings
from fleet.errors import FleetRefused
from fleet.hooks import JobUpdate, delivery_state, emit
from fleet.models import (
    CourierProfile,
    InhouseJob,
    InhouseJobEvent,
    InhouseOffer,
    OfferStatus,
)
from fleet.repository import FleetRepository
from fleet.statuses import CANCELLABLE, COURIER_TRANSITIONS, JobStatus, is_ended

S = JobStatus
DEFAULT_RETURN_REASON = "Penerima tidak ada di tempat"


def _office_uuid(office_id: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(str(office_id))
    except ValueError:
        raise FleetRefused(errors.BAD_OFFICE, "office_id is required for in-house couriers"
                           ) from None


# --- quote and book (called through the in-house adapter) -----------------------------------

Point = tuple[float, float]  # (lat, lng)


@dataclass(frozen=True)
class FleetQuote:
    quote_id: str
    price: int
    distance_m: int
    expires_at: datetime
    pickup_eta_s: int
    dropoff_eta_s: int


def quote(session: Session, config: FleetSettings, *, office_id: str | None, pickup: Point,
          dropoff: Point) -> FleetQuote:
    repo = FleetRepository(session)
    office = _office_uuid(office_id)
    if repo.office(office) is None:
        raise FleetRefused(errors.UNKNOWN_OFFICE, "unknown office")
    if repo.courier_count(office) == 0:
        raise FleetRefused(errors.NO_COURIERS, "this office has no couriers")
    distance = distance_m(*pickup, *dropoff)
    if distance > config.max_distance_m:
        raise FleetRefused(errors.TOO_FAR, f"{distance} m is beyond {config.max_distance_m} m")
    trip_s = round(distance / config.speed_mps)
    return FleetQuote(
        quote_id=f"ihq-{uuid.uuid4().hex[:20]}",
        price=config.fee_flat + config.fee_per_km * math.ceil(distance / 1000),
        distance_m=distance, expires_at=utcnow() + timedelta(seconds=config.quote_validity_s),
        pickup_eta_s=config.offer_timeout_s, dropoff_eta_s=config.offer_timeout_s + trip_s)


def book(session: Session, config: FleetSettings, *, office_id: str | None, reference: str,
         quote_id: str, price: int, distance_m: int, pickup: dict[str, Any],
         dropoff: dict[str, Any]) -> InhouseJob:
    """A job for ``reference``, searching for a courier; booking a reference again returns
    its job. ``pickup``/``dropoff`` are stops as JSON (``coordinates``, name, phone...)."""
    repo = FleetRepository(session)
    existing = repo.job_by_reference(reference)
    if existing is not None:
        return existing
    office = _office_uuid(office_id)
    now = utcnow()
    job = InhouseJob(
        office_id=office, reference=reference, status=S.booked, status_at=now,
        quote_id=quote_id, price=price, distance_m=distance_m, pickup=pickup, dropoff=dropoff,
        search_deadline=now + timedelta(seconds=config.search_timeout_s),
    )
    repo.add(job)
    _change(session, job, S.searching_courier, actor=None)
    dispatch(session, config, job)
    return job


def cancel(session: Session, job: InhouseJob, *, reason: str = "") -> InhouseJob:
    status = S(job.status)
    if status is S.cancelled:
        return job
    if status not in CANCELLABLE:
        raise FleetRefused(errors.NOT_CANCELLABLE, f"cannot cancel a job that is {status}")
    _withdraw_offers(session, job)
    _change(session, job, S.cancelled, actor=None, note=reason or None)
    if job.courier_id is not None:
        courier = session.get(User, job.courier_id)
        if courier is not None:
            notify_user(session, courier, "courier_job_cancelled", code=_short(job))
    return job


def job_by_reference(session: Session, reference: str) -> InhouseJob | None:
    return FleetRepository(session).job_by_reference(reference)


def _job(session: Session, job_id: str) -> InhouseJob | None:
    """The job with this id (as text, the provider order id the adapter hands out), if any."""
    try:
        return FleetRepository(session).job(uuid.UUID(job_id))
    except ValueError:
        return None


def job_by_id(session: Session, job_id: str) -> InhouseJob:
    job = _job(session, job_id)
    if job is None:
        raise FleetRefused(errors.NO_SUCH_JOB, "no such in-house job")
    return job


def job_position(session: Session, job_id: str) -> tuple[float, float] | None:
    """Where the courier of a job was last seen (lat, lng), if anywhere."""
    job = _job(session, job_id)
    if job is None or job.last_lat is None or job.last_lng is None:
        return None
    return job.last_lat, job.last_lng


# --- offers -----------------------------------------------------------------------------

def dispatch(session: Session, config: FleetSettings, job: InhouseJob) -> InhouseOffer | None:
    """Offer a searching job to the nearest available courier not asked yet (or nobody)."""
    if job.status != S.searching_courier:
        return None
    repo = FleetRepository(session)
    at = job.pickup["coordinates"]
    pickup = (float(at["lat"]), float(at["lng"]))
    candidates = []
    for user, profile in repo.available_couriers(job.office_id, excluding_job=job.id):
        where = ((profile.lat, profile.lng)
                 if profile.lat is not None and profile.lng is not None else pickup)
        candidates.append((distance_m(*where, *pickup), str(user.id), user))
    if not candidates:
        return None
    distance, _, courier = min(candidates)
    offer = InhouseOffer(job_id=job.id, courier_id=courier.id, distance_m=distance,
                         expires_at=utcnow() + timedelta(seconds=config.offer_timeout_s))
    repo.add(offer)
    notify_user(session, courier, "courier_offer", code=_short(job),
                km=format_km(job.distance_m),
                minutes=format_minutes(max(60, config.offer_timeout_s)))
    return offer


def _courier_offer(session: Session, courier: User, offer_id: uuid.UUID) -> InhouseOffer:
    offer = FleetRepository(session).offer(offer_id, for_update=True)
    if offer is None or offer.courier_id != courier.id:
        raise NotFound("Tawaran tidak ditemukan.")
    if offer.status != OfferStatus.pending or offer.expires_at <= utcnow():
        raise Conflict("Tawaran sudah tidak berlaku.", status=str(offer.status))
    return offer


def accept_offer(session: Session, config: FleetSettings, courier: User,
                 offer_id: uuid.UUID) -> InhouseJob:
    offer = _courier_offer(session, courier, offer_id)
    repo = FleetRepository(session)
    job = repo.job(offer.job_id, for_update=True)
    assert job is not None
    now = utcnow()
    if job.status != S.searching_courier:
        offer.status, offer.responded_at = OfferStatus.withdrawn, now
        raise Conflict("Tugas ini sudah tidak tersedia.").keeping_changes()
    offer.status, offer.responded_at = OfferStatus.accepted, now
    job.courier_id = courier.id
    profile = repo.profile(courier.id)
    if profile is not None and profile.lat is not None:
        job.last_lat, job.last_lng = profile.lat, profile.lng
    _change(session, job, S.courier_assigned, actor=courier)
    return job


def decline_offer(session: Session, config: FleetSettings, courier: User,
                  offer_id: uuid.UUID) -> tuple[InhouseOffer, InhouseJob]:
    """Decline, and offer the job to the next nearest courier at once."""
    offer = _courier_offer(session, courier, offer_id)
    offer.status, offer.responded_at = OfferStatus.declined, utcnow()
    session.flush()
    job = FleetRepository(session).job(offer.job_id, for_update=True)
    assert job is not None
    dispatch(session, config, job)
    return offer, job


def sweep(session: Session, config: FleetSettings) -> dict[str, int]:
    """Expire offers past ``expires_at`` and offer those jobs to the next courier; end jobs
    nobody took before their search deadline as ``no_courier``; offer waiting jobs to
    couriers who came on duty since. Idempotent; run by beat."""
    repo = FleetRepository(session)
    now = utcnow()
    counts = {"expired_offers": 0, "no_courier": 0, "offered": 0}
    for offer in repo.expired_offers(now):
        offer.status = OfferStatus.expired
        counts["expired_offers"] += 1
    session.flush()
    for job in repo.searching_past_deadline(now):
        _withdraw_offers(session, job)
        job.failure_reason = "Tidak ada kurir yang menerima tugas"
        _change(session, job, S.no_courier, actor=None, note=job.failure_reason)
        counts["no_courier"] += 1
    for job in repo.searching_without_offer():
        if dispatch(session, config, job) is not None:
            counts["offered"] += 1
    return counts


def _withdraw_offers(session: Session, job: InhouseJob) -> None:
    for offer in FleetRepository(session).pending_offers_of_job(job.id):
        offer.status, offer.responded_at = OfferStatus.withdrawn, utcnow()


# --- couriers ---------------------------------------------------------------------------

def profile_of(session: Session, courier: User) -> CourierProfile:
    repo = FleetRepository(session)
    profile = repo.profile(courier.id)
    if profile is None:
        assert courier.office_id is not None
        profile = CourierProfile(user_id=courier.id, office_id=courier.office_id)
        repo.add(profile)
    return profile


def set_duty(session: Session, config: FleetSettings, courier: User, *, on_duty: bool,
             lat: float | None = None, lng: float | None = None) -> CourierProfile:
    profile = profile_of(session, courier)
    if lat is not None and lng is not None:
        update_position(session, courier, lat=lat, lng=lng)
    if profile.on_duty != on_duty:
        profile.on_duty = on_duty
        audit.record(session, action="courier.duty", entity_type="user", entity_id=courier.id,
                     office_id=courier.office_id, actor=courier,
                     to_state="on_duty" if on_duty else "off_duty")
    session.flush()
    if not on_duty:  # a courier going off duty declines what is on their screen
        repo = FleetRepository(session)
        for offer in repo.pending_offers_of_courier(courier.id, utcnow()):
            offer.status, offer.responded_at = OfferStatus.declined, utcnow()
            session.flush()
            job = repo.job(offer.job_id, for_update=True)
            if job is not None:
                dispatch(session, config, job)
    if on_duty:  # jobs waiting for anyone get an offer now rather than at the next sweep
        for job in FleetRepository(session).searching_without_offer():
            if job.office_id == courier.office_id and dispatch(session, config, job):
                break
    return profile


def update_position(session: Session, courier: User, *, lat: float, lng: float
                    ) -> CourierProfile:
    profile = profile_of(session, courier)
    profile.lat, profile.lng, profile.position_at = lat, lng, utcnow()
    for job in FleetRepository(session).jobs_of_courier(courier.id, active_only=True):
        job.last_lat, job.last_lng = lat, lng
    return profile


def pending_offers(session: Session, courier: User) -> list[tuple[InhouseOffer, InhouseJob]]:
    repo = FleetRepository(session)
    out = []
    for offer in repo.pending_offers_of_courier(courier.id, utcnow()):
        job = repo.job(offer.job_id)
        if job is not None:
            out.append((offer, job))
    return out


def courier_jobs(session: Session, courier: User, *, active_only: bool) -> list[InhouseJob]:
    return FleetRepository(session).jobs_of_courier(courier.id, active_only=active_only)


def courier_job(session: Session, courier: User, job_id: uuid.UUID) -> InhouseJob:
    job = FleetRepository(session).job(job_id, for_update=True)
    if job is None or job.courier_id != courier.id:
        raise NotFound("Tugas tidak ditemukan.")
    return job


def report(session: Session, courier: User, job_id: uuid.UUID, status: JobStatus, *,
           lat: float | None = None, lng: float | None = None, note: str | None = None,
           proof_url: str | None = None) -> InhouseJob:
    job = courier_job(session, courier, job_id)
    current = S(job.status)
    if status is current:
        # Already so (the envelope's scan or the PIN moved the job first): nothing to change.
        if lat is not None and lng is not None:
            update_position(session, courier, lat=lat, lng=lng)
        return job
    allowed = COURIER_TRANSITIONS.get(current, frozenset())
    if status not in allowed:
        raise InvalidTransition("tugas", current, status, [s.value for s in allowed])
    if status is S.returning and delivery_state(session, job.reference) in HANDED_OVER:
        raise Conflict("Dokumen sudah diserahkan kepada pemohon; tugas ini tidak dapat "
                       "dilaporkan gagal.", state=delivery_state(session, job.reference))
    if status is S.returning:
        job.failure_reason = (note or DEFAULT_RETURN_REASON)[:500]
    if proof_url:
        if not proof_url.startswith(("https://", "http://", "/")):
            raise ValidationFailed("proof_url", "Alamat foto bukti tidak valid.")
        job.proof_urls = [*job.proof_urls, proof_url]
    if lat is not None and lng is not None:
        update_position(session, courier, lat=lat, lng=lng)
    _change(session, job, status, actor=courier, note=note)
    return job


# --- the job follows its delivery -----------------------------------------------------------
#
# The delivery (delivery/) is the one record of where the envelope is: the envelope's QR
# page moves it (pickup at the office, the PIN at the door, the originals) and the office
# finishes it. The job follows: its status is moved along here, its page and the reports it
# offers are derived from the delivery's state, and it ends when the delivery completes, so
# the courier is free for the next offer.

# Delivery states once the resident has the document (PIN or an operator's exception).
HANDED_OVER = frozenset({"delivered", "returning_originals", "originals_received",
                         "completed"})
_ENVELOPE_TAKEN = frozenset({"picked_up", "in_transit"})


@dataclass(frozen=True)
class JobView:
    """What a courier sees of a job: its phase (a label key under ``jstate.``), the reports
    it may make now, and where to navigate."""

    phase: str
    actions: tuple[JobStatus, ...]
    to_dropoff: bool
    delivery_state: str | None


def job_view(session: Session, job: InhouseJob) -> JobView:
    current = S(job.status)
    state = delivery_state(session, job.reference)
    allowed = COURIER_TRANSITIONS.get(current, frozenset())
    if state is None:  # a job without a delivery behind it (the provider on its own)
        actions = sorted(allowed, key=lambda s: s.rank)
        return JobView(phase=current.value, actions=tuple(actions),
                       to_dropoff=current.value in NEAR_DROPOFF, delivery_state=None)
    if is_ended(job.status):
        return JobView(phase=current.value, actions=(), to_dropoff=False,
                       delivery_state=state)
    if state in HANDED_OVER:
        # Nothing left to report: the originals are ticked on the envelope's page and the
        # office confirms them, which finishes the job.
        phase = {"returning_originals": "bringing_originals",
                 "originals_received": "bringing_originals",
                 "completed": "delivered"}.get(state, "handed_over")
        return JobView(phase=phase, actions=(), to_dropoff=phase == "handed_over",
                       delivery_state=state)
    if state in _ENVELOPE_TAKEN and current in (S.courier_assigned, S.at_pickup):
        current = S.picked_up  # the envelope was scanned; the job catches up on its own
        allowed = COURIER_TRANSITIONS[current]
    # "Handed over" is the PIN on the envelope's page, never a button here.
    actions = sorted((s for s in allowed if s is not S.delivered), key=lambda s: s.rank)
    return JobView(phase=current.value, actions=tuple(actions),
                   to_dropoff=current.value in NEAR_DROPOFF, delivery_state=state)


NEAR_DROPOFF = frozenset({"picked_up", "in_transit", "at_dropoff"})


def follow_delivery(session: Session, reference: str, state: str) -> InhouseJob | None:
    """Move the job booked under ``reference`` along with its delivery, which has just moved
    to ``state`` (called by the delivery side, in its transaction). Idempotent."""
    job = FleetRepository(session).job_by_reference(reference)
    if job is None or is_ended(job.status):
        return job
    current = S(job.status)
    if state in _ENVELOPE_TAKEN and current in (S.courier_assigned, S.at_pickup):
        _change(session, job, S.picked_up, actor=None, note="Amplop dipindai di kantor")
    elif state in ("delivered", "returning_originals", "originals_received") and \
            current.rank < S.at_dropoff.rank:
        _change(session, job, S.at_dropoff, actor=None, note="Diserahkan kepada pemohon")
    elif state == "completed":
        _change(session, job, S.delivered, actor=None, note="Pengantaran selesai")
    return job


# --- status changes and views -------------------------------------------------------------

def _change(session: Session, job: InhouseJob, status: JobStatus, *, actor: User | None,
            note: str | None = None) -> InhouseJobEvent:
    """The one mutator: job status, its event row, the audit row, then the status listener."""
    before = job.status
    now = utcnow()
    job.status, job.status_at = status.value, now
    event = InhouseJobEvent(job_id=job.id, event_id=f"ih-{uuid.uuid4().hex}", status=status,
                            occurred_at=now, actor_id=actor.id if actor else None,
                            lat=job.last_lat, lng=job.last_lng, note=note)
    FleetRepository(session).add(event)
    audit.record(session, action="inhouse_job.status", entity_type="inhouse_job",
                 entity_id=job.id, office_id=job.office_id, actor=actor, from_state=before,
                 to_state=status.value, note=note)
    emit(session, job_update(session, job, event))
    return event


def job_update(session: Session, job: InhouseJob,
               event: InhouseJobEvent | None = None) -> JobUpdate:
    """The job as it stands after ``event`` (default: its latest), with its courier."""
    repo = FleetRepository(session)
    event = event or repo.latest_event(job.id)
    assert event is not None, "every job has at least one event"
    user = session.get(User, job.courier_id) if job.courier_id is not None else None
    profile = repo.profile(user.id) if user is not None else None
    return JobUpdate(
        job_id=str(job.id), reference=job.reference, event_id=event.event_id,
        occurred_at=event.occurred_at, status=S(event.status),
        courier_name=user.full_name if user else None, courier_phone=user.phone if user else None,
        courier_plate=profile.plate if profile else None, lat=job.last_lat, lng=job.last_lng,
        proof_urls=tuple(job.proof_urls or ()), failure_reason=job.failure_reason)


def _short(job: InhouseJob) -> str:
    return str(job.id)[:8].upper()

