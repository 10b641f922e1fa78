"""Office admins: the office profile (hours, RTs/RWs, pickup point on the map), the catalog
editor, staff and couriers, delivery settings with subsidy rules. Platform admins: the
offices, and the staff of any office (its first admin).

Forms are translated to the same schemas and service calls as the admin API
(``core.offices``, ``core.catalog``, ``core.accounts``, ``delivery.policy``). Lists (a
service's requirements and form fields, subsidy rules) are edited as rows (``web.rows``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from core.accounts import service as accounts
from core.accounts.schemas import StaffCreate
from core.catalog import service as catalog
from core.catalog.schemas import FIELD_TYPES, ServiceCreate, ServiceUpdate
from core.errors import NotFound
from core.formatting import OFFICE_ZONES
from core.identity import IdentityError, normalize_phone
from core.models import Office, Role
from core.models.catalog import COVER_LETTER_REQUIREMENT
from core.offices import service as offices
from core.offices.schemas import DAYS, OfficeCreate, OfficeUpdate
from delivery import gateway, policy
from web.context import AdminPage, OfficeAdminPage, Page, PlatformAdminPage
from web.forms import FormState, parse, service_call, text_values
from web.mapplot import Point, plot
from web.rows import (
    RowAction,
    row_action,
    row_errors,
    rows_from_form,
    slug_code,
    split_list,
)

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


# --- catalog rows: requirements and form fields ----------------------------------------------

REQ, FLD = "req", "fld"
# The longest answer each field type takes.
FIELD_MAX_LENGTH = {"text": 200, "long_text": 500, "date": 10, "number": 20}


def _ticked(value: Any) -> str:
    return "1" if value in (True, "1") else ""


def requirement_rows(reqs: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """A service's requirements as the editor's rows."""
    return [{"code": r.get("code", ""), "name": r.get("name", ""),
             "upload": _ticked(r.get("upload", True)),
             "original": _ticked(r.get("original", False))} for r in reqs or []]


def requirements_from_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The rows as ``core.catalog.schemas.Requirement`` data; a new row gets its code from
    its name (an existing row keeps its code, which its uploads refer to)."""
    taken = {r["code"] for r in rows if r.get("code")}
    return [{"code": r.get("code") or slug_code(r.get("name", ""), taken),
             "name": r.get("name", ""), "upload": r.get("upload") == "1",
             "original": r.get("original") == "1"} for r in rows]


def field_rows(fields: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    out = []
    for f in fields or []:
        kind = f.get("type") or ("long_text" if int(f.get("max_length", 200)) > 200 else "text")
        out.append({"name": f.get("name", ""), "label": f.get("label", ""), "type": kind,
                    "required": _ticked(f.get("required", True)),
                    "max_length": str(f.get("max_length", ""))})
    return out


def fields_from_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    taken = {r["name"] for r in rows if r.get("name")}
    out = []
    for r in rows:
        kind = r.get("type") if r.get("type") in FIELD_TYPES else "text"
        limit = FIELD_MAX_LENGTH[kind]
        kept = r.get("max_length", "")
        if kept.isdigit() and int(kept) > 0 and kind in ("text", "long_text"):
            # Keep a limit set before: a short text no longer, a long text no shorter.
            limit = min(int(kept), limit) if kind == "text" else max(int(kept), limit)
        out.append({"name": r.get("name") or slug_code(r.get("label", ""), taken),
                    "label": r.get("label", ""), "required": r.get("required") == "1",
                    "type": kind, "max_length": min(limit, 2000)})
    return out


BLANK_ROWS = {REQ: {"code": "", "name": "", "upload": "1", "original": ""},
              FLD: {"name": "", "label": "", "type": "text", "required": "1",
                    "max_length": ""}}


# --- office profile ---------------------------------------------------------------------------

def _office_form(p: Page, state: FormState | None = None, status_code: int = 200) -> Response:
    office = p.me.office
    if state is None:
        state = FormState(values={
            "name": office.name, "address": office.address, "phone": office.phone,
            "whatsapp": office.whatsapp, "email": office.email, "lat": office.lat,
            "timezone": office.timezone,
            "lng": office.lng, "rt_rw": rt_rw_to_text(office.rt_rw or {}),
            **{f"open_{d}": span[0] for d, span in (office.hours or {}).items()},
            **{f"close_{d}": span[1] for d, span in (office.hours or {}).items()}})
    lat = _num(state.values.get("lat"), office.lat)
    lng = _num(state.values.get("lng"), office.lng)
    view = plot([Point(lat, lng, "dest", p.t("admin.pickup_point"))], min_span=0.03)
    zones = [(z, p.t(f"zone.{z}")) for z in OFFICE_ZONES]
    return p.render("admin/office.html", status_code=status_code, form=state, view=view,
                    days=DAYS, zones=zones)


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
            **{flag: "1" for flag in FLAGS if getattr(svc, flag)}}


