"""Office admins: the office profile (hours, RTs/RWs, pickup point on the map), the catalog
editor, staff and couriers, delivery settings. Platform admins: the offices.

Forms are translated to the same schemas and service calls as the admin API
(``core.offices``, ``core.catalog``, ``core.accounts``, ``delivery.policy``).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from core.accounts import service as accounts
from core.accounts.schemas import StaffCreate
from core.catalog import service as catalog
from core.catalog.schemas import ServiceCreate, ServiceUpdate
from core.models import Role
from core.offices import service as offices
from core.offices.schemas import DAYS, OfficeCreate, OfficeUpdate
from delivery import gateway, policy
from web.context import OfficeAdminPage, Page, PlatformAdminPage
from web.forms import FormState, parse, service_call, text_values
from web.mapplot import Point, plot

router = APIRouter()

STAFF_ROLES = (Role.operator, Role.rw_admin, Role.courier, Role.office_admin)


# --- helpers: the plain-text shapes office staff can edit -------------------------------------

def hours_from_form(form: Any) -> dict[str, list[str]]:
    """``open_mon``/``close_mon`` pairs; a day without both is closed."""
    out = {}
    for day in DAYS:
        opening, closing = form.get(f"open_{day}"), form.get(f"close_{day}")
        if opening and closing:
            out[day] = [str(opening), str(closing)]
    return out


def rt_rw_from_text(text: str) -> dict[str, list[str]]:
    """One RW per line: ``005: 001, 002, 003`` (RW, colon, its RTs)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        rw, _, rts = line.partition(":")
        out[rw.strip()] = [rt.strip() for rt in rts.replace(";", ",").split(",") if rt.strip()]
    return out


def rt_rw_to_text(rt_rw: dict[str, list[str]]) -> str:
    return "\n".join(f"{rw}: {', '.join(rts)}" for rw, rts in sorted(rt_rw.items()))


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


YES = {"ya", "y", "yes", "1", "true"}


def requirements_from_text(text: str) -> list[dict[str, Any]]:
    """``kode | nama | unggah | asli`` per line (the last two: ya/tidak)."""
    out = []
    for line in lines(text):
        parts = [p.strip() for p in line.split("|")]
        parts += [""] * (4 - len(parts))
        out.append({"code": parts[0], "name": parts[1], "upload": parts[2].lower() in YES,
                    "original": parts[3].lower() in YES})
    return out


def requirements_to_text(reqs: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['code']} | {r['name']} | {'ya' if r.get('upload') else 'tidak'} | "
                     f"{'ya' if r.get('original') else 'tidak'}" for r in reqs or [])


def fields_from_text(text: str) -> list[dict[str, Any]]:
    """``nama | label | wajib`` per line."""
    out = []
    for line in lines(text):
        parts = [p.strip() for p in line.split("|")] + ["", "ya"]
        out.append({"name": parts[0], "label": parts[1] or parts[0],
                    "required": (parts[2] or "ya").lower() in YES})
    return out


def fields_to_text(fields: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['name']} | {f.get('label', '')} | "
                     f"{'ya' if f.get('required', True) else 'tidak'}" for f in fields or [])


# --- office profile ---------------------------------------------------------------------------

def _office_form(p: Page, state: FormState | None = None, status_code: int = 200) -> Response:
    office = p.me.office
    if state is None:
        state = FormState(values={
            "name": office.name, "address": office.address, "phone": office.phone,
            "whatsapp": office.whatsapp, "email": office.email, "lat": office.lat,
            "lng": office.lng, "rt_rw": rt_rw_to_text(office.rt_rw or {}),
            **{f"open_{d}": span[0] for d, span in (office.hours or {}).items()},
            **{f"close_{d}": span[1] for d, span in (office.hours or {}).items()}})
    lat = _num(state.values.get("lat"), office.lat)
    lng = _num(state.values.get("lng"), office.lng)
    view = plot([Point(lat, lng, "dest", p.t("admin.pickup_point"))], min_span=0.03)
    return p.render("admin/office.html", status_code=status_code, form=state, view=view,
                    days=DAYS)


