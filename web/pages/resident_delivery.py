"""Residents' home delivery: where to (typed address or a pin on the offline map), the quotes
with price, ETA and subsidy, the choice, and live tracking with the courier on the map.

The same calls as the delivery API: ``core.requests.handover.choose`` starts a delivery,
``delivery.quotes.service`` lists, chooses and re-asks quotes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from core.db import utcnow
from core.models import DocumentRequest, HandoverMethod, RequestState
from core.requests import handover
from core.requests import service as requests
from delivery import gateway, positions
from delivery.models import Delivery, DeliveryState
from delivery.operators import service as delivery_ops
from delivery.quotes import service as quotes
from delivery.quotes.schemas import DeliveryRequestIn
from web import labels
from web.context import Page, ResidentPage
from web.forms import FormState, parse, service_call, text_values
from web.mapplot import Point, plot

router = APIRouter()

# While these last the page polls; afterwards it stops asking.
LIVE_STATES = frozenset({DeliveryState.quoting, DeliveryState.booking,
                         DeliveryState.searching_courier, DeliveryState.courier_assigned,
                         DeliveryState.picked_up, DeliveryState.in_transit,
                         DeliveryState.returning, DeliveryState.returning_originals})
# Until the courier is at the door: an arrival time and "get the originals ready" make sense.
ON_THE_WAY = frozenset({DeliveryState.booking, DeliveryState.searching_courier,
                        DeliveryState.courier_assigned, DeliveryState.picked_up,
                        DeliveryState.in_transit})
TRACK_STEPS = ("quoting", "awaiting_choice", "searching_courier", "courier_assigned",
               "picked_up", "in_transit", "delivered", "completed")


def _delivery(p: Page, req: DocumentRequest) -> Delivery | None:
    return quotes.latest_of_request(p.db, p.me, req.id)


def _where_form(p: Page, req: DocumentRequest, state: FormState | None = None,
                status_code: int = 200) -> Response:
    user = p.me
    state = state or FormState(values={"address": user.address or "",
                                       "lat": user.lat, "lng": user.lng})
    lat = _float(state.values.get("lat")) or user.lat or req.office.lat
    lng = _float(state.values.get("lng")) or user.lng or req.office.lng
    view = plot([Point(req.office.lat, req.office.lng, "office", req.office.name),
                 Point(lat, lng, "dest", p.t("map.dest"))], min_span=0.03)
    return p.render("resident/delivery_where.html", status_code=status_code, req=req,
                    form=state, view=view)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@router.get("/permohonan/{request_id}/antar")
def delivery_page(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    delivery = _delivery(p, req)
    if req.handover_method == HandoverMethod.delivery and delivery is not None \
            and delivery.state not in (DeliveryState.cancelled,):
        return _quotes_page(p, req, delivery)
    if req.state not in (RequestState.finished, RequestState.handover_pending):
        return p.redirect(f"/permohonan/{req.id}")
    return _where_form(p, req)


@router.post("/permohonan/{request_id}/antar")
def start_delivery(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    state = FormState(values=text_values(p.form))
    data = parse(DeliveryRequestIn, state, p.t, request_id=str(req.id))
    if data is not None:
        with service_call(p.db, state, p.t):
            handover.choose(p.db, p.me, req.id, HandoverMethod.delivery, address=data.address,
                            lat=data.lat, lng=data.lng, note=data.note)
    if not state.ok:
        if {"lat", "lng"} & set(state.errors):
            state.errors.setdefault("address", p.t("delivery.pin_needed"))
        return _where_form(p, requests.get_own(p.db, p.me, request_id), state, 422)
    return p.redirect(f"/permohonan/{req.id}/antar")


def _quote_rows(delivery: Delivery, now: datetime) -> list[dict[str, Any]]:
    return [{"q": q, "name": gateway.display_name(q.provider), "expired": q.is_expired(now),
             "eta_s": q.dropoff_eta_s}
            for q in quotes.current_quotes(delivery)]


def _quotes_page(p: Page, req: DocumentRequest, delivery: Delivery,
                 state: FormState | None = None, status_code: int = 200) -> Response:
    if delivery.state not in (DeliveryState.quoting, DeliveryState.awaiting_choice):
        return p.redirect(f"/permohonan/{req.id}/lacak")
    template = "resident/_quotes.html" if p.request.headers.get("hx-request") \
        else "resident/delivery_quotes.html"
    return p.render(template, status_code=status_code, req=req, delivery=delivery,
                    rows=_quote_rows(delivery, utcnow()), form=state or FormState(),
                    live=delivery.state == DeliveryState.quoting)


@router.get("/permohonan/{request_id}/antar/_penawaran")
def quotes_live(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    delivery = _delivery(p, req)
    if delivery is None:
        return p.redirect(f"/permohonan/{req.id}")
    if delivery.state not in (DeliveryState.quoting, DeliveryState.awaiting_choice):
        response = Response(status_code=204)
        response.headers["HX-Redirect"] = f"/permohonan/{req.id}/lacak"
        return response
    return _quotes_page(p, req, delivery)


@router.post("/permohonan/{request_id}/antar/pilih")
def choose_quote(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    delivery = _delivery(p, req)
    state = FormState(values=text_values(p.form))
    if delivery is None:
        return p.redirect(f"/permohonan/{req.id}")
    try:
        quote_id = uuid.UUID(str(p.form.get("quote_id")))
    except ValueError:
        state.add("quote_id", p.t("delivery.choose_one"))
        state.message = p.t("delivery.choose_one")
        return _quotes_page(p, req, delivery, state, 422)
    with service_call(p.db, state, p.t):
        quotes.choose(p.db, p.me, delivery.id, quote_id)
    if not state.ok:
        return _quotes_page(p, req, _delivery(p, req) or delivery, state, 409)
    return p.redirect(f"/permohonan/{req.id}/lacak")


@router.post("/permohonan/{request_id}/antar/ulang")
def ask_again(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    delivery = _delivery(p, req)
    state = FormState()
    if delivery is not None:
        with service_call(p.db, state, p.t):
            quotes.requote(p.db, quotes.own(p.db, p.me, delivery.id, lock=True), actor=p.me,
                           note="Diminta ulang oleh pemohon")
    return p.redirect(f"/permohonan/{req.id}/antar")


def tracking_context(p: Page, req: DocumentRequest, delivery: Delivery) -> dict[str, Any]:
    """Everything the tracking page shows; also used by the operators' delivery screen."""
    attempt = positions.outbound_attempt(delivery)
    courier = dict(attempt.courier or {}) if attempt else {}
    # Provider reports and the office's own couriers' app alike (delivery.positions).
    position = positions.courier_position(p.db, delivery)
    points = [Point(req.office.lat, req.office.lng, "office", req.office.name)]
    if position:
        points.append(Point(position[0], position[1], "courier", courier.get("name") or ""))
    points.append(Point(delivery.lat, delivery.lng, "dest", p.t("map.dest")))
    eta = None
    chosen = next((q for q in delivery.quotes if q.id == delivery.chosen_quote_id), None)
    on_the_way = delivery.state in ON_THE_WAY
    if attempt and attempt.booked_at and chosen and chosen.dropoff_eta_s and on_the_way:
        eta = attempt.booked_at + timedelta(seconds=chosen.dropoff_eta_s)
    return {"delivery": delivery, "attempt": attempt, "courier": courier,
            "provider_name": gateway.display_name(attempt.provider) if attempt else None,
            "view": plot(points), "eta": eta, "live": delivery.state in LIVE_STATES,
            # After the handover (or a failed one) there is nothing to get ready for.
            "show_originals": on_the_way and bool(delivery.originals),
            "provider_tracking_url": attempt.tracking_url if attempt else None,
            "steps": TRACK_STEPS, "step_index": _step_index(delivery.state),
            "history": _history(p, delivery)}


def _step_index(state: str) -> int:
    mapping = {"booking": "searching_courier", "returning_originals": "delivered",
               "originals_received": "delivered"}
    key = mapping.get(state, state)
    return TRACK_STEPS.index(key) if key in TRACK_STEPS else -1


def _history(p: Page, delivery: Delivery) -> list[dict[str, Any]]:
    out = []
    for item in delivery_ops.timeline(p.db, delivery):
        if item["kind"] == "audit" and item.get("to"):
            out.append({"at": item["at"],
                        "text": labels.label(p.t, labels.DELIVERY_STATE, item["to"]),
                        "note": labels.note(p.t, item.get("note"))})
    return out


@router.get("/permohonan/{request_id}/lacak")
def tracking_page(request_id: uuid.UUID, p: ResidentPage) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    delivery = _delivery(p, req)
    if delivery is None:
        return p.redirect(f"/permohonan/{req.id}")
    template = "resident/_tracking.html" if p.request.headers.get("hx-request") \
        else "resident/tracking.html"
    return p.render(template, req=req, **tracking_context(p, req, delivery))
