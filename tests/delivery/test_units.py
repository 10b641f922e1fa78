"""Pure rules: the state table, subsidy rules, the automatic choice, the fan-out deadline."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import reset_settings_cache
from delivery.models import DeliveryQuote
from delivery.models import DeliveryState as D
from delivery.policy import Policy, SubsidyRule
from delivery.quotes import service as quotes
from delivery.states import ALLOWED_TRANSITIONS, BEFORE_PICKUP, TERMINAL, can_transition
from tests.delivery.conftest import ask_delivery, finished_request, load, switches

PATH = [D.searching_courier, D.courier_assigned, D.picked_up, D.in_transit, D.delivered]


def test_state_table_shape():
    assert set(ALLOWED_TRANSITIONS) == set(D)
    assert {D.completed, D.cancelled, D.pickup_offered, D.returned_to_office} == TERMINAL
    # The courier path only moves forward.
    for i, state in enumerate(PATH):
        for earlier in PATH[:i]:
            assert not can_transition(state, earlier)
    # Cancel and failover only before pickup.
    for state in D:
        assert can_transition(state, D.cancelled) == (state in BEFORE_PICKUP)
    assert not can_transition(D.picked_up, D.quoting)
    assert can_transition(D.in_transit, D.returning)
    assert can_transition(D.returning, D.returned_to_office)
    assert can_transition(D.delivered, D.returning_originals)


def _quote(provider: str, pays: int, eta: int) -> DeliveryQuote:
    return DeliveryQuote(id=uuid.uuid4(), provider=provider, price=pays, subsidy=0,
                         resident_pays=pays, pickup_eta_s=eta, dropoff_eta_s=eta,
                         expires_at=datetime.now(UTC) + timedelta(minutes=5))


def test_choice_policies():
    cheap, fast, home = _quote("sandbox", 9000, 900), _quote("lalamove", 15000, 100), \
        _quote("inhouse", 12000, 600)
    options = [cheap, fast, home]
    assert quotes.choose_best(options, Policy(choice_policy="cheapest")) is cheap
    assert quotes.choose_best(options, Policy(choice_policy="fastest")) is fast
    assert quotes.choose_best(options, Policy(choice_policy="preferred",
                                              preferred_order=["inhouse", "sandbox"])) is home
    # A failover under the resident policy: preferred order first, then the cheapest.
    assert quotes.choose_best(options, Policy()) is cheap


def test_subsidy_rules_first_match():
    policy = Policy(subsidy_rules=[
        SubsidyRule(name="Rumah tangga miskin", phones=["+6281234560002"], free=True),
        SubsidyRule(name="RW 005", rws=["005"], percent_off=50, max_amount=5000),
        SubsidyRule(name="Semua", amount_off=1000)])
    assert policy.subsidy(12000, phone="+6281234560002", rw="002") == (12000, "Rumah tangga miskin")
    assert policy.subsidy(12000, phone="+6281234560001", rw="005") == (5000, "RW 005")
    assert policy.subsidy(8000, phone="+6281234560001", rw="005") == (4000, "RW 005")
    assert policy.subsidy(500, phone=None, rw=None) == (500, "Semua")  # never above the price
    assert Policy().subsidy(9000, phone=None, rw=None) == (0, None)


@given(price=st.integers(min_value=0, max_value=10**7),
       amount=st.integers(min_value=0, max_value=10**7),
       percent=st.integers(min_value=0, max_value=100))
def test_subsidy_is_between_zero_and_the_price(price, amount, percent):
    rule = SubsidyRule(name="x", amount_off=amount, percent_off=percent)
    assert 0 <= rule.subsidy_for(price) <= price


def test_fan_out_keeps_partial_answers_within_the_deadline(client, demo, providers_env,
                                                           inhouse_on, installed, outbox,
                                                           monkeypatch):
    monkeypatch.setenv("SIPOKE_DELIVERY__QUOTE_DEADLINE_S", "0.4")
    reset_settings_cache()
    switches(providers_env, latency_ms=2000)
    created = ask_delivery(client, demo, finished_request())
    started = time.monotonic()
    outbox()
    assert time.monotonic() - started < 1.9  # did not wait for the slow provider
    delivery = load(created["id"])
    assert delivery.state == "awaiting_choice"
    assert [q.provider for q in delivery.quotes] == ["inhouse"]
    assert delivery.quote_errors == {"sandbox": "timeout"}


@pytest.mark.parametrize("state", [D.completed, D.cancelled])
def test_terminal_states_have_no_exit(state):
    assert not ALLOWED_TRANSITIONS[state]


def test_nik_like_numbers_never_reach_a_courier():
    from delivery.booking.service import courier_text

    text = courier_text("Rumah pagar hijau, NIK 3276015708900001, telp 0812345678")
    assert "3276015708900001" not in text and "0812345678" in text
