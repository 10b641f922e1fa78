"""The office's own couriers: on/off duty, offers (accept/decline), my jobs with a navigation
link and status buttons. The envelope steps (pickup scan, PIN, originals, photo) are on the handover
page the envelope's QR opens (``web.pages.handover``), the same for every courier company.

Calls ``fleet.service`` like the courier API (``/api/v1/courier``).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from fleet import service as fleet
from fleet.config import fleet_settings
from fleet.schemas import Position, StopOut
from fleet.statuses import JobStatus
from web.context import CourierPage, Page
from web.forms import FormState, service_call, text_values

router = APIRouter()


def _job_view(p: Page, job) -> dict:
    """The job as its delivery has it (``fleet.service.job_view``): phase, reports, where to go."""
    view = fleet.job_view(p.db, job)
    dropoff, pickup = StopOut.from_json(job.dropoff), StopOut.from_json(job.pickup)
    return {"job": job, "pickup": pickup, "dropoff": dropoff, "phase": view.phase,
            "next": list(view.actions),
            "nav_url": navigation_url(dropoff if view.to_dropoff else pickup)}


def navigation_url(stop: StopOut) -> str:
    """Opens the phone's own maps app with directions (a plain link: nothing is loaded)."""
    return f"https://www.google.com/maps/dir/?api=1&destination={stop.lat:.6f},{stop.lng:.6f}"


def _home(p: Page, *, form: FormState | None = None, status_code: int = 200) -> Response:
    profile = fleet.profile_of(p.db, p.me)
    offers = fleet.pending_offers(p.db, p.me)
    jobs = [_job_view(p, j) for j in fleet.courier_jobs(p.db, p.me, active_only=True)]
    template = "courier/_live.html" if p.request.headers.get("hx-request") else "courier/home.html"
    return p.render(template, status_code=status_code, profile=profile, offers=offers,
                    jobs=jobs, form=form or FormState())


@router.get("/kurir")
def courier_home(p: CourierPage) -> Response:
    return _home(p)


def _position(p: Page) -> Position | None:
    try:
        return Position(lat=float(p.form.get("lat") or ""), lng=float(p.form.get("lng") or ""))
    except ValueError:
        return None


@router.post("/kurir/dinas")
def set_duty(p: CourierPage) -> Response:
    on_duty = p.form.get("on_duty") == "1"
    where = _position(p)
    fleet.set_duty(p.db, fleet_settings(p.settings), p.me, on_duty=on_duty,
                     lat=where.lat if where else None, lng=where.lng if where else None)
    p.flash("success", "courier.on_duty" if on_duty else "courier.off_duty")
    return p.redirect("/kurir")


def _act(p: Page, action, target: str) -> Response:
    state = FormState(values=text_values(p.form))
    with service_call(p.db, state, p.t):
        action()
    if not state.ok:
        return _home(p, form=state, status_code=409)
    p.flash("success", "op.done")
    return p.redirect(target)


@router.post("/kurir/tawaran/{offer_id}/terima")
def accept(offer_id: uuid.UUID, p: CourierPage) -> Response:
    state = FormState()
    job = None
    with service_call(p.db, state, p.t):
        job = fleet.accept_offer(p.db, fleet_settings(p.settings), p.me, offer_id)
    if job is None or not state.ok:
        return _home(p, form=state, status_code=409)
    p.flash("success", "courier.accepted")
    return p.redirect(f"/kurir/tugas/{job.id}")


@router.post("/kurir/tawaran/{offer_id}/tolak")
def decline(offer_id: uuid.UUID, p: CourierPage) -> Response:
    return _act(p, lambda: fleet.decline_offer(p.db, fleet_settings(p.settings), p.me, offer_id),
                "/kurir")


@router.get("/kurir/tugas/{job_id}")
def job_page(job_id: uuid.UUID, p: CourierPage) -> Response:
    return p.render("courier/job.html", **_job_view(p, fleet.courier_job(p.db, p.me, job_id)),
                    form=FormState())


@router.post("/kurir/tugas/{job_id}/status")
def report(job_id: uuid.UUID, p: CourierPage) -> Response:
    raw = str(p.form.get("status") or "")
    state = FormState(values=text_values(p.form))
    if raw not in JobStatus.__members__:
        state.message = p.t("form.invalid")
    else:
        where = _position(p)
        note = str(p.form.get("note") or "").strip() or None
        with service_call(p.db, state, p.t):
            fleet.report(p.db, p.me, job_id, JobStatus(raw),
                           lat=where.lat if where else None, lng=where.lng if where else None,
                           note=note)
    if not state.ok:
        return p.render("courier/job.html", status_code=409,
                        **_job_view(p, fleet.courier_job(p.db, p.me, job_id)), form=state)
    p.flash("success", "op.done")
    return p.redirect(f"/kurir/tugas/{job_id}")