def _num(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


@router.get("/admin/kantor-saya")
def office_page(p: OfficeAdminPage) -> Response:
    return _office_form(p)


@router.post("/admin/kantor-saya")
def update_office(p: OfficeAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(OfficeUpdate, state, p.t, hours=hours_from_form(p.form),
                 rt_rw=rt_rw_from_text(str(p.form.get("rt_rw") or "")))
    if data is not None:
        with service_call(p.db, state, p.t):
            offices.update(p.db, p.me.office.slug, data, actor=p.me)
    if not state.ok:
        return _office_form(p, state, 422)
    p.flash("success", "op.done")
    return p.redirect("/admin/kantor-saya")


# --- catalog editor ---------------------------------------------------------------------------

@router.get("/admin/katalog")
def catalog_page(p: OfficeAdminPage) -> Response:
    return p.render("admin/catalog.html", services=catalog.list_for_admin(p.db, p.me))


def _service_values(svc: Any) -> dict[str, Any]:
    return {"code": svc.code, "name": svc.name, "description": svc.description,
            "processing_days": svc.processing_days, "fee": svc.fee,
            "counter_note": svc.counter_note, "sort_order": svc.sort_order,
            "legal_basis": "\n".join(svc.legal_basis or []),
            "flow_steps": "\n".join(svc.flow_steps or []),
            "requirements": requirements_to_text(svc.requirements),
            "fields": fields_to_text(svc.fields),
            **{flag: "1" for flag in FLAGS if getattr(svc, flag)}}


FLAGS = ("online", "deliverable", "needs_cover_letter", "digital_copy", "enabled")


def _service_data(p: Page) -> dict[str, Any]:
    form = p.form
    return {"legal_basis": lines(str(form.get("legal_basis") or "")),
            "flow_steps": lines(str(form.get("flow_steps") or "")),
            "requirements": requirements_from_text(str(form.get("requirements") or "")),
            "fields": fields_from_text(str(form.get("fields") or "")),
            **{flag: form.get(flag) == "1" for flag in FLAGS}}


def _service_form(p: Page, state: FormState, *, code: str | None, status_code: int = 200
                  ) -> Response:
    return p.render("admin/service.html", status_code=status_code, form=state, code=code,
                    flags=FLAGS)


@router.get("/admin/katalog/baru")
def new_service_page(p: OfficeAdminPage) -> Response:
    return _service_form(p, FormState(values={"online": "1", "deliverable": "1",
                                              "enabled": "1", "processing_days": 1,
                                              "fee": 0}), code=None)


@router.post("/admin/katalog/baru")
def create_service(p: OfficeAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(ServiceCreate, state, p.t, **_service_data(p))
    if data is not None:
        with service_call(p.db, state, p.t):
            catalog.create(p.db, p.me, data)
    if not state.ok:
        return _service_form(p, state, code=None, status_code=422)
    p.flash("success", "op.done")
    return p.redirect("/admin/katalog")


@router.get("/admin/katalog/{code}")
def service_page(code: str, p: OfficeAdminPage) -> Response:
    svc = catalog.get_for_admin(p.db, p.me, code)
    return _service_form(p, FormState(values=_service_values(svc)), code=code)


@router.post("/admin/katalog/{code}")
def update_service(code: str, p: OfficeAdminPage) -> Response:
    catalog.get_for_admin(p.db, p.me, code)  # 404 before anything else
    state = FormState(values=text_values(p.form))
    data = parse(ServiceUpdate, state, p.t, **_service_data(p))
    if data is not None:
        with service_call(p.db, state, p.t):
            catalog.update(p.db, p.me, code, data)
    if not state.ok:
        return _service_form(p, state, code=code, status_code=422)
    p.flash("success", "op.done")
    return p.redirect("/admin/katalog")


# --- staff and couriers -----------------------------------------------------------------------

def _staff(p: Page, state: FormState | None = None, status_code: int = 200) -> Response:
    users = [u for u in accounts.visible_users(p.db, p.me, role=None, limit=200, offset=0)
             if u.role != Role.resident]
    return p.render("admin/staff.html", status_code=status_code, users=users,
                    form=state or FormState(values={"role": "operator"}),
                    roles=STAFF_ROLES, rws=sorted((p.me.office.rt_rw or {}).keys()))


@router.get("/admin/staf")
def staff_page(p: OfficeAdminPage) -> Response:
    return _staff(p)


@router.post("/admin/staf")
def create_staff(p: OfficeAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    state.values.pop("password", None)
    data = parse(StaffCreate, state, p.t, password=p.form.get("password") or "",
                 office=p.me.office.slug, rw=p.form.get("rw") or None,
                 phone=p.form.get("phone") or None)
    if data is not None:
        with service_call(p.db, state, p.t):
            accounts.create_staff(p.db, p.settings, data, actor=p.me)
    if not state.ok:
        return _staff(p, state, 422)
    p.flash("success", "op.done")
    return p.redirect("/admin/staf")


@router.post("/admin/staf/{user_id}/aktif")
def toggle_active(user_id: uuid.UUID, p: OfficeAdminPage) -> Response:
    active = p.form.get("active") == "1"
    state = FormState()
    with service_call(p.db, state, p.t):
        accounts.set_active(p.db, p.me, user_id, active)
    if not state.ok:
        return _staff(p, state, 409)
    p.flash("success", "op.done")
    return p.redirect("/admin/staf")


# --- delivery settings ------------------------------------------------------------------------

POLICY_NUMBERS = ("max_distance_m", "time_budget_min", "no_courier_timeout_min",
                  "late_pickup_min", "late_delivery_min")


def _delivery_settings(p: Page, state: FormState | None = None, status_code: int = 200
                       ) -> Response:
    effective = policy.for_office(p.db, p.settings, p.me.office_id)
    if state is None:
        values = {k: getattr(effective, k) for k in POLICY_NUMBERS}
        values["choice_policy"] = str(effective.choice_policy)
        for name in effective.enabled_providers or gateway.enabled_names(p.settings):
            values[f"provider_{name}"] = "1"
        state = FormState(values=values)
    return p.render("admin/delivery.html", status_code=status_code, form=state,
                    effective=effective, providers=gateway.enabled_names(p.settings),
                    names={n: gateway.display_name(n) for n in gateway.enabled_names(p.settings)},
                    choices=[str(c) for c in policy.ChoicePolicy])


@router.get("/admin/pengantaran")
def delivery_settings_page(p: OfficeAdminPage) -> Response:
    return _delivery_settings(p)


@router.post("/admin/pengantaran")
def update_delivery_settings(p: OfficeAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    changes: dict[str, Any] = {k: state.values.get(k) for k in POLICY_NUMBERS}
    changes["choice_policy"] = state.values.get("choice_policy")
    changes["enabled_providers"] = [n for n in gateway.enabled_names(p.settings)
                                    if p.form.get(f"provider_{n}") == "1"]
    with service_call(p.db, state, p.t):
        policy.update(p.db, p.settings, p.me, changes)
    if not state.ok:
        return _delivery_settings(p, state, 422)
    p.flash("success", "op.done")
    return p.redirect("/admin/pengantaran")


# --- platform admin: offices ------------------------------------------------------------------

def _offices(p: Page, state: FormState | None = None, status_code: int = 200) -> Response:
    return p.render("admin/offices.html", status_code=status_code,
                    offices=offices.list_public(p.db), form=state or FormState())


@router.get("/admin/kantor")
def offices_page(p: PlatformAdminPage) -> Response:
    return _offices(p)


@router.post("/admin/kantor")
def create_office(p: PlatformAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(OfficeCreate, state, p.t, hours={},
                 rt_rw=rt_rw_from_text(str(p.form.get("rt_rw") or "")))
    if data is not None:
        with service_call(p.db, state, p.t):
            offices.create(p.db, data, actor=p.me)
    if not state.ok:
        return _offices(p, state, 422)
    p.flash("success", "op.done")
    return p.redirect("/admin/kantor")
