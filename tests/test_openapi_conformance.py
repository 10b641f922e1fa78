"""The OpenAPI document tells the truth (issue 17): schemathesis calls every documented
operation in process, on the migrated PostgreSQL test database with the demo data, as a
resident, as a member of staff (an operator) and signed out; every answer's status code and
content type must be documented, its body must match its schema, and none may be a 5xx.

Bounded for ``make test``: ``SIPOKE_CONFORMANCE_EXAMPLES`` examples per operation and caller
(default 6), no shrinking. The last tests check the document itself: security schemes, the
error model, the files, and the ``Allow`` header of a 405.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures import RESIDENT_A

EXAMPLES = int(os.environ.get("SIPOKE_CONFORMANCE_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
STAFF = "operator.mekarjaya"

# Documented exceptions: (method, path) -> the status codes an operation may answer that
# its schema does not list, and why. Empty: every answer is documented.
EXCEPTIONS: dict[tuple[str, str], tuple[int, ...]] = {}


def _run(operation, headers: dict[str, str], statuses: dict[int, int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case) -> None:
        response = case.call(headers=dict(headers))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code in EXCEPTIONS.get((operation.method.upper(), operation.path),
                                                  ()):
            return
        case.validate_response(response, checks=CHECKS)

    call()


def _summary(exc: BaseException) -> str:
    """What was wrong, without the reproduction's headers (tokens)."""
    text = str(exc) if not isinstance(exc, BaseExceptionGroup) else "\n".join(
        f"{type(e).__name__}: {e}" for e in exc.exceptions)
    return text[:1200]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_every_answer_is_documented(app, demo, backend):
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    # A fresh session per operation: an earlier one may have signed out (POST /auth/logout).
    callers = {"resident": lambda: demo.headers(RESIDENT_A), "staff": lambda: demo.headers(STAFF),
               "signed out": dict}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in loaded.get_all_operations():
        operation = result.ok()
        operations += 1
        for who, headers in callers.items():
            try:
                _run(operation, headers(), statuses)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried
                failures.append(f"{operation.label} as {who}: {_summary(exc)}")
    assert operations > 60, "the schema lists the API's operations"
    assert not failures, f"{len(failures)} failures over {operations} operations " \
        f"(statuses {sorted(statuses.items())}):\n\n" + "\n\n".join(failures)
    # Generated ids rarely exist (404), but enough calls must get through to mean something.
    assert sum(n for code, n in statuses.items() if code < 300) > operations // 4, statuses


# --- the document itself ----------------------------------------------------------------------

@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_security_schemes_and_per_operation_security(openapi, backend):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http",
                                     "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["csrfHeader"] == {**schemes["csrfHeader"], "in": "header",
                                     "name": "X-CSRF-Token"}
    paths = openapi["paths"]
    assert {"bearerAuth": []} in paths["/api/v1/requests"]["post"]["security"]
    assert {"sessionCookie": [], "csrfHeader": []} in paths["/api/v1/requests"]["post"]["security"]
    assert {"sessionCookie": []} in paths["/api/v1/requests"]["get"]["security"]
    assert "security" not in paths["/api/v1/auth/otp"]["post"]
    assert "security" not in paths["/healthz"]["get"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_errors_use_the_products_error_model(openapi, backend):
    schemas = openapi["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorInfo"]["properties"]) == {"code", "message", "fields", "details"}
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    responses = openapi["paths"]["/api/v1/requests/{request_id}"]["patch"]["responses"]
    for code in ("401", "403", "404", "409", "422", "503"):
        assert responses[code]["content"]["application/json"]["schema"] == ref, code
    assert "429" in openapi["paths"]["/api/v1/auth/otp"]["post"]["responses"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code[0] in "45" and (path, code) != ("/readyz", "503"):
                    assert response["content"]["application/json"]["schema"] == ref, \
                        (method, path, code)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_files_are_documented_as_files(openapi, backend):
    paths = openapi["paths"]
    ok = "200"
    assert set(paths["/api/v1/requests/{request_id}/pickup/qr.svg"]["get"]["responses"][ok][
        "content"]) == {"image/svg+xml"}
    assert set(paths["/api/v1/operator/requests/{request_id}/label.svg"]["get"]["responses"][
        ok]["content"]) == {"image/svg+xml"}
    assert set(paths["/api/v1/requests/{request_id}/uploads/{upload_id}"]["get"]["responses"][
        ok]["content"]) == {"application/pdf", "image/png", "image/jpeg"}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_405_lists_every_method_of_the_path(app, client, openapi, backend):
    for path, template in (("/api/v1/requests", "/api/v1/requests"),
                           ("/api/v1/offices/mekarjaya", "/api/v1/offices/{slug}"),
                           ("/api/v1/users", "/api/v1/users")):
        response = client.request("DELETE", path)
        assert response.status_code == 405, path
        assert response.json()["error"]["code"] == "method_not_allowed"
        allowed = {m.strip().lower() for m in response.headers["allow"].split(",")}
        assert allowed - {"head"} == set(openapi["paths"][template]), path
