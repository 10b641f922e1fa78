"""Every route, called as every role, across two offices (see policy.py and README.md).

* a role the policy allows gets past the gate (no 401/403, no 404 on its home object);
* any other role is refused (401 when anonymous, else 401/403/404);
* an allowed role asking for another office's object, or (for residents, RW admins and
  couriers) another person's, gets the very same 404 as for an id that does not exist.
"""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from tests.authz.objects import Objects, World
from tests.authz.policy import ANONYMOUS, CALLERS, POLICY, Rule
from tests.authz.routes import app_routes

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
DENIED = frozenset({401, 403, 404})


def test_every_route_has_a_policy_line(app) -> None:
    missing = sorted(app_routes(app) - set(POLICY))
    assert not missing, (
        "routes without an authorization policy; add one line each to POLICY in "
        "tests/authz/policy.py (see tests/authz/README.md):\n  " + "\n  ".join(missing))


def test_every_policy_line_has_a_route(app) -> None:
    stale = sorted(set(POLICY) - app_routes(app))
    assert not stale, "POLICY lines for routes that no longer exist:\n  " + "\n  ".join(stale)


class Caller:
    def __init__(self, world: World, route: str, rule: Rule) -> None:
        self.world = world
        self.method, self.path = route.split(" ", 1)
        self.rule = rule

    def __call__(self, headers: dict[str, str], params: dict[str, str]):
        client: TestClient = self.world.client
        client.cookies.clear()  # no session may leak from one call into the next
        kwargs: dict = {"headers": headers, "follow_redirects": False}
        if self.rule.json is not None:
            kwargs["json"] = self.rule.json
        if self.rule.form is not None:
            token = secrets.token_urlsafe(16)
            client.cookies.set("sipoke_csrf", token)
            kwargs["data"] = {**self.rule.form, "csrf_token": token}
        if self.rule.files is not None:
            kwargs["files"] = self.rule.files()
        return client.request(self.method, self.path.format(**params), **kwargs)


def _is_login_redirect(response) -> bool:
    # Only a page view sent to the sign-in page is a refusal; a form post may end there
    # (signing out does).
    return (response.request.method == "GET" and response.is_redirect
            and "/masuk" in response.headers.get("location", ""))


def _describe(role: str, what: str, response) -> str:
    return f"{role} on {what}: {response.status_code} {response.text[:300]}"


@pytest.mark.parametrize("route", sorted(POLICY))
def test_route_as_every_role(route: str, app, client, demo) -> None:
    if route not in app_routes(app):
        pytest.fail(f"{route} is in POLICY but not in the app")
    rule = POLICY[route]
    world = World(client=client, demo=demo)
    call = Caller(world, route, rule)
    shared = rule.objects(world) if rule.objects else Objects(home={})
    problems: list[str] = []

    shared_used = False  # refused calls change nothing, so the first allowed caller can
    for role, key in CALLERS.items():  # use the shared objects; later ones get fresh ones
        allowed = role in rule.allow
        headers = world.headers(key) if key else {}
        objs = shared
        if allowed and rule.objects and call.method not in SAFE:
            if shared_used:
                objs = rule.objects(world)  # the previous allowed call may have changed them
            shared_used = True

        if allowed and rule.objects and (objs.other_office or objs.other_person):
            absent = call(headers, objs.missing())
            if absent.status_code != 404:
                problems.append(_describe(role, "an id that does not exist", absent))
            foreign = []
            if objs.other_office and role not in rule.across_offices:
                foreign.append(("another office's object", objs.other_office))
            if objs.other_person and role in rule.personal:
                foreign.append(("another person's object", objs.other_person))
            for what, params in foreign:
                r = call(headers, params)
                if r.status_code != 404 or r.text != absent.text:
                    problems.append(_describe(role, what, r) + " (must equal the 404 of an "
                                                              "id that does not exist)")

        r = call(headers, objs.home)
        if r.status_code >= 500:
            problems.append(_describe(role, "its own office's object", r))
        elif allowed and (r.status_code in DENIED or _is_login_redirect(r)):
            problems.append(_describe(role, "allowed, but refused", r))
        elif not allowed and role == ANONYMOUS and not (r.status_code == 401
                                                        or _is_login_redirect(r)):
            problems.append(_describe(role, "not allowed, but not asked to sign in", r))
        elif not allowed and role != ANONYMOUS and r.status_code not in DENIED:
            problems.append(_describe(role, "not allowed, but served", r))

    assert not problems, f"{route}:\n  " + "\n  ".join(problems)
