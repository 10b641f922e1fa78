"""Typed dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from core.accounts.service import authenticate
from core.db import unit_of_work
from core.errors import Forbidden, Unauthorized
from core.models import AuthSession, Role, User
from core.security import constant_time_equals
from core.settings import Settings, get_settings

SESSION_COOKIE = "sipoke_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db() -> Iterator[Session]:
    with unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_auth_optional(request: Request, session: SessionDep) -> AuthSession | None:
    token = _bearer(request)
    from_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        from_cookie = token is not None
    if token is None:
        return None
    auth = authenticate(session, token)
    if from_cookie and request.method not in SAFE_METHODS:
        # Cookie sessions must prove the request came from our own page.
        sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form_token",
                                                               None)
        if not sent or not constant_time_equals(sent, auth.csrf_token):
            raise Forbidden("Token CSRF tidak valid. Muat ulang halaman.")
    request.state.user = auth.user
    return auth


# The dependencies below only read what current_auth_optional loaded (the session and its
# user): ``async def`` runs them in the event loop, where a plain ``def`` would cost a hop to
# the thread pool and back for each, on every authenticated request.

async def current_auth(auth: Annotated[AuthSession | None, Depends(current_auth_optional)]
                       ) -> AuthSession:
    if auth is None:
        raise Unauthorized()
    return auth


async def current_user(auth: Annotated[AuthSession, Depends(current_auth)]) -> User:
    return auth.user


CurrentAuth = Annotated[AuthSession, Depends(current_auth)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalAuth = Annotated[AuthSession | None, Depends(current_auth_optional)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden()
        return user

    return dependency


def role_user(*roles: Role):
    return Annotated[User, Depends(require_roles(*roles))]


ResidentUser = role_user(Role.resident)
OperatorUser = role_user(Role.operator, Role.office_admin)
OfficeAdminUser = role_user(Role.office_admin)
AdminUser = role_user(Role.office_admin, Role.platform_admin)
PlatformAdminUser = role_user(Role.platform_admin)
RwAdminUser = role_user(Role.rw_admin)
CourierUser = role_user(Role.courier)
