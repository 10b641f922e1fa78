"""The request state machine: a table with one mutator that audits every change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidTransition
from core.models import DocumentRequest, RequestState
from core.requests.states import ALLOWED_TRANSITIONS, TERMINAL, can_transition, transition
from tests.core.request_helpers import SITI, api, create, ok, submitted_request

STATES = list(RequestState)


def test_table_covers_every_state_and_terminal_states_are_final():
    assert set(ALLOWED_TRANSITIONS) == set(RequestState)
    assert {RequestState.completed, RequestState.rejected, RequestState.cancelled} == TERMINAL
    # Every state can be reached from draft, and every non-terminal state can end.
    reached, frontier = {RequestState.draft}, [RequestState.draft]
    while frontier:
        for target in ALLOWED_TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(RequestState)
    # Completion only after a handover, a digital copy, or a delivery.
    sources = {s for s, targets in ALLOWED_TRANSITIONS.items() if RequestState.completed in
               targets}
    assert sources == {RequestState.finished, RequestState.picked_up, RequestState.delivered}


@given(st.sampled_from(STATES), st.sampled_from(STATES))
def test_the_mutator_obeys_the_table(current, target):
    request = DocumentRequest(state=current)

    class _NoSession:
        def add(self, _):
            pass

        def flush(self):
            pass

    if can_transition(current, target):
        transition(_NoSession(), request, target, actor=None)  # type: ignore[arg-type]
        assert request.state == target
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(_NoSession(), request, target, actor=None)  # type: ignore[arg-type]
        assert request.state == current
        assert info.value.details["allowed"] == sorted(ALLOWED_TRANSITIONS[current])


def test_invalid_transition_answers_409_listing_the_allowed_states(client, demo):
    siti = demo.headers(SITI)
    rid = submitted_request(client, siti)["id"]
    op = demo.headers("operator.mekarjaya")
    response = client.post(api(f"/operator/requests/{rid}/processing"), headers=op)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"current": "submitted", "target": "processing",
                                "allowed": ["cancelled", "rejected", "verifying"]}
    # Cancelling is the resident's; after it nothing moves.
    assert ok(client.post(api(f"/requests/{rid}/cancel"), headers=siti))["state"] == \
        "cancelled"
    again = client.post(api(f"/requests/{rid}/cancel"), headers=siti)
    assert again.status_code == 409 and again.json()["error"]["details"]["allowed"] == []


def test_operator_rejects_with_a_reason_and_the_resident_sees_it(client, demo):
    siti = demo.headers(SITI)
    rid = submitted_request(client, siti)["id"]
    op = demo.headers("operator.mekarjaya")
    ok(client.post(api(f"/operator/requests/{rid}/assign"), headers=op))
    assert client.post(api(f"/operator/requests/{rid}/reject"), headers=op,
                       json={}).status_code == 422
    ok(client.post(api(f"/operator/requests/{rid}/reject"), headers=op,
                   json={"reason": "Akta kelahiran sudah pernah diterbitkan."}))
    seen = ok(client.get(api(f"/requests/{rid}"), headers=siti))
    assert seen["state"] == "rejected"
    assert seen["rejection_reason"] == "Akta kelahiran sudah pernah diterbitkan."


def test_fields_can_be_fixed_only_while_editable(client, demo):
    siti = demo.headers(SITI)
    rid = create(client, siti)["id"]
    fixed = ok(client.patch(api(f"/requests/{rid}"), headers=siti, json={"fields": {
        "nama_anak": "Putri  Aminah ", "tanggal_lahir": "2026-11-02"}}))
    assert fixed["fields"] == {"nama_anak": "Putri Aminah", "tanggal_lahir": "2026-11-02"}
    rid2 = submitted_request(client, siti)["id"]
    late = client.patch(api(f"/requests/{rid2}"), headers=siti, json={"fields": {
        "nama_anak": "X", "tanggal_lahir": "Y"}})
    assert late.status_code == 409


def test_queue_filters_by_state_and_assignee(client, demo):
    siti = demo.headers(SITI)
    first = submitted_request(client, siti)["id"]
    second = submitted_request(client, siti)["id"]
    op = demo.headers("operator.mekarjaya")
    admin = demo.headers("admin.mekarjaya")
    ok(client.post(api(f"/operator/requests/{second}/assign"), headers=op))
    assert [r["id"] for r in ok(client.get(api("/operator/requests"), headers=op))] == \
        [first, second]
    assert [r["id"] for r in ok(client.get(api("/operator/requests"), headers=op,
                                           params={"mine": "true"}))] == [second]
    assert [r["id"] for r in ok(client.get(api("/operator/requests"), headers=admin,
                                           params={"state": ["verifying"]}))] == [second]
    # An office admin may take it over.
    taken = ok(client.post(api(f"/operator/requests/{second}/assign"), headers=admin))
    assert taken["assigned_to_id"] == str(demo.user("admin.mekarjaya").id)
    assert client.get(api("/operator/requests"), headers=op,
                      params={"state": "bogus"}).status_code == 422
