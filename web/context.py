"""What every page handler gets: the database session, the signed-in user, the language,
the CSRF token to put in forms, and helpers to render or redirect.

CSRF: a signed-in cookie session is checked by ``core.deps`` (the form field is handed over
through ``request.state.csrf_form_token``); a visitor who is not signed in (sign-in and
registration forms) gets a random token in a cookie that the form must echo back.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts.service import authenticate
from core.deps import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    SessionDep,
    client_ip,
    current_auth_optional,
)
from core.errors import AppError, Forbidden, Unauthorized
from core.formatting import DEFAULT_ZONE
from core.models import AuthSession, Role, User
from core.requests.uploads import ReceivedUpload, receive_upload
from core.security import constant_time_equals
from core.settings import Settings, get_settings
from web import flash
from web.i18n import LANG_COOKIE, Translator, pick_language
from web.templating import templates

ANON_CSRF_COOKIE = "sipoke_csrf"
CSRF_FIELD = "csrf_token"


async def form_data(request: Request) -> FormData:
    """The submitted form (cached by Starlette); empty for GET."""
    if request.method in SAFE_METHODS:
        return FormData()
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if isinstance(token, str) and token:
        request.state.csrf_form_token = token
    return form


FormDep = Annotated[FormData, Depends(form_data)]


@dataclass
class Page:
    request: Request
    db: Session
    settings: Settings
    auth: AuthSession | None
    t: Translator
    form: FormData
    _anon_csrf: str | None = None
    _flash_out: list[dict[str, Any]] = field(default_factory=list)

    @property
    def user(self) -> User | None:
        return self.auth.user if self.auth else None

    @property
    def me(self) -> User:
        """The signed-in user on pages that require one."""
        assert self.auth is not None
        return self.auth.user

    @property
    def client_ip(self) -> str:
        return client_ip(self.request)

    @property
    def secure_cookies(self) -> bool:
        return self.settings.base_url.startswith("https://")

    @property
    def csrf_token(self) -> str:
        if self.auth is not None:
            return self.auth.csrf_token
        if self._anon_csrf is None:
            self._anon_csrf = (self.request.cookies.get(ANON_CSRF_COOKIE)
                               or secrets.token_urlsafe(24))
        return self._anon_csrf

    def flash(self, level: str, key: str, **values: Any) -> None:
        self._flash_out.append({"level": level, "key": key, "values": values})

    def _finish(self, response: HTMLResponse | RedirectResponse) -> None:
        if self.auth is None and self._anon_csrf and \
                self.request.cookies.get(ANON_CSRF_COOKIE) != self._anon_csrf:
            response.set_cookie(ANON_CSRF_COOKIE, self._anon_csrf, httponly=True, samesite="lax",
                                secure=self.secure_cookies, path="/")
        if self._flash_out:
            flash.add(response, self.settings.secret(), self._flash_out,
                      secure=self.secure_cookies)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        incoming = flash.decode(self.settings.secret(),
                                self.request.cookies.get(flash.FLASH_COOKIE))
        response = templates.TemplateResponse(self.request, template, {
            **base_context(self.request, self.t, self.user),
            "csrf_token": self.csrf_token,
            "flashes": [{"level": m["level"], "text": self.t(m.get("key", ""),
                                                             **(m.get("values") or {}))}
                        for m in incoming],
            **context,
        }, status_code=status_code)
        if incoming and not self._flash_out:
            response.delete_cookie(flash.FLASH_COOKIE, path="/")
        self._finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self._finish(response)
        return response


@dataclass(frozen=True)
class OfficeSnapshot:
    name: str
    slug: str
    timezone: str = DEFAULT_ZONE


@dataclass(frozen=True)
class Viewer:
    """What the layout needs of the signed-in user, copied while the session is open: an
    error page renders after the unit of work rolled back and closed its session."""

    role: str
    full_name: str
    office: OfficeSnapshot | None
    rw: str | None

    @classmethod
    def of(cls, user: User) -> Viewer:
        office = OfficeSnapshot(user.office.name, user.office.slug,
                                user.office.timezone) if user.office else None
        return cls(role=str(user.role), full_name=user.full_name, office=office, rw=user.rw)


def base_context(request: Request, t: Translator, user: User | Viewer | None
                 ) -> dict[str, Any]:
    office = getattr(user, "office", None) if user is not None else None
    # Times on the page are in the viewer's office zone (docs/architecture.md, conventions).
    return {"request": request, "t": t, "lang": t.lang, "user": user,
            "path": request.url.path, "tz": getattr(office, "timezone", None) or DEFAULT_ZONE}


def translator_for(request: Request) -> Translator:
    return Translator(pick_language(request.cookies.get(LANG_COOKIE)))


def _check_anonymous_csrf(request: Request, form: FormData) -> None:
    sent = form.get(CSRF_FIELD)
    expected = request.cookies.get(ANON_CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not constant_time_equals(sent, expected):
        raise Forbidden("Token CSRF tidak valid. Muat ulang halaman.")


def page(request: Request, db: SessionDep, form: FormDep) -> Page:
    """Any page: signed in or not. A stale cookie just means "not signed in"."""
    return _build_page(request, db, form)


def _build_page(request: Request, db: Session, form: FormData) -> Page:
    settings = get_settings()
    auth: AuthSession | None = None
    if request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization"):
        try:
            auth = current_auth_optional(request, db)
        except Unauthorized:
            auth = None
    if auth is None and request.method not in SAFE_METHODS:
        _check_anonymous_csrf(request, form)
    if auth is not None:
        request.state.viewer = Viewer.of(auth.user)
        if not request.headers.get("authorization"):
            request.state.page_csrf = auth.csrf_token  # for an error page's sign-out form
    return Page(request=request, db=db, settings=settings, auth=auth,
                t=translator_for(request), form=form)


PageDep = Annotated[Page, Depends(page)]


@dataclass
class UploadPage:
    """A page that received one file: the page, the streamed upload, or why it was refused.

    Uploads stream to disk through ``core.requests.uploads.receive_upload`` (the same
    receiver as the API), so the form cannot be parsed first; the CSRF token travels as a
    text field of the same multipart body and is checked once the body is in.
    """

    page: Page
    received: ReceivedUpload | None
    refused: AppError | None


async def _receive(request: Request) -> AsyncIterator[tuple[ReceivedUpload | None,
                                                             AppError | None]]:
    if not request.cookies.get(SESSION_COOKIE) and not request.headers.get("authorization"):
        raise Unauthorized()  # no disk writes for visitors who are not signed in
    async for item in _receive_any(request):
        yield item


async def _receive_any(request: Request) -> AsyncIterator[tuple[ReceivedUpload | None,
                                                                AppError | None]]:
    gen = receive_upload(request)
    try:
        received = await gen.__anext__()
    except AppError as exc:
        yield None, exc
        return
    try:
        yield received, None
    finally:
        await gen.aclose()  # the receiver removes a temporary file the service did not keep


def upload_page(request: Request, db: SessionDep,
                received: Annotated[tuple[ReceivedUpload | None, AppError | None],
                                    Depends(_receive)]) -> UploadPage:
    upload, refused = received
    fields = FormData(list((upload.fields if upload else {}).items()))
    token = fields.get(CSRF_FIELD)
    if isinstance(token, str) and token:
        request.state.csrf_form_token = token
    if refused is not None and not request.state.__dict__.get("csrf_form_token") \
            and not request.headers.get(CSRF_HEADER):
        # The body was refused before its token arrived (too large). Nothing will be
        # written, so the page may say why without the token.
        p = Page(request=request, db=db, settings=get_settings(),
                 auth=_session_without_csrf(request, db), t=translator_for(request),
                 form=fields)
    else:
        p = _build_page(request, db, fields)
    if p.auth is None:
        raise Unauthorized()
    return UploadPage(page=p, received=upload, refused=refused)


UploadPageDep = Annotated[UploadPage, Depends(upload_page)]


def public_upload_page(request: Request, db: SessionDep,
                       received: Annotated[tuple[ReceivedUpload | None, AppError | None],
                                           Depends(_receive_any)]) -> UploadPage:
    """An upload page reached without an account (the courier's envelope page): the key is
    in the URL, the anonymous CSRF cookie guards the form."""
    upload, refused = received
    fields = FormData(list((upload.fields if upload else {}).items()))
    token = fields.get(CSRF_FIELD)
    if isinstance(token, str) and token:
        request.state.csrf_form_token = token
    if refused is not None and not token:
        p = Page(request=request, db=db, settings=get_settings(), auth=None,
                 t=translator_for(request), form=fields)
    else:
        p = _build_page(request, db, fields)
    return UploadPage(page=p, received=upload, refused=refused)


PublicUploadPageDep = Annotated[UploadPage, Depends(public_upload_page)]


def _session_without_csrf(request: Request, db: Session) -> AuthSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        auth = authenticate(db, token)
    except Unauthorized:
        return None
    request.state.user = auth.user
    return auth


def require(*roles: Role):
    """A page for signed-in users with one of ``roles``; others see 403, visitors sign in."""
    allowed = frozenset(roles)

    def dependency(p: PageDep) -> Page:
        if p.auth is None:
            raise Unauthorized()
        if allowed and p.me.role not in allowed:
            raise Forbidden()
        return p

    return Annotated[Page, Depends(dependency)]


SignedIn = require()
ResidentPage = require(Role.resident)
OperatorPage = require(Role.operator, Role.office_admin)
OfficeAdminPage = require(Role.office_admin)
PlatformAdminPage = require(Role.platform_admin)
# Office admins for their own office, platform admins for any (a new office's first admin).
AdminPage = require(Role.office_admin, Role.platform_admin)
RwPage = require(Role.rw_admin)
CourierPage = require(Role.courier)


def sign_in_url(next_path: str | None = None) -> str:
    return "/masuk" + (f"?next={quote(next_path, safe='/')}" if next_path else "")


HOME_BY_ROLE = {
    Role.resident: "/permohonan",
    Role.courier: "/kurir",
    Role.operator: "/operator",
    Role.office_admin: "/operator",
    Role.rw_admin: "/rw",
    Role.platform_admin: "/admin/kantor",
}


def home_for(user: User) -> str:
    return HOME_BY_ROLE.get(user.role, "/")
