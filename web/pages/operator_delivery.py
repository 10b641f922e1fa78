"""Operators' delivery screens: exceptions on the dashboard, the delivery list and detail with
its full timeline and actions, the envelope label, provider health, and the printable daily
handover sheet. Calls ``delivery.operators.service`` and ``delivery.handover.service``, the
same functions as ``/api/v1/operator/...``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from core.db import utcnow
from core.models import RequestState
from core.requests import processing
from core.requests import service as requests
from delivery import gateway
from delivery.handover import service as handover
from delivery.models import Delivery
from delivery.operators import service as ops
from web import labels, reports
from web.context import OperatorPage, Page
from web.forms import FormState, service_call, text_values
from web.pages.resident_delivery import tracking_context
from web.templating import local_time
from web.views import inline_qr

router = APIRouter()


@dataclass(frozen=True)
class ExceptionRow:
    label: str
    reference: str
    resident: str
    since: datetime
    url: str


def exceptions_for(p: Page) -> list[ExceptionRow]:
    """Flagged deliveries (stuck, late, no courier, failed, returned, PIN locked...)."""
    flagged = ops.flagged(p.db, p.me, limit=100)
    refs = _references(p, flagged)
    return [ExceptionRow(label=p.t(f"alert.{d.alert}"), reference=refs[d.id],
                         resident=d.recipient_name, since=d.alert_at or d.state_changed_at,
                         url=f"/operator/pengantaran/{d.id}")
            for d in flagged]


def _references(p: Page, deliveries: list[Delivery]) -> dict[uuid.UUID, str]:
    """Each delivery's request reference, by delivery id, in one query."""
    by_request = requests.office_references(p.db, p.me, {d.request_id for d in deliveries})
    return {d.id: by_request.get(d.request_id, "") for d in deliveries}


@router.get("/operator/pengantaran")
def deliveries_page(p: OperatorPage) -> Response:
    items = ops.listing(p.db, p.me, states=None, limit=200, offset=0)
    refs = _references(p, items)
    return p.render("operator/deliveries.html", items=items, refs=refs,
                    summary=ops.summary(p.db, p.me))


def _detail(p: Page, delivery_id: uuid.UUID, *, form: FormState | None = None,
            envelope: handover.Envelope | None = None, status_code: int = 200) -> Response:
    delivery = ops.get(p.db, p.me, delivery_id)
    req = requests.get_visible(p.db, p.me, delivery.request_id)
    context = tracking_context(p, req, delivery)
    return p.render("operator/delivery.html", status_code=status_code, req=req,
                    timeline=[_describe(p, i) for i in ops.timeline(p.db, delivery)],
                    providers=gateway.enabled_names(p.settings),
                    provider_names={n: gateway.display_name(n)
                                    for n in gateway.enabled_names(p.settings)},
                    form=form or FormState(), envelope=envelope, **context)


def _describe(p: Page, item: dict[str, Any]) -> dict[str, Any]:
    """One line of the delivery's history in words (state change, provider event, handover)."""
    if item["kind"] == "audit":
        if item["action"] == "delivery.state_changed" and item.get("to"):
            text = labels.label(p.t, labels.DELIVERY_STATE, item["to"],
                                fallback=p.t("audit.delivery.state_changed"))
        else:
            text = labels.audit_action(p.t, item["action"], item.get("data"))
        return {"at": item["at"], "text": f"{text} · {labels.role(p.t, item.get('actor'))}",
                "note": labels.note(p.t, item.get("note"))}
    if item["kind"] == "provider_event":
        name = gateway.display_name(item["provider"])
        status, how = labels.provider_event(p.t, item["status"], item["source"],
                                            item["outcome"])
        return {"at": item["at"], "text": f"{name}: {status}", "note": how}
    return {"at": item["at"], "text": p.t(f"hstep.{item['step']}"),
            "note": item.get("courier_name")}


