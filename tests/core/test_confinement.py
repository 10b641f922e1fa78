"""Residents see only their own requests, RW admins only their RW's cover letters, operators
only their office's requests; anything else is 404 (existence is not revealed)."""

from __future__ import annotations

from tests.core.request_helpers import (
    AGUS,
    DEWI,
    DOMICILE,
    SITI,
    api,
    create,
    ok,
    submitted_request,
    upload,
)


def test_residents_see_only_their_own(client, demo):
    siti, agus = demo.headers(SITI), demo.headers(AGUS)
    rid = create(client, siti)["id"]
    scan = ok(upload(client, siti, rid, "kk"), 201)["id"]
    assert [r["id"] for r in ok(client.get(api("/requests"), headers=siti))] == [rid]
    assert ok(client.get(api("/requests"), headers=agus)) == []
    for method, path in [
        ("GET", f"/requests/{rid}"), ("GET", f"/requests/{rid}/history"),
        ("GET", f"/requests/{rid}/uploads/{scan}"), ("POST", f"/requests/{rid}/submit"),
        ("POST", f"/requests/{rid}/cancel"), ("GET", f"/requests/{rid}/pickup"),
    ]:
        response = client.request(method, api(path), headers=agus)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert upload(client, agus, rid, "kk").status_code == 404
    assert client.patch(api(f"/requests/{rid}"), headers=agus,
                        json={"fields": {}}).status_code == 404
    # Siti still has her draft, untouched.
    assert ok(client.get(api(f"/requests/{rid}"), headers=siti))["state"] == "draft"


def test_operators_see_only_their_office(client, demo):
    rid = submitted_request(client, demo.headers(SITI))["id"]
    other = demo.headers("operator.abadijaya")
    assert ok(client.get(api("/operator/requests"), headers=other)) == []
    for path in ["/assign", "/processing", "/finish", "/counter-handover"]:
        response = client.post(api(f"/operator/requests/{rid}{path}"), headers=other,
                               json={"pickup_code": "123456"})
        assert response.status_code in (404, 415, 422), (path, response.text)
        assert response.status_code != 200
    assert client.post(api(f"/operator/requests/{rid}/assign"),
                       headers=other).status_code == 404
    assert client.get(api(f"/requests/{rid}"), headers=other).status_code == 404
    assert client.get(api(f"/requests/{rid}"),
                      headers=demo.headers("operator.mekarjaya")).status_code == 200


def test_operators_do_not_see_drafts_and_residents_cannot_operate(client, demo):
    siti = demo.headers(SITI)
    rid = create(client, siti)["id"]
    op = demo.headers("operator.mekarjaya")
    assert ok(client.get(api("/operator/requests"), headers=op)) == []
    assert client.post(api(f"/operator/requests/{rid}/assign"), headers=op).status_code == 404
    assert client.get(api("/operator/requests"), headers=siti).status_code == 403
    assert client.post(api("/requests"), headers=op,
                       json={"service": DOMICILE, "fields": {}}).status_code == 403
    assert client.get(api("/requests")).status_code == 401


def test_rw_admins_see_only_their_rw(client, demo):
    rw05 = demo.headers("rw05.mekarjaya")
    siti_rid = submitted_request(client, demo.headers(SITI), DOMICILE)["id"]  # RW 005
    agus_rid = submitted_request(client, demo.headers(AGUS), DOMICILE)["id"]  # RW 002
    dewi_rid = submitted_request(client, demo.headers(DEWI), DOMICILE)["id"]  # other office
    listed = [c["request"]["id"] for c in ok(client.get(api("/rw/cover-letters"),
                                                        headers=rw05))]
    assert listed == [siti_rid]
    for rid in (agus_rid, dewi_rid):
        for action, body in (("approve", {"number": "1"}), ("reject", {"reason": "tidak"})):
            response = client.post(api(f"/rw/cover-letters/{rid}/{action}"), headers=rw05,
                                   json=body)
            assert response.status_code == 404, response.text
        assert client.get(api(f"/requests/{rid}"), headers=rw05).status_code == 404
    # Their own RW's request is visible (to decide it), its scans are not.
    seen = ok(client.get(api(f"/requests/{siti_rid}"), headers=rw05))
    scan = seen["uploads"][0]["id"]
    assert client.get(api(f"/requests/{siti_rid}/uploads/{scan}"),
                      headers=rw05).status_code == 404
    # Agus's request still waits for RW 002's admin.
    assert ok(client.get(api(f"/requests/{agus_rid}"),
                         headers=demo.headers(AGUS)))["state"] == "cover_letter_pending"


def test_unknown_ids_answer_404(client, demo):
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(api(f"/requests/{missing}"),
                      headers=demo.headers(SITI)).status_code == 404
    assert client.get(api("/requests/not-a-uuid"), headers=demo.headers(SITI)).status_code \
        == 422


def test_anonymous_uploads_are_refused_before_anything_is_stored(client, demo):
    from tests.core.request_helpers import PDF, stored_files

    rid = create(client, demo.headers(SITI))["id"]
    before = stored_files()
    response = client.post(api(f"/requests/{rid}/uploads"), data={"requirement": "kk"},
                           files={"file": ("kk.pdf", PDF, "application/pdf")})
    assert response.status_code == 401
    assert stored_files() == before


def test_services_check_the_role_too(client, demo, session):
    """Pages and commands call the services directly: a resident or an RW admin handed an
    operator action gets the same 404, whatever the caller forgot to check."""
    import pytest

    from core.errors import NotFound
    from core.requests import cover_letters, processing

    rid = submitted_request(client, demo.headers(SITI), DOMICILE)["id"]
    siti = session.merge(demo.user(SITI))
    rw = session.merge(demo.user("rw05.mekarjaya"))
    op = session.merge(demo.user("operator.mekarjaya"))
    for actor in (siti, rw):
        with pytest.raises(NotFound):
            processing.assign_to_self(session, actor, rid)
        with pytest.raises(NotFound):
            processing.queue(session, actor, states=None, mine=False, limit=5, offset=0)
    with pytest.raises(NotFound):
        cover_letters.approve(session, op, rid, number="1", issued_on=None)
    assert cover_letters.list_for_rw(session, op, status=None, limit=5, offset=0) == []