FLAGS = ("online", "deliverable", "needs_cover_letter", "digital_copy", "enabled")


@dataclass
class ServiceRows:
    requirements: list[dict[str, str]]
    fields: list[dict[str, str]]


def _posted_rows(p: Page) -> tuple[ServiceRows, bool]:
    """The rows as sent; True when an add/remove button sent the form (nothing is saved)."""
    action = row_action(p.form)
    rows = ServiceRows(
        requirements=rows_from_form(p.form, REQ, text_cells=("name",),
                                    remove=_removed(action, REQ)),
        fields=rows_from_form(p.form, FLD, text_cells=("label",),
                              remove=_removed(action, FLD)))
    if action and action.kind == "add" and action.prefix in BLANK_ROWS:
        target = rows.requirements if action.prefix == REQ else rows.fields
        target.append(dict(BLANK_ROWS[action.prefix]))
    return rows, action is not None


def _removed(action: RowAction | None, prefix: str) -> int | None:
    """The row number a "remove" button of ``prefix`` names, if one sent the form."""
    if action is None or action.kind != "remove" or action.prefix != prefix:
        return None
    return action.index


def _service_data(p: Page, rows: ServiceRows) -> dict[str, Any]:
    form = p.form
    return {"legal_basis": lines(str(form.get("legal_basis") or "")),
            "flow_steps": lines(str(form.get("flow_steps") or "")),
            "requirements": requirements_from_rows(rows.requirements),
            "fields": fields_from_rows(rows.fields),
            **{flag: form.get(flag) == "1" for flag in FLAGS}}


def _service_form(p: Page, state: FormState, rows: ServiceRows, *, code: str | None,
                  status_code: int = 200) -> Response:
    return p.render("admin/service.html", status_code=status_code, form=state, code=code,
                    flags=FLAGS, req_rows=rows.requirements or [dict(BLANK_ROWS[REQ])],
                    fld_rows=rows.fields, field_types=FIELD_TYPES,
                    req_errors=row_errors(state.errors, "requirements"),
                    cover_letter_code=COVER_LETTER_REQUIREMENT,
                    fld_errors=row_errors(state.errors, "fields"),
                    blank=BLANK_ROWS)


@router.get("/admin/katalog/baru")
def new_service_page(p: OfficeAdminPage) -> Response:
    return _service_form(p, FormState(values={"online": "1", "deliverable": "1",
                                              "enabled": "1", "processing_days": 1,
                                              "fee": 0}), ServiceRows([], []), code=None)


def _save_service(p: Page, code: str | None) -> Response:
    state = FormState(values=text_values(p.form))
    rows, only_rows = _posted_rows(p)
    if only_rows:  # "add a row" / "remove this row" without script: the form comes back
        return _service_form(p, state, rows, code=code)
    data = parse(ServiceCreate if code is None else ServiceUpdate, state, p.t,
                 **_service_data(p, rows))
    if data is not None:
        with service_call(p.db, state, p.t):
            if code is None:
                catalog.create(p.db, p.me, data)
            else:
                catalog.update(p.db, p.me, code, data)
    if not state.ok:
        if state.errors.get("form"):
            state.message = state.errors["form"]
        return _service_form(p, state, rows, code=code, status_code=422)
    p.flash("success", "op.done")
    return p.redirect("/admin/katalog")


@router.post("/admin/katalog/baru")
def create_service(p: OfficeAdminPage) -> Response:
    return _save_service(p, None)


@router.get("/admin/katalog/{code}")
def service_page(code: str, p: OfficeAdminPage) -> Response:
    svc = catalog.get_for_admin(p.db, p.me, code)
    return _service_form(p, FormState(values=_service_values(svc)),
                         ServiceRows(requirement_rows(svc.requirements),
                                     field_rows(svc.fields)), code=code)