@router.get("/operator/pengantaran/{delivery_id}")
def delivery_page(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    return _detail(p, delivery_id)


def _act(p: Page, delivery_id: uuid.UUID, action) -> Response:
    state = FormState(values=text_values(p.form))
    with service_call(p.db, state, p.t):
        action()
    if not state.ok:
        return _detail(p, delivery_id, form=state, status_code=409)
    p.flash("success", "op.done")
    return p.redirect(f"/operator/pengantaran/{delivery_id}")


@router.post("/operator/pengantaran/{delivery_id}/ulang")
def retry(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    provider = str(p.form.get("provider") or "") or None
    return _act(p, delivery_id, lambda: ops.retry_with_another(p.db, p.me, delivery_id,
                                                               provider=provider))


@router.post("/operator/pengantaran/{delivery_id}/batal")
def cancel(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    reason = str(p.form.get("reason") or "").strip()
    if len(reason) < 3:
        state = FormState(values=text_values(p.form))
        state.add("reason", p.t("form.required"))
        return _detail(p, delivery_id, form=state, status_code=422)
    return _act(p, delivery_id, lambda: ops.cancel(p.db, p.me, delivery_id, reason))


@router.post("/operator/pengantaran/{delivery_id}/ambil-di-kantor")
def switch_to_pickup(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, delivery_id, lambda: ops.cancel(p.db, p.me, delivery_id,
                                                   "Dialihkan ke ambil di kantor"))


@router.post("/operator/pengantaran/{delivery_id}/asli-diterima")
def originals_received(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    checked = [v for v in p.form.getlist("originals_checked") if isinstance(v, str)]
    return _act(p, delivery_id, lambda: handover.confirm_originals(p.db, p.me, delivery_id,
                                                                   checked))


@router.post("/operator/pengantaran/{delivery_id}/reset-pin")
def reset_pin(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, delivery_id, lambda: ops.reset_pin(p.db, p.me, delivery_id))


@router.post("/operator/pengantaran/{delivery_id}/tanpa-pin")
def close_without_pin(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    reason = str(p.form.get("reason") or "")
    return _act(p, delivery_id, lambda: handover.close_without_pin(p.db, p.me, delivery_id,
                                                                   reason))


@router.post("/operator/pengantaran/{delivery_id}/jemput-asli")
def send_for_originals(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    reason = str(p.form.get("reason") or "")
    return _act(p, delivery_id, lambda: handover.send_for_originals(p.db, p.me, delivery_id,
                                                                    reason))


@router.post("/operator/pengantaran/{delivery_id}/selesai-ditangani")
def clear_alert(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, delivery_id, lambda: ops.clear_alert(p.db, p.me, delivery_id))


@router.post("/operator/pengantaran/{delivery_id}/amplop")
def print_envelope(delivery_id: uuid.UUID, p: OperatorPage) -> Response:
    """A new envelope label (the previous one stops working): shown for printing at once,
    because the token is never stored in the clear."""
    state = FormState()
    envelope = None
    with service_call(p.db, state, p.t):
        delivery = ops.get(p.db, p.me, delivery_id, lock=True)
        envelope = handover.issue_envelope(p.db, p.me, delivery)
    if envelope is None or not state.ok:
        return _detail(p, delivery_id, form=state, status_code=409)
    req = requests.get_visible(p.db, p.me, delivery.request_id)
    return p.render("operator/envelope.html", delivery=delivery, req=req, envelope=envelope,
                    qr=_qr_markup(envelope.url))


def _qr_markup(url: str):

    return inline_qr(url)


REPORT_LIMIT = 5000  # an office's deliveries in the window; far above a kelurahan's month


def _office_deliveries(p: Page) -> list[Delivery]:
    return ops.listing(p.db, p.me, states=None, limit=REPORT_LIMIT, offset=0)


@router.get("/operator/mitra")
def providers_page(p: OperatorPage) -> Response:
    """Breaker state from the delivery service; success rate and median time to a courier
    computed from this office's deliveries."""
    deliveries = _office_deliveries(p)
    events = ops.assignment_events(p.db, deliveries, reports.ASSIGNED)
    stats = reports.provider_stats(deliveries, events)
    rows = [{**h, **stats.get(h["name"], {})} for h in ops.provider_health(p.db)]
    return p.render("operator/providers.html", providers=rows)


def _month(value: str, zone: str | None) -> tuple[int, int]:
    now = reports.month_of(utcnow(), zone)
    try:
        year, month = (int(x) for x in value.split("-", 1))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return now


@router.get("/operator/biaya")
def costs_page(p: OperatorPage, bulan: str = "") -> Response:
    year, month = _month(bulan, p.me.office.timezone)
    rows = reports.monthly_costs(ops.booked_in_month(p.db, p.me, year, month), year, month,
                                 p.me.office.timezone)
    names = {r.provider: gateway.display_name(r.provider) for r in rows}
    return p.render("operator/costs.html", rows=rows, names=names, month=f"{year:04d}-{month:02d}",
                    total={"deliveries": sum(r.deliveries for r in rows),
                           "provider_price": sum(r.provider_price for r in rows),
                           "subsidy": sum(r.subsidy for r in rows),
                           "resident_paid": sum(r.resident_paid for r in rows)})


@router.get("/operator/biaya.csv")
def costs_csv(p: OperatorPage, bulan: str = "") -> Response:
    year, month = _month(bulan, p.me.office.timezone)
    rows = reports.monthly_costs(ops.booked_in_month(p.db, p.me, year, month), year, month,
                                 p.me.office.timezone)
    names = {r.provider: gateway.display_name(r.provider) for r in rows}
    body = reports.costs_csv(rows, names, year, month)
    filename = f"biaya-antar-{p.me.office.slug}-{year:04d}-{month:02d}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/operator/serah-terima")
def handover_sheet(p: OperatorPage) -> Response:
    """The day's documents waiting at the counter or for a courier, on paper: if the system
    goes down the counter keeps handing over by hand with this sheet."""
    items = processing.queue(p.db, p.me, states=[RequestState.finished,
                                                 RequestState.handover_pending],
                             mine=False, limit=500, offset=0)
    return p.render("operator/handover_sheet.html", items=items,
                    printed_at=local_time(utcnow()), office=p.me.office)


def delivery_of(p: Page, request_id: uuid.UUID) -> Delivery | None:
    return ops.for_request(p.db, p.me, request_id)
