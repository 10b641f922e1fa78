"""Typed dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.accounts.service import authenticate
from core.db import new_session, unit_of_work
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
    return _authenticate_request(request, session)


def _authenticate_request(request: Request, session: Session) -> AuthSession | None:
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


# --- one thread-pool hop for the endpoint's whole unit of work ------------------------------

T = TypeVar("T")


class Work:
    """A signed-in user's unit of work for a hot ``async def`` endpoint.

    ``SessionDep`` + ``ResidentUser`` + a sync endpoint cost four thread-pool hops (the
    session's start, the sign-in lookup, the endpoint, the commit). :func:`work_as` opens the
    session and checks the sign-in and the role in one hop, before the path and body are
    validated (401/403 answer first, as with ``role_user``); :meth:`run` then runs the service
    and commits once at the boundary (``unit_of_work``) in a second hop."""

    __slots__ = ("auth", "done", "session")

    def __init__(self, session: Session, auth: AuthSession) -> None:
        self.session = session
        self.auth = auth
        self.done = False

    @property
    def user(self) -> User:
        return self.auth.user

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, user, *args)`` in the thread pool, committed once on success."""
        return await run_in_threadpool(self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        self.done = True
        try:
            with unit_of_work(self.session) as session:
                return fn(session, self.auth.user, *args)
        finally:
            self.session.close()

    def abandon(self) -> None:
        """The request failed before :meth:`run` (a 422): nothing is kept."""
        self.done = True
        self.session.close()


def _open_work(request: Request, allowed: frozenset[Role]) -> Work:
    session = new_session()
    try:
        auth = _authenticate_request(request, session)
        if auth is None:
            raise Unauthorized()
        if auth.user.role not in allowed:
            raise Forbidden()
    except BaseException:
        session.close()
        raise
    return Work(session, auth)


def work_as(*roles: Role) -> Callable[[Request], AsyncIterator[Work]]:
    allowed = frozenset(roles)

    async def dependency(request: Request) -> AsyncIterator[Work]:
        work = await run_in_threadpool(_open_work, request, allowed)
        try:
            yield work
        finally:
            if not work.done:
                await run_in_threadpool(work.abandon)

    # core.openapi documents the route's security and 401/403 from this.
    dependency.auth_roles = allowed  # type: ignore[attr-defined]
    return dependency


ResidentWork = Annotated[Work, Depends(work_as(Role.resident), scope="function")]


ResidentUser = role_user(Role.resident)
OperatorUser = role_user(Role.operator, Role.office_admin)
OfficeAdminUser = role_user(Role.office_admin)
AdminUser = role_user(Role.office_admin, Role.platform_admin)
PlatformAdminUser = role_user(Role.platform_admin)
RwAdminUser = role_user(Role.rw_admin)
CourierUser = role_user(Role.courier)