@router.post("/admin/katalog/{code}")
def update_service(code: str, p: OfficeAdminPage) -> Response:
    catalog.get_for_admin(p.db, p.me, code)  # 404 before anything else
    return _save_service(p, code)


# --- staff and couriers -----------------------------------------------------------------------
# Office admins manage their own office's staff; a platform admin picks an office first (a
# new office's first admin is made here).

def _staff_office(p: Page, slug: str | None) -> Office | None:
    """The office whose staff the page shows: the admin's own, or the one a platform admin
    picked (None until they pick one)."""
    if p.me.role != Role.platform_admin:
        return p.me.office
    if not slug:
        return None
    return offices.get_public(p.db, slug)


def _staff(p: Page, office: Office | None, state: FormState | None = None,
           status_code: int = 200) -> Response:
    platform = p.me.role == Role.platform_admin
    users = []
    if office is not None:
        users = [u for u in accounts.visible_users(p.db, p.me, role=None, limit=200, offset=0,
                                                   office_id=office.id)
                 if u.role != Role.resident]
    default_role = "office_admin" if platform and not users else "operator"
    return p.render("admin/staff.html", status_code=status_code, users=users,
                    form=state or FormState(values={"role": default_role}),
                    roles=STAFF_ROLES, office=office, platform=platform,
                    offices=offices.list_public(p.db) if platform else [],
                    rws=sorted((office.rt_rw or {}).keys()) if office else [])


def _staff_url(office: Office | None, platform: bool) -> str:
    return f"/admin/staf?kantor={office.slug}" if platform and office else "/admin/staf"


@router.get("/admin/staf")
def staff_page(p: AdminPage, kantor: str = "") -> Response:
    return _staff(p, _staff_office(p, kantor or None))


