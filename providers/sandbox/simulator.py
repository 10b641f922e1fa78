"""The simulated courier company: quotes, orders and a courier lifecycle over (scaled) time.

Everything lives in memory behind one lock. An order is planned at creation as a timeline
of phases on the simulated clock (searching, riding to the pickup, handover, riding to the
drop-off, handover, done); :meth:`Simulator.tick`, called by a background thread, emits one
webhook event per phase reached, in order, plus location pings while the courier moves.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote as url_quote

from core.identity import contains_nik
from providers.sandbox.config import SandboxServerConfig, Switches
from providers.sandbox.webhooks import WebhookDispatcher
from providers.types import Coordinates

MOVING = {"ASSIGNED", "ON_DELIVERY", "RETURNING"}
TERMINAL = {"COMPLETED", "RETURNED", "CANCELLED", "NO_DRIVER"}
CANCELLABLE = {"CREATED", "ALLOCATING", "ASSIGNED", "AT_PICKUP"}
AFTER_PICKUP = {"PICKED_UP", "ON_DELIVERY", "AT_DROPOFF", "COMPLETED", "RETURNING", "RETURNED"}
RECIPIENT_ABSENT = "Penerima tidak ada di tempat"
NO_DRIVER_REASON = "Tidak ada kurir yang menerima pesanan"
COURIERS = [("Joko Susilo", "B 3121 KJT"), ("Wahyu Pratama", "B 4410 UYR"),
            ("Rudi Hartono", "F 2231 PQ"), ("Asep Saepudin", "B 6672 TZA")]


class SandboxError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Phase:
    status: str
    start: float  # simulated seconds
    duration: float
    origin: Coordinates | None
    dest: Coordinates | None

    def position(self, t: float) -> Coordinates | None:
        if self.origin is None or self.dest is None:
            return None
        frac = 1.0 if self.duration <= 0 else min(1.0, max(0.0, (t - self.start) / self.duration))
        return Coordinates(lat=self.origin.lat + (self.dest.lat - self.origin.lat) * frac,
                           lng=self.origin.lng + (self.dest.lng - self.origin.lng) * frac)


@dataclass
class Order:
    order_id: str
    reference: str
    price: int
    distance_m: int
    pickup: dict[str, Any]
    dropoff: dict[str, Any]
    phases: list[Phase]
    courier: dict[str, Any] | None
    created_at: datetime
    emitted: int = 0
    last_ping: float = 0.0
    held: dict[str, Any] | None = None
    phase_times: dict[int, datetime] = field(default_factory=dict)


def _offset(point: Coordinates, metres: float, bearing: float) -> Coordinates:
    dlat = metres * math.cos(bearing) / 111_320
    dlng = metres * math.sin(bearing) / (111_320 * max(0.2, math.cos(math.radians(point.lat))))
    return Coordinates(lat=point.lat + dlat, lng=point.lng + dlng)


def price_for(distance_m: int) -> int:
    """Rp 8.000 flag fall + Rp 2.500/km, rounded up to Rp 500."""
    raw = 8_000 + 2_500 * distance_m / 1000
    return int(math.ceil(raw / 500) * 500)


class Simulator:
    def __init__(self, config: SandboxServerConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.switches: Switches = config.switches.model_copy()
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.lock = threading.RLock()
        self.quotes: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, Order] = {}
        self.by_reference: dict[str, str] = {}
        self._real0, self._sim0 = clock(), 0.0
        self.webhooks = WebhookDispatcher(
            url=config.webhook_url, secret=config.webhook_secret,
            max_attempts=config.webhook_max_attempts, retry_base_s=config.webhook_retry_base_s,
            timeout_s=config.webhook_timeout_s, rng=random.Random(config.seed))
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._run, name="sandbox-ticker", daemon=True)

    # --- clock ----------------------------------------------------------------------------

    def sim_now(self) -> float:
        return self._sim0 + (self.clock() - self._real0) * self.switches.time_scale

    def _real_time(self, sim: float) -> datetime:
        real = self._real0 + (sim - self._sim0) / self.switches.time_scale
        return datetime.fromtimestamp(real, UTC)

    def update_switches(self, changes: dict[str, Any]) -> Switches:
        with self.lock:
            merged = Switches(**{**self.switches.model_dump(), **changes})
            if merged.time_scale != self.switches.time_scale:
                self._sim0, self._real0 = self.sim_now(), self.clock()  # re-base the clock
            self.switches = merged
            return merged

    def roll(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def jitter(self, upper_ms: int) -> float:
        """A random extra latency in [0, upper_ms] milliseconds."""
        if upper_ms <= 0:
            return 0.0
        with self.lock:
            return self.rng.uniform(0, upper_ms)

    # --- quotes and orders ----------------------------------------------------------------

    def create_quote(self, pickup: Coordinates, dropoff: Coordinates, vehicle: str) -> dict:
        if vehicle != "motorcycle":
            raise SandboxError(422, "VALIDATION", f"vehicle '{vehicle}' is not offered")
        distance = pickup.distance_m(dropoff)
        if distance > self.config.max_distance_m or not _in_indonesia(pickup, dropoff):
            raise SandboxError(422, "OUT_OF_SERVICE_AREA", "outside the service area")
        scale = self.switches.time_scale
        pickup_eta = self.config.search_s + 1200 / self.config.speed_mps
        quote = {
            "quote_id": "sq_" + uuid.uuid4().hex[:20],
            "price": {"amount": price_for(distance), "currency": "IDR"},
            "distance_m": distance, "vehicle": vehicle,
            "expires_at": (datetime.fromtimestamp(self.clock(), UTC)
                           + timedelta(seconds=self.switches.quote_validity_s)).isoformat(),
            "pickup_eta_s": round(pickup_eta / scale),
            "dropoff_eta_s": round((pickup_eta + self.config.handover_s
                                    + distance / self.config.speed_mps) / scale),
        }
        with self.lock:
            self.quotes[quote["quote_id"]] = quote
        return quote

    def create_order(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(order, created). An existing order for the reference wins over everything."""
        reference = str(body.get("client_reference") or "")
        if not reference:
            raise SandboxError(422, "VALIDATION", "client_reference is required")
        with self.lock:
            existing = self.by_reference.get(reference)
            if existing is not None:
                return self.snapshot(self.orders[existing]), False
            quote = self.quotes.get(str(body.get("quote_id")))
            if quote is None:
                raise SandboxError(422, "QUOTE_NOT_FOUND", "unknown quote")
            if datetime.fromisoformat(quote["expires_at"]) <= datetime.fromtimestamp(
                    self.clock(), UTC):
                raise SandboxError(422, "QUOTE_EXPIRED", "quote expired")
            _check_stops(body)
            order = self._plan(reference, quote, body["pickup"], body["dropoff"])
            self.orders[order.order_id] = order
            self.by_reference[reference] = order.order_id
            return self.snapshot(order), True

    def _plan(self, reference: str, quote: dict, pickup: dict, dropoff: dict) -> Order:
        c = self.config
        p = Coordinates(lat=pickup["lat"], lng=pickup["lng"])
        d = Coordinates(lat=dropoff["lat"], lng=dropoff["lng"])
        t = self.sim_now()
        phases = [Phase("CREATED", t, 0, None, None)]
        courier = None
        if self.rng.random() < self.switches.no_courier_rate:
            phases += [Phase("ALLOCATING", t, c.search_s * 2, None, None),
                       Phase("NO_DRIVER", t + c.search_s * 2, 0, None, None)]
        else:
            start = _offset(p, 1200, self.rng.uniform(0, 2 * math.pi))
            to_pickup = start.distance_m(p) / c.speed_mps
            trip = p.distance_m(d) / c.speed_mps
            name, plate = self.rng.choice(COURIERS)
            courier = {"name": name, "plate": plate,
                       "phone": f"+62813{self.rng.randrange(10**7, 10**8)}",
                       "photo_url": f"{c.public_url}/couriers/"
                                    f"{url_quote(plate, safe='')}/photo.svg"}
            t1 = t + c.search_s
            t2 = t1 + to_pickup
            t3 = t2 + c.handover_s
            t4 = t3 + trip
            t5 = t4 + c.handover_s
            phases += [Phase("ALLOCATING", t, c.search_s, None, None),
                       Phase("ASSIGNED", t1, to_pickup, start, p),
                       Phase("AT_PICKUP", t2, c.handover_s, p, p),
                       Phase("PICKED_UP", t3, 0, p, p),
                       Phase("ON_DELIVERY", t3, trip, p, d),
                       Phase("AT_DROPOFF", t4, c.handover_s, d, d)]
            if self.rng.random() < self.switches.failed_dropoff_rate:
                phases += [Phase("RETURNING", t5, trip, d, p),
                           Phase("RETURNED", t5 + trip, 0, p, p)]
            else:
                phases.append(Phase("COMPLETED", t5, 0, d, d))
        return Order(order_id=str(self.rng.randrange(10**18, 10**19)), reference=reference,
                     price=quote["price"]["amount"], distance_m=quote["distance_m"],
                     pickup=pickup, dropoff=dropoff, phases=phases, courier=courier,
                     created_at=datetime.fromtimestamp(self.clock(), UTC))

    def get(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError(404, "ORDER_NOT_FOUND", "order not found")
            return self.snapshot(order)

    def find(self, reference: str) -> list[dict[str, Any]]:
        with self.lock:
            order_id = self.by_reference.get(reference)
            return [self.snapshot(self.orders[order_id])] if order_id else []

    def order_log(self) -> list[dict[str, Any]]:
        """One line per order: id, client reference, current status and creation time."""
        with self.lock:
            now = self.sim_now()
            return [{"order_id": o.order_id, "client_reference": o.reference,
                     "status": o.phases[self._index(o, now)].status,
                     "created_at": o.created_at.isoformat()} for o in self.orders.values()]

    def cancel(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError(404, "ORDER_NOT_FOUND", "order not found")
            now = self.sim_now()
            index = self._index(order, now)
            status = order.phases[index].status
            if status == "CANCELLED":
                return self.snapshot(order)
            if status not in CANCELLABLE:
                raise SandboxError(409, "CANCEL_FORBIDDEN",
                                   f"cannot cancel an order that is {status}")
            here = order.phases[index].position(now)
            order.phases = [*order.phases[:index + 1], Phase("CANCELLED", now, 0, here, here)]
            return self.snapshot(order)

    # --- views ------------------------------------------------------------------------------

    @staticmethod
    def _index(order: Order, t: float) -> int:
        index = 0
        for i, phase in enumerate(order.phases):
            if phase.start <= t:
                index = i
        return index

    def snapshot(self, order: Order, index: int | None = None,
                 at: float | None = None) -> dict[str, Any]:
        t = self.sim_now() if at is None else at
        index = self._index(order, t) if index is None else index
        phase = order.phases[index]
        when = order.phase_times.setdefault(index, self._real_time(phase.start))
        position = phase.position(t if at is None else phase.start)
        status = phase.status
        url = self.config.public_url
        reason = {"RETURNING": RECIPIENT_ABSENT, "RETURNED": RECIPIENT_ABSENT,
                  "NO_DRIVER": NO_DRIVER_REASON}.get(status)
        proofs = [f"{url}/proof/{order.order_id}/pickup.jpg"] if status in AFTER_PICKUP else []
        proofs += {"COMPLETED": [f"{url}/proof/{order.order_id}/dropoff.jpg"],
                   "RETURNED": [f"{url}/proof/{order.order_id}/return.jpg"]}.get(status, [])
        assigned = any(p.status == "ASSIGNED" for p in order.phases[:index + 1])
        return {
            "order_id": order.order_id, "client_reference": order.reference, "status": status,
            "price": {"amount": order.price, "currency": "IDR"}, "distance_m": order.distance_m,
            "tracking_url": f"{url}/track/{order.order_id}",
            "courier": order.courier if assigned else None,
            "position": position.model_dump() if position else None,
            "proof_urls": proofs, "failure_reason": reason,
            "created_at": order.created_at.isoformat(), "updated_at": when.isoformat(),
        }

    # --- the lifecycle ------------------------------------------------------------------------

    def tick(self) -> int:
        """Emit the events every order has reached since the last tick. Returns the count."""
        sent = 0
        with self.lock:
            now = self.sim_now()
            for order in self.orders.values():
                if order.emitted >= len(order.phases):
                    continue
                reached = self._index(order, now)
                while order.emitted <= reached:
                    index = order.emitted
                    order.emitted += 1
                    self._publish(order, self._event("order.status", order, index,
                                                     order.phases[index].start))
                    sent += 1
                phase = order.phases[reached]
                ping = self.config.location_ping_s
                if ping and phase.status in MOVING and now - order.last_ping >= ping \
                        and now > phase.start:
                    order.last_ping = now
                    self.webhooks.send(self._event("order.location", order, reached, None))
                    sent += 1
        return sent

    def _event(self, kind: str, order: Order, index: int, at: float | None) -> dict[str, Any]:
        snap = self.snapshot(order, index, at)
        occurred = snap["updated_at"] if at is not None else \
            datetime.fromtimestamp(self.clock(), UTC).isoformat()
        return {"event_id": "evt_" + uuid.uuid4().hex, "type": kind, "occurred_at": occurred,
                "order": snap}

    def _publish(self, order: Order, event: dict[str, Any]) -> None:
        """Hand a status event to the dispatcher, applying the webhook switches."""
        events = [event]
        if self.switches.out_of_order_webhooks or order.held is not None:
            terminal = event["order"]["status"] in TERMINAL
            if order.held is None and not terminal:
                order.held = event  # sent after the next one: a swapped pair
                return
            events = [event, *([order.held] if order.held else [])]
            order.held = None
        for item in events:
            self.webhooks.send(item)
            if self.switches.duplicate_webhooks:
                self.webhooks.send(item)

    def _run(self) -> None:
        while not self._stop.wait(self.config.tick_s):
            self.tick()

    def start(self) -> None:
        self.webhooks.start()
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(timeout=5)
        self.webhooks.stop()


def _in_indonesia(*points: Coordinates) -> bool:
    return all(-11.5 <= p.lat <= 6.5 and 94.0 <= p.lng <= 141.5 for p in points)


def _check_stops(body: dict[str, Any]) -> None:
    for key in ("pickup", "dropoff"):
        stop = body.get(key)
        if not isinstance(stop, dict) or not {"lat", "lng", "name", "phone"} <= set(stop):
            raise SandboxError(422, "VALIDATION", f"{key} needs lat, lng, name and phone")
        for text_field in ("name", "address", "note"):
            # A real courier never needs a NIK (docs/architecture.md rule 8): refuse any,
            # however it is written.
            if contains_nik(str(stop.get(text_field) or "")):
                raise SandboxError(422, "VALIDATION",
                                   f"{key}.{text_field} contains an identity number")
    item = body.get("item") or {}
    if item.get("description", "Dokumen") != "Dokumen":
        raise SandboxError(422, "VALIDATION", "item description must be 'Dokumen'")
