from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from core.accounts import service
from core.accounts.schemas import (
    OtpSent,
    OtpVerify,
    PasswordLogin,
    PhoneIn,
    ResidentRegistration,
    StaffCreate,
    TokenOut,
    UserOut,
)
from core.deps import (
    SESSION_COOKIE,
    AdminUser,
    ClientIp,
    CurrentAuth,
    CurrentUser,
    SessionDep,
    SettingsDep,
)
from core.models import Role
from core.openapi import errors
from core.settings import Settings

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(tags=["users"])


CookieOption = Annotated[bool, Query(
    description="Sign in with an HttpOnly session cookie (web pages) instead of a bearer token; "
                "unsafe requests then need the X-CSRF-Token header.")]


def _token_out(issued: service.IssuedSession, settings: Settings, response: Response,
               *, cookie: bool) -> TokenOut:
    token: str | None = issued.token
    if cookie:
        response.set_cookie(
            SESSION_COOKIE, issued.token,
            max_age=settings.session_ttl_hours * 3600, path="/", httponly=True, samesite="lax",
            secure=settings.base_url.startswith("https://"),
        )
        # A script on the page never sees the session token; it only needs the CSRF token.
        token = None
    return TokenOut(
        access_token=token,
        expires_at=issued.session.expires_at,
        csrf_token=issued.session.csrf_token,
        user=UserOut.model_validate(issued.session.user),
    )


@auth_router.post("/register", status_code=status.HTTP_201_CREATED, response_model=OtpSent,
                  responses=errors(404, 429))
def register(data: ResidentRegistration, session: SessionDep, settings: SettingsDep,
             ip: ClientIp) -> OtpSent:
    """Register a resident of an office; a sign-in code goes to the phone. A phone that
    already has an account gets the same answer (and a sign-in code), so the answer never
    tells whether a phone number belongs to a resident."""
    service.register_resident(session, settings, data, client_ip=ip)
    return OtpSent(message=service.REGISTERED, expires_in=settings.otp_ttl_seconds)


@auth_router.post("/otp", status_code=status.HTTP_202_ACCEPTED, response_model=OtpSent,
                  responses=errors(429))
def request_code(data: PhoneIn, session: SessionDep, settings: SettingsDep,
                 ip: ClientIp) -> OtpSent:
    service.request_otp(session, settings, phone=data.phone, client_ip=ip)
    return OtpSent(message=service.OTP_SENT, expires_in=settings.otp_ttl_seconds)


@auth_router.post("/otp/verify", response_model=TokenOut, responses=errors(401, 429))
def verify_code(data: OtpVerify, session: SessionDep, settings: SettingsDep, ip: ClientIp,
                response: Response, cookie: CookieOption = False) -> TokenOut:
    issued = service.verify_otp(session, settings, phone=data.phone, code=data.code,
                                client_ip=ip)
    return _token_out(issued, settings, response, cookie=cookie)


@auth_router.post("/login", response_model=TokenOut, responses=errors(401, 429))
def login(data: PasswordLogin, session: SessionDep, settings: SettingsDep, ip: ClientIp,
          response: Response, cookie: CookieOption = False) -> TokenOut:
    """Staff sign-in with username and password."""
    issued = service.password_login(session, settings, username=data.username,
                                    password=data.password, client_ip=ip)
    return _token_out(issued, settings, response, cookie=cookie)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: CurrentAuth, session: SessionDep, response: Response) -> None:
    service.sign_out(session, auth)
    response.delete_cookie(SESSION_COOKIE, path="/")


@users_router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@users_router.get("/users", response_model=list[UserOut])
def list_users(actor: AdminUser, session: SessionDep,
               role: Role | None = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[UserOut]:
    users = service.visible_users(session, actor, role=role, limit=limit, offset=offset)
    return [UserOut.model_validate(u) for u in users]


@users_router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut,
                   responses=errors(404))
def create_user(data: StaffCreate, actor: AdminUser, session: SessionDep,
                settings: SettingsDep) -> UserOut:
    return UserOut.model_validate(service.create_staff(session, settings, data, actor=actor))


@users_router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: uuid.UUID, actor: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(service.get_visible_user(session, actor, user_id))


@users_router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(user_id: uuid.UUID, actor: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(service.set_active(session, actor, user_id, False))


@users_router.post("/users/{user_id}/activate", response_model=UserOut)
def activate_user(user_id: uuid.UUID, actor: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(service.set_active(session, actor, user_id, True))
