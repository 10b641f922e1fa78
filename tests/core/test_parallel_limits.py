"""Attempt limits under truly parallel requests, on SQLite and PostgreSQL: 40 or more tries
at once through the HTTP server, and exactly the limit is checked (core.limits and the
conditional updates of the one-time code and the pickup code)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from core.accounts import service as accounts
from core.db import unit_of_work
from core.models import DocumentRequest
from core.requests import processing
from tests.core.request_helpers import SITI, api, finished_request, ok
from tests.live import CallCounter, burst, serving

pytestmark = pytest.mark.slow

PARALLEL = 40


@pytest.mark.parametrize(("limits", "username", "checked"), [
    ({"login_failures_per_user": 10, "login_failures_per_client": 1000},
     lambda _: "operator.mekarjaya", 10),
    ({"login_failures_per_user": 1000, "login_failures_per_client": 12},
     lambda i: f"nobody.{i}", 12),
], ids=["per-user", "per-client"])
def test_parallel_wrong_passwords_check_exactly_the_limit(app, demo, monkeypatch, tune, limits,
                                                          username, checked):
    tune(**limits)
    checks = CallCounter(accounts.verify_password)
    monkeypatch.setattr(accounts, "verify_password", checks)
    with serving(app) as url:
        answers = burst(PARALLEL, lambda c, i: c.post(
            f"{url}/api/v1/auth/login",
            json={"username": username(i), "password": "wrong-guess-123"}))
        assert checks.calls == checked
        assert answers == {401: checked, 429: PARALLEL - checked}
        # Past the limit the right password is refused too, until the window passes.
        right = {"username": "operator.mekarjaya", "password": "demo-operator-123"}
        assert httpx.post(f"{url}/api/v1/auth/login", json=right).status_code == 429


def test_right_passwords_in_parallel_use_up_no_slot(app, demo, tune):
    tune(login_failures_per_user=3, login_failures_per_client=3)
    with serving(app) as url:
        answers = burst(20, lambda c, _: c.post(
            f"{url}/api/v1/auth/login",
            json={"username": "admin.mekarjaya", "password": "demo-admin-123"}))
    assert answers == {200: 20}


def test_parallel_wrong_codes_check_exactly_the_code_limit(app, client, demo, monkeypatch,
                                                           read_otp, tune):
    tune(otp_max_attempts=5)
    assert client.post("/api/v1/auth/otp", json={"phone": SITI}).status_code == 202
    code = read_otp(SITI)
    wrong = "000000" if code != "000000" else "111111"
    checks = CallCounter(accounts.constant_time_equals)
    monkeypatch.setattr(accounts, "constant_time_equals", checks)
    with serving(app) as url:
        answers = burst(PARALLEL, lambda c, _: c.post(
            f"{url}/api/v1/auth/otp/verify", json={"phone": SITI, "code": wrong}))
    assert checks.calls == 5
    assert answers == {401: 4, 429: PARALLEL - 4}
    # The code is spent: even the right one is refused now.
    assert client.post("/api/v1/auth/otp/verify",
                       json={"phone": SITI, "code": code}).status_code == 429


def test_parallel_code_requests_send_exactly_the_per_phone_limit(app, demo, outbox, tune):
    tune(otp_per_phone_per_window=3, otp_per_client_per_window=1000)
    with serving(app) as url:
        answers = burst(PARALLEL, lambda c, _: c.post(f"{url}/api/v1/auth/otp",
                                                      json={"phone": SITI}))
    assert answers == {202: 3, 429: PARALLEL - 3}
    assert outbox().count("notifications.send") == 3


def test_the_right_code_signs_in_once_when_sent_twice_at_once(app, client, demo, read_otp):
    assert client.post("/api/v1/auth/otp", json={"phone": SITI}).status_code == 202
    code = read_otp(SITI)
    with serving(app) as url:
        answers = burst(10, lambda c, _: c.post(f"{url}/api/v1/auth/otp/verify",
                                                json={"phone": SITI, "code": code}))
    assert answers[200] == 1 and sum(answers.values()) == 10


def test_parallel_wrong_pickup_codes_check_exactly_the_limit_until_an_operator_resets(
        app, client, demo, monkeypatch, outbox, tune):
    tune(pickup_code_max_attempts=5)
    rid = finished_request(client, demo)["id"]
    siti = demo.headers(SITI)
    ok(client.post(api(f"/requests/{rid}/handover"), headers=siti, json={"method": "pickup"}))
    code = ok(client.get(api(f"/requests/{rid}/pickup"), headers=siti))["pickup_code"]
    wrong = "000000" if code != "000000" else "111111"
    operator = demo.headers("operator.mekarjaya")
    with unit_of_work() as s:
        originals = [o["code"] for o in s.get(DocumentRequest, uuid.UUID(rid)).service.originals]
    checks = CallCounter(processing.constant_time_equals)
    monkeypatch.setattr(processing, "constant_time_equals", checks)
    counter = api(f"/operator/requests/{rid}/counter-handover")
    with serving(app) as url:
        answers = burst(PARALLEL, lambda c, _: c.post(
            f"{url}{counter}", headers=operator,
            json={"pickup_code": wrong, "originals_checked": originals}))
    assert checks.calls == 5
    assert answers == {422: 4, 423: PARALLEL - 4}
    # Locked: even the right code is refused until the operator sends a new one.
    right = client.post(counter, headers=operator,
                        json={"pickup_code": code, "originals_checked": originals})
    assert right.status_code == 423
    ok(client.post(api(f"/operator/requests/{rid}/pickup-code/reset"), headers=operator))
    outbox()
    new = ok(client.get(api(f"/requests/{rid}/pickup"), headers=siti))["pickup_code"]
    stale = client.post(counter, headers=operator,
                        json={"pickup_code": code if code != new else wrong,
                              "originals_checked": originals})
    assert stale.status_code == 422
    done = client.post(counter, headers=operator,
                       json={"pickup_code": new, "originals_checked": originals})
    assert done.status_code == 200, done.text


def test_document_verification_is_limited_per_client(app, client, demo, tune):
    tune(verify_per_client_per_minute=5)
    with serving(app) as url:
        answers = burst(PARALLEL, lambda c, i: c.get(f"{url}/api/v1/verify/NOPE{i:08d}"))
    assert answers == {404: 5, 429: PARALLEL - 5}