@router.post("/admin/staf")
def create_staff(p: AdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    state.values.pop("password", None)
    platform = p.me.role == Role.platform_admin
    slug = str(p.form.get("office") or "") if platform else p.me.office.slug
    office = None
    if slug:
        try:
            office = _staff_office(p, slug)
        except NotFound:
            state.add("office", p.t("admin.pick_office"))
    elif platform:
        state.add("office", p.t("admin.pick_office"))
    data = parse(StaffCreate, state, p.t, password=p.form.get("password") or "",
                 office=office.slug if office else None, rw=p.form.get("rw") or None,
                 phone=p.form.get("phone") or None)
    if data is not None and state.ok:
        with service_call(p.db, state, p.t):
            accounts.create_staff(p.db, p.settings, data, actor=p.me)
    if not state.ok:
        state.message = state.message or p.t("form.fix")
        return _staff(p, office, state, 422)
    p.flash("success", "op.done")
    return p.redirect(_staff_url(office, platform))


@router.post("/admin/staf/{user_id}/aktif")
def toggle_active(user_id: uuid.UUID, p: AdminPage) -> Response:
    active = p.form.get("active") == "1"
    platform = p.me.role == Role.platform_admin
    state = FormState()
    user = None
    with service_call(p.db, state, p.t):
        user = accounts.set_active(p.db, p.me, user_id, active)
    # Back to the list the admin was on: a platform admin's is the user's office.
    office = (user.office if user is not None else None) if platform else p.me.office
    if not state.ok:
        return _staff(p, office, state, 409)
    p.flash("success", "op.done")
    return p.redirect(_staff_url(office, platform))


# --- delivery settings and subsidy rules ------------------------------------------------------

POLICY_NUMBERS = ("max_distance_m", "time_budget_min", "no_courier_timeout_min",
                  "late_pickup_min", "late_delivery_min")
SUB = "sub"
SUBSIDY_TEXT_CELLS = ("name", "rws", "phones", "free", "amount_off", "percent_off",
                      "max_amount")
BLANK_SUBSIDY = {"name": "", "rws": "", "phones": "", "free": "", "amount_off": "",
                 "percent_off": "", "max_amount": ""}


def subsidy_rows(rules: list[Any]) -> list[dict[str, str]]:
    """The office's subsidy rules as the editor's rows."""
    out = []
    for rule in rules:
        data = rule.model_dump() if hasattr(rule, "model_dump") else dict(rule)
        out.append({"name": data.get("name", ""), "rws": ", ".join(data.get("rws") or []),
                    "phones": ", ".join(data.get("phones") or []),
                    "free": _ticked(data.get("free")),
                    "amount_off": str(data.get("amount_off") or ""),
                    "percent_off": str(data.get("percent_off") or ""),
                    "max_amount": "" if data.get("max_amount") is None
                    else str(data["max_amount"])})
    return out


def subsidies_from_rows(rows: list[dict[str, str]], state: FormState, p: Page
                        ) -> list[dict[str, Any]]:
    """The rows as ``delivery.policy.SubsidyRule`` data. RWs are padded (``5`` → ``005``)
    and phones written as residents' phones are stored (``0812…`` → ``+62812…``), so the
    rules match; a phone that is not one is marked on its row."""
    out = []
    for i, row in enumerate(rows):
        rws = split_list(row.get("rws", ""))
        if not all(rw.isdigit() and len(rw) <= 3 for rw in rws):
            state.add(f"subsidy_rules.{i}.rws", p.t("admin.subsidy_rws_invalid"))
        rws = [rw.zfill(3) for rw in rws]
        phones = []
        for raw in split_list(row.get("phones", ""), spaces=False):
            try:
                phones.append(normalize_phone(raw))
            except IdentityError as exc:
                state.add(f"subsidy_rules.{i}.phones", f"{raw}: {p.t.service(str(exc))}")
        named = {"name": row["name"]} if row.get("name") else {}  # blank: "required"
        out.append({**named, "rws": rws, "phones": phones,
                    "free": row.get("free") == "1",
                    "amount_off": row.get("amount_off") or 0,
                    "percent_off": row.get("percent_off") or 0,
                    "max_amount": row.get("max_amount") or None})
    return out


def _delivery_settings(p: Page, state: FormState | None = None, status_code: int = 200, *,
                       rules: list[dict[str, str]] | None = None) -> Response:
    effective = policy.for_office(p.db, p.settings, p.me.office_id)
    if state is None:
        values = {k: getattr(effective, k) for k in POLICY_NUMBERS}
        values["choice_policy"] = str(effective.choice_policy)
        for name in effective.enabled_providers or gateway.enabled_names(p.settings):
            values[f"provider_{name}"] = "1"
        state = FormState(values=values)
    if rules is None:
        rules = subsidy_rows(effective.subsidy_rules)
    return p.render("admin/delivery.html", status_code=status_code, form=state,
                    effective=effective, providers=gateway.enabled_names(p.settings),
                    names={n: gateway.display_name(n) for n in gateway.enabled_names(p.settings)},
                    choices=[str(c) for c in policy.ChoicePolicy],
                    sub_rows=rules, sub_errors=row_errors(state.errors, "subsidy_rules"),
                    blank_subsidy=BLANK_SUBSIDY)


@router.get("/admin/pengantaran")
def delivery_settings_page(p: OfficeAdminPage) -> Response:
    return _delivery_settings(p)


@router.post("/admin/pengantaran")
def update_delivery_settings(p: OfficeAdminPage) -> Response:
    state = FormState(values=text_values(p.form))
    action = row_action(p.form)
    rows = rows_from_form(p.form, SUB, text_cells=SUBSIDY_TEXT_CELLS,
                          remove=_removed(action, SUB))
    if action is not None:  # add/remove a subsidy row without script: nothing is saved
        if action.kind == "add" and action.prefix == SUB:
            rows.append(dict(BLANK_SUBSIDY))
        return _delivery_settings(p, state, rules=rows)
    changes: dict[str, Any] = {k: state.values.get(k) for k in POLICY_NUMBERS}
    changes["choice_policy"] = state.values.get("choice_policy")
    changes["enabled_providers"] = [n for n in gateway.enabled_names(p.settings)
                                    if p.form.get(f"provider_{n}") == "1"]
    changes["subsidy_rules"] = subsidies_from_rows(rows, state, p)
    if state.ok:
        with service_call(p.db, state, p.t):
            policy.update(p.db, p.settings, p.me, changes)
    if not state.ok:
        state.message = state.message or p.t("form.fix")
        return _delivery_settings(p, state, 422, rules=rows)
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
    office = None
    if data is not None:
        with service_call(p.db, state, p.t):
            office = offices.create(p.db, data, actor=p.me)
    if not state.ok or office is None:
        return _offices(p, state, 422)
    # Next step without searching for it: the new office's first admin.
    p.flash("success", "admin.office_created", name=office.name)
    return p.redirect(f"/admin/staf?kantor={office.slug}")
