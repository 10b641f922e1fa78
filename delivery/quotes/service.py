"""Quotes: create the delivery, fan out to every eligible provider under a deadline, store
what came back (with the subsidy shown before the choice), then let the resident choose or
choose by policy.

:func:`refresh_quotes` is a boundary (the ``delivery.quote`` task): it commits what it read,
calls providers outside any transaction, then records the answers in a new unit of work.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.db import unit_of_work, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.formatting import format_when
from core.models import DocumentRequest, Office, User
from core.notifications import notify_user
from core.outbox import enqueue
from core.requests.handover import DeliveryDestination
from core.settings import Settings, get_settings
from delivery import breaker, gateway, policy
from delivery.flow import TASK_QUOTE, offer_pickup, start_booking
from delivery.metrics import provider_call
from delivery.models import Delivery, DeliveryQuote
from delivery.models import DeliveryState as D
from delivery.policy import ChoicePolicy, Policy
from delivery.repository import DeliveryRepository
from delivery.states import set_state
from providers.errors import TransientProviderError
from providers.types import Coordinates, Place, Quote, QuoteRequest, courier_text

log = logging.getLogger("sipoke.delivery")
RETRY_QUOTES_AFTER = timedelta(seconds=30)


class QuoteExpiredError(Conflict):
    code = "quote_expired"
    message = "Penawaran sudah kedaluwarsa; penawaran baru sedang diminta."


# --- creating the delivery (the DeliveryPort's start) -----------------------------------------

def start(session: Session, request: DocumentRequest, destination: DeliveryDestination, *,
          actor: User) -> Delivery:
    settings = get_settings()
    office = request.office
    rules = policy.for_office(session, settings, office.id)
    try:
        dropoff = Coordinates(lat=destination.lat, lng=destination.lng)
    except ValueError:
        raise ValidationFailed("lat", "Titik lokasi tidak valid.") from None
    distance = Coordinates(lat=office.lat, lng=office.lng).distance_m(dropoff)
    if distance > rules.max_distance_m:
        raise ValidationFailed("address", f"Alamat di luar jangkauan antar kantor "
                                          f"(maksimal {rules.max_distance_m / 1000:g} km).")
    repo = DeliveryRepository(session)
    if repo.open_for_request(request.id) is not None:
        raise Conflict("Pengantaran untuk permohonan ini sudah berjalan.")
    now = utcnow()
    delivery = repo.add(Delivery(
        office_id=office.id, request_id=request.id, resident_id=request.resident_id,
        state=D.quoting, state_changed_at=now, recipient_name=destination.recipient_name,
        recipient_phone=destination.recipient_phone, address=destination.address,
        lat=destination.lat, lng=destination.lng, note=destination.note, distance_m=distance,
        originals=[{"code": r["code"], "name": r["name"]} for r in request.service.originals],
        choice_policy=str(rules.choice_policy),
        auto_choose=rules.choice_policy != ChoicePolicy.resident,
        budget_deadline=now + timedelta(minutes=rules.time_budget_min),
    ))
    audit.record(session, action="delivery.created", entity_type="delivery",
                 entity_id=delivery.id, office_id=office.id, actor=actor, to_state="quoting",
                 data={"request_id": str(request.id), "distance_m": distance})
    enqueue(session, TASK_QUOTE, delivery_id=delivery.id)
    return delivery


# --- the fan-out -------------------------------------------------------------------------------

def _ask_one(settings: Settings, name: str, request: QuoteRequest) -> Quote:
    with gateway.adapter(name, settings) as adapter, provider_call(name, "quote"):
        return adapter.quote(request)


def collect(settings: Settings, names: list[str], request: QuoteRequest, deadline_s: float
            ) -> tuple[list[Quote], dict[str, BaseException | None]]:
    """Ask every provider at once; whatever has not answered by the deadline is dropped
    (``errors[name]`` None means it timed out). Never called inside a transaction."""
    quotes: list[Quote] = []
    errors: dict[str, BaseException | None] = {}
    if not names:
        return quotes, errors
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="quote")
    try:
        futures = {pool.submit(_ask_one, settings, name, request): name for name in names}
        done, not_done = wait(futures, timeout=deadline_s)
        for future in done:
            name = futures[future]
            error = future.exception()
            if error is None:
                quotes.append(future.result())
            else:
                errors[name] = error
        for future in not_done:
            errors[futures[future]] = None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return quotes, errors


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "timeout"
    return f"{type(error).__name__}: {error}"[:300]


def refresh_quotes(delivery_id: uuid.UUID) -> str:
    settings = get_settings()
    with unit_of_work() as session:
        delivery = DeliveryRepository(session).get(delivery_id)
        if delivery is None or delivery.state != D.quoting:
            return "skipped"
        rules = policy.for_office(session, settings, delivery.office_id)
        office = session.get(Office, delivery.office_id)
        assert office is not None
        names = gateway.eligible(settings, office_enabled=rules.enabled_providers,
                                 distance_m=delivery.distance_m or 0,
                                 excluded=delivery.excluded_providers or [])
        allowed = [n for n in names if breaker.allow(session, n)]
        request = QuoteRequest(
            pickup=Place(coordinates=Coordinates(lat=office.lat, lng=office.lng),
                         address=courier_text(office.address)),
            dropoff=Place(coordinates=Coordinates(lat=delivery.lat, lng=delivery.lng),
                          address=courier_text(delivery.address)),
            office_id=str(office.id))
    quotes, errors = collect(settings, allowed, request, rules.quote_deadline_s)
    with unit_of_work() as session:
        return _record(session, settings, delivery_id, rules, quotes, errors,
                       blocked=sorted(set(names) - set(allowed)))


def _record(session: Session, settings: Settings, delivery_id: uuid.UUID, rules: Policy,
            quotes: list[Quote], errors: dict[str, BaseException | None],
            blocked: list[str]) -> str:
    delivery = DeliveryRepository(session).get(delivery_id, lock=True)
    if delivery is None or delivery.state != D.quoting:
        return "skipped"
    for quote in quotes:
        breaker.record_success(session, quote.provider)
    for name, error in errors.items():
        if error is None or isinstance(error, TransientProviderError):
            breaker.record_failure(session, name, _describe(error),
                                   retry_after=getattr(error, "retry_after", None))
    delivery.quote_errors = {**{n: _describe(e) for n, e in errors.items()},
                             **dict.fromkeys(blocked, "circuit_open")}
    rows = store_quotes(session, delivery, rules, quotes)
    if not rows:
        retryable = blocked or any(e is None or isinstance(e, TransientProviderError)
                                   for e in errors.values())
        if retryable and utcnow() + RETRY_QUOTES_AFTER < delivery.budget_deadline:
            enqueue(session, TASK_QUOTE, delay=RETRY_QUOTES_AFTER, delivery_id=delivery.id)
            return "retry_later"
        offer_pickup(session, delivery, "Tidak ada penyedia kurir yang tersedia")
        return "no_quotes"
    if delivery.auto_choose:
        best = choose_best(rows, rules)
        start_booking(session, delivery, best, note=f"Dipilih otomatis ({rules.choice_policy})")
        return "booking"
    set_state(session, delivery, D.awaiting_choice, note=f"{len(rows)} penawaran")
    resident = session.get(User, delivery.resident_id)
    if resident is not None:
        until = min(r.expires_at for r in rows)
        notify_user(session, resident, "delivery_quotes_ready", count=len(rows),
                    reference=_reference(session, delivery),
                    until=format_when(until, _office_zone(session, delivery), style="time"))
    return "awaiting_choice"


def _office_zone(session: Session, delivery: Delivery) -> str | None:
    office = session.get(Office, delivery.office_id)
    return office.timezone if office else None


def _reference(session: Session, delivery: Delivery) -> str:
    request = session.get(DocumentRequest, delivery.request_id)
    return request.reference if request else "-"


def store_quotes(session: Session, delivery: Delivery, rules: Policy, quotes: list[Quote]
                 ) -> list[DeliveryQuote]:
    resident = session.get(User, delivery.resident_id)
    phone, rw = (resident.phone, resident.rw) if resident else (None, None)
    number = DeliveryRepository(session).last_quote_round(delivery.id) + 1
    rows = []
    for quote in quotes:
        subsidy, _rule = rules.subsidy(quote.price.amount, phone=phone, rw=rw)
        row = DeliveryQuote(
            delivery_id=delivery.id, office_id=delivery.office_id, round=number,
            provider=quote.provider, provider_quote_id=quote.provider_quote_id,
            price=quote.price.amount, subsidy=subsidy,
            resident_pays=quote.price.amount - subsidy, vehicle=str(quote.vehicle),
            distance_m=quote.distance_m, pickup_eta_s=quote.pickup_eta_s,
            dropoff_eta_s=quote.dropoff_eta_s, expires_at=quote.expires_at)
        session.add(row)
        rows.append(row)
    session.flush()
    session.expire(delivery, ["quotes"])
    return rows


def _eta(quote: DeliveryQuote) -> int:
    return (quote.pickup_eta_s or 10**6) + (quote.dropoff_eta_s or 10**6)


def choose_best(quotes: list[DeliveryQuote], rules: Policy) -> DeliveryQuote:
    """The automatic choice. ``resident`` (a failover) falls back to the preferred order,
    then the cheapest."""
    def preferred(q: DeliveryQuote) -> int:
        order = rules.preferred_order
        return order.index(q.provider) if q.provider in order else len(order)

    cheapest = (lambda q: (q.resident_pays, q.price, _eta(q), q.provider))  # noqa: E731
    if rules.choice_policy == ChoicePolicy.fastest:
        return min(quotes, key=lambda q: (_eta(q), q.resident_pays, q.provider))
    if rules.choice_policy in (ChoicePolicy.preferred, ChoicePolicy.resident):
        return min(quotes, key=lambda q: (preferred(q), *cheapest(q)))
    return min(quotes, key=cheapest)


def current_quotes(delivery: Delivery) -> list[DeliveryQuote]:
    if not delivery.quotes:
        return []
    latest = max(q.round for q in delivery.quotes)
    return sorted((q for q in delivery.quotes if q.round == latest),
                  key=lambda q: (q.resident_pays, q.provider))


# --- the resident's side --------------------------------------------------------------------

def own(session: Session, resident: User, delivery_id: uuid.UUID, *, lock: bool = False
        ) -> Delivery:
    delivery = DeliveryRepository(session).get(delivery_id, lock=lock)
    if delivery is None or delivery.resident_id != resident.id:
        raise NotFound("Pengantaran tidak ditemukan.")
    return delivery


def choose(session: Session, resident: User, delivery_id: uuid.UUID, quote_id: uuid.UUID
           ) -> Delivery:
    # B2's hot path: the delivery locked with its quotes and attempts in one statement.
    delivery = DeliveryRepository(session).lock_with_collections(delivery_id)
    if delivery is None or delivery.resident_id != resident.id:
        raise NotFound("Pengantaran tidak ditemukan.")
    if delivery.state != D.awaiting_choice:
        raise Conflict("Pengantaran ini tidak sedang menunggu pilihan kurir.",
                       state=str(delivery.state))
    quote = next((q for q in current_quotes(delivery) if q.id == quote_id), None)
    if quote is None:
        raise NotFound("Penawaran tidak ditemukan.")
    if quote.is_expired(utcnow()):
        requote(session, delivery, actor=resident, note="Penawaran kedaluwarsa")
        raise QuoteExpiredError().keeping_changes()
    attempt = start_booking(session, delivery, quote, actor=resident,
                            note=f"Dipilih pemohon: {gateway.display_name(quote.provider)}")
    # The answer shows the new attempt: added to the loaded collection as stored (no reload,
    # nothing more to write; the collection is in creation order).
    set_committed_value(delivery, "attempts", [*delivery.attempts, attempt])
    return delivery


def requote(session: Session, delivery: Delivery, *, actor: User | None, note: str) -> Delivery:
    if delivery.state == D.quoting:
        return delivery
    if delivery.state != D.awaiting_choice:
        raise Conflict("Penawaran tidak dapat diminta ulang sekarang.", state=str(delivery.state))
    set_state(session, delivery, D.quoting, actor=actor, note=note)
    enqueue(session, TASK_QUOTE, delivery_id=delivery.id)
    return delivery


def expired_choices(session: Session, now: datetime) -> int:
    """Re-ask deliveries whose every current quote has expired while the resident chose."""
    count = 0
    for delivery in DeliveryRepository(session).in_states([D.awaiting_choice],
                                                          changed_before=now):
        quotes = current_quotes(delivery)
        if quotes and all(q.is_expired(now) for q in quotes):
            requote(session, delivery, actor=None, note="Semua penawaran kedaluwarsa")
            count += 1
    return count


def latest_of_request(session: Session, resident: User, request_id: uuid.UUID
                      ) -> Delivery | None:
    """The resident's latest delivery of their request (None when there is none, or the
    request is someone else's)."""
    delivery = DeliveryRepository(session).latest_for_request(request_id)
    if delivery is None or delivery.resident_id != resident.id:
        return None
    return delivery
