"""Property tests for the normalized status vocabulary: ranks, terminal stickiness, order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from providers.status import RANK, TERMINAL, DeliveryStatus, resolve, should_apply

S = DeliveryStatus
statuses = st.sampled_from(list(DeliveryStatus))
non_terminal = st.sampled_from([s for s in DeliveryStatus if not s.is_terminal])
terminal = st.sampled_from(sorted(TERMINAL))


def test_every_status_has_a_rank_and_the_happy_path_climbs() -> None:
    assert set(RANK) == set(DeliveryStatus)
    path = [S.booked, S.searching_courier, S.courier_assigned, S.at_pickup, S.picked_up,
            S.in_transit, S.at_dropoff, S.delivered]
    assert [s.rank for s in path] == sorted(s.rank for s in path)
    assert len({s.rank for s in DeliveryStatus if not s.is_terminal}) == \
        len([s for s in DeliveryStatus if not s.is_terminal])
    assert {S.delivered, S.failed, S.returned, S.cancelled, S.no_courier} == TERMINAL
    assert S.returning.rank > S.at_dropoff.rank and not S.returning.is_terminal


@given(statuses, statuses)
def test_apply_is_monotonic_by_rank(current: DeliveryStatus, new: DeliveryStatus) -> None:
    if should_apply(current, new):
        assert new.rank > current.rank
        assert not current.is_terminal


@given(terminal, statuses)
def test_terminal_statuses_are_sticky(current: DeliveryStatus, new: DeliveryStatus) -> None:
    assert not should_apply(current, new)


@given(statuses)
def test_repeats_are_not_applied_and_anything_starts(status: DeliveryStatus) -> None:
    assert not should_apply(status, status)
    assert should_apply(None, status)


@given(st.lists(non_terminal, max_size=12), st.one_of(st.none(), terminal), st.randoms())
def test_final_state_does_not_depend_on_arrival_order(updates, last, rnd) -> None:
    events = [*updates, *([last] if last else [])]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert resolve(shuffled) == resolve(events)
    if last is not None:
        assert resolve(shuffled) is last
    elif updates:
        assert resolve(shuffled) is max(updates, key=lambda s: s.rank)


@given(st.lists(statuses, max_size=12))
def test_resolve_never_leaves_a_terminal_status(events: list[DeliveryStatus]) -> None:
    first_terminal = next((s for s in events if s.is_terminal), None)
    if first_terminal is not None:
        assert resolve(events) is first_terminal
