"""The simulator's own rules on a hand-driven clock (no HTTP, no threads)."""

from __future__ import annotations

import pytest

from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.simulator import SandboxError, Simulator, price_for
from providers.types import Coordinates

OFFICE = Coordinates(lat=-6.3925, lng=106.8420)
HOME = Coordinates(lat=-6.3952, lng=106.8461)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SandboxServerConfig.from_mapping({"seed": 1, "time_scale": 1}),
                     clock=Clock())


def order_body(quote_id: str, reference: str = "att-00000001") -> dict:
    stop = {"name": "x", "phone": "+6281234560001", "address": "a"}
    return {"quote_id": quote_id, "client_reference": reference,
            "pickup": {**stop, "lat": OFFICE.lat, "lng": OFFICE.lng},
            "dropoff": {**stop, "lat": HOME.lat, "lng": HOME.lng}}


def test_price_grows_with_distance_in_whole_500s() -> None:
    assert price_for(0) == 8000
    assert price_for(544) == 9500
    assert price_for(10_000) == 33_000
    assert all(price_for(d) % 500 == 0 for d in range(0, 40_000, 777))


def test_timeline_walks_the_lifecycle_and_cancel_stops_at_pickup(sim: Simulator) -> None:
    quote = sim.create_quote(OFFICE, HOME, "motorcycle")
    order, created = sim.create_order(order_body(quote["quote_id"]))
    assert created and order["status"] == "ALLOCATING"
    seen = []
    for _ in range(40):  # 40 x 15 simulated seconds
        sim.clock.now += 15  # type: ignore[attr-defined]
        status = sim.get(order["order_id"])["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen == ["ALLOCATING", "ASSIGNED", "AT_PICKUP", "ON_DELIVERY", "AT_DROPOFF",
                    "COMPLETED"]
    with pytest.raises(SandboxError) as err:
        sim.cancel(order["order_id"])
    assert err.value.code == "CANCEL_FORBIDDEN"


def test_tick_emits_every_phase_once_and_in_order(sim: Simulator) -> None:
    sent: list[dict] = []
    sim.webhooks.send = sent.append  # type: ignore[method-assign]
    quote = sim.create_quote(OFFICE, HOME, "motorcycle")
    sim.create_order(order_body(quote["quote_id"]))
    sim.tick()
    sim.clock.now += 10_000  # type: ignore[attr-defined]
    sim.tick()
    sim.tick()
    statuses = [e["order"]["status"] for e in sent]
    assert statuses == ["CREATED", "ALLOCATING", "ASSIGNED", "AT_PICKUP", "PICKED_UP",
                        "ON_DELIVERY", "AT_DROPOFF", "COMPLETED"]
    assert len({e["event_id"] for e in sent}) == len(sent)
    times = [e["occurred_at"] for e in sent]
    assert times == sorted(times)


def test_same_reference_never_makes_a_second_order(sim: Simulator) -> None:
    quote = sim.create_quote(OFFICE, HOME, "motorcycle")
    first, created = sim.create_order(order_body(quote["quote_id"]))
    again, created_again = sim.create_order(order_body("sq_unknown"))  # reference wins
    assert created and not created_again
    assert again["order_id"] == first["order_id"] and len(sim.orders) == 1


def test_quotes_expire_and_unknown_quotes_are_refused(sim: Simulator) -> None:
    quote = sim.create_quote(OFFICE, HOME, "motorcycle")
    sim.clock.now += 301  # type: ignore[attr-defined]
    with pytest.raises(SandboxError, match="expired"):
        sim.create_order(order_body(quote["quote_id"]))
    with pytest.raises(SandboxError) as err:
        sim.create_order(order_body("sq_nope", reference="att-00000002"))
    assert err.value.code == "QUOTE_NOT_FOUND"
