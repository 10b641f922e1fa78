"""Accounts: resident registration, one-time-code and password sign-in, staff creation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import audit, limits
from core.accounts.repository import AuthSessionRepository, OtpRepository, UserRepository
from core.accounts.schemas import ResidentRegistration, StaffCreate
from core.db import utcnow
from core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from core.models import AuthSession, OtpChallenge, Role, User
from core.notifications import notify
from core.offices.repository import OfficeRepository
from core.security import (
    constant_time_equals,
    encrypt_nik,
    hash_password,
    new_otp_code,
    new_token,
    nik_hash,
    otp_hash,
    token_digest,
    verify_password,
)
from core.settings import Settings

OTP_SENT = "Jika nomor terdaftar, kode masuk sudah dikirim."
REGISTERED = "Pendaftaran diterima. Kode masuk sudah dikirim ke nomor Anda."


@dataclass(frozen=True)
class IssuedSession:
    token: str
    session: AuthSession


def register_resident(session: Session, settings: Settings, data: ResidentRegistration,
                      *, client_ip: str) -> User | None:
    """Register a resident and send a sign-in code; None when the phone already has an
    account (the caller answers exactly as for a new one)."""
    office = OfficeRepository(session).by_slug(data.office)
    if office is None or not office.is_active:
        raise ValidationFailed("office", "Kantor kelurahan/desa tidak ditemukan.")
    if not office.has_rt_rw(data.rt, data.rw):
        raise ValidationFailed("rt", f"RT {data.rt} / RW {data.rw} tidak ada di {office.name}.")
    users = UserRepository(session)
    if users.by_phone(data.phone) is not None:
        # The same answer as a new registration, so nobody learns whether a phone is a
        # resident's: the code goes to that phone, whose owner can simply sign in.
        request_otp(session, settings, phone=data.phone, client_ip=client_ip)
        return None
    secret = settings.secret()
    digest = nik_hash(secret, data.nik)
    if users.nik_taken(office.id, digest):
        raise Conflict("NIK sudah terdaftar di kantor ini.", field="nik")
    user = users.add(User(
        office_id=office.id,
        role=Role.resident,
        full_name=data.full_name,
        phone=data.phone,
        nik_ciphertext=encrypt_nik(secret, data.nik),
        nik_hash=digest,
        nik_last4=data.nik[-4:],
        address=data.address,
        rt=data.rt,
        rw=data.rw,
        lat=data.lat,
        lng=data.lng,
    ))
    audit.record(session, action="resident.registered", entity_type="user", entity_id=user.id,
                 office_id=office.id, actor=user)
    notify(session, recipient=user.phone, kind="welcome", office_id=office.id, user_id=user.id,
           office=office.name, name=user.full_name)
    request_otp(session, settings, phone=data.phone, client_ip=client_ip)
    return user


def request_otp(session: Session, settings: Settings, *, phone: str, client_ip: str) -> None:
    """Send a sign-in code. The answer is the same whether or not the phone has an account."""
    now = utcnow()
    window = settings.otp_window_seconds
    if limits.take(session, f"otp-send:phone:{phone}", limit=settings.otp_per_phone_per_window,
                   window_seconds=window, now=now) is None:
        raise TooManyRequests("Terlalu banyak permintaan kode untuk nomor ini. Coba lagi nanti.",
                              retry_after=window)
    if limits.take(session, f"otp-send:client:{client_ip}",
                   limit=settings.otp_per_client_per_window, window_seconds=window,
                   now=now) is None:
        raise TooManyRequests(retry_after=window)
    code = new_otp_code()
    OtpRepository(session).add(OtpChallenge(
        phone=phone,
        code_hash=otp_hash(settings.secret(), phone, code),
        client_ip=client_ip,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
    ))
    user = UserRepository(session).by_phone(phone)
    if user is not None and user.is_active and user.role == Role.resident:
        notify(session, recipient=phone, kind="otp", office_id=user.office_id, user_id=user.id,
               sensitive=True, code=code, minutes=settings.otp_ttl_seconds // 60)


def verify_otp(session: Session, settings: Settings, *, phone: str, code: str,
               client_ip: str) -> IssuedSession:
    """Check a sign-in code. Each try is counted before the code is compared, in one
    conditional update, so parallel guesses get exactly ``otp_max_attempts`` comparisons."""
    now = utcnow()
    otps = OtpRepository(session)
    challenge = otps.latest_open(phone, now)
    if challenge is None:
        raise Unauthorized("Kode salah atau sudah kedaluwarsa. Minta kode baru.")
    tries = otps.take_attempt(challenge.id, settings.otp_max_attempts)
    if tries is None:
        raise TooManyRequests("Kode tidak dapat dipakai lagi. Minta kode baru.")
    user = UserRepository(session).by_phone(phone)
    expected = otp_hash(settings.secret(), phone, code)
    if not constant_time_equals(expected, challenge.code_hash) or user is None \
            or not user.is_active or user.role != Role.resident:
        if tries >= settings.otp_max_attempts:
            raise TooManyRequests("Terlalu banyak percobaan. Minta kode baru.").keeping_changes()
        raise Unauthorized("Kode salah atau sudah kedaluwarsa.",
                           attempts_left=settings.otp_max_attempts - tries).keeping_changes()
    if not otps.consume(challenge.id, now):
        raise Unauthorized("Kode sudah dipakai. Minta kode baru.")
    return _issue_session(session, settings, user, client_ip=client_ip)


def password_login(session: Session, settings: Settings, *, username: str, password: str,
                   client_ip: str) -> IssuedSession:
    """Staff sign-in. Failed tries are counted per username and per client address; past
    the limit even the right password is refused until the window passes, so a password
    cannot be guessed by trying many. A slot of both limits is taken before the password is
    checked and given back when it was right, so parallel tries never check more."""
    name = username.strip().lower()
    now = utcnow()
    window = settings.otp_window_seconds
    keys = ((f"login:user:{name}", settings.login_failures_per_user),
            (f"login:client:{client_ip}", settings.login_failures_per_client))
    for key, limit in keys:
        if limits.take(session, key, limit=limit, window_seconds=window, now=now) is None:
            raise TooManyRequests("Terlalu banyak percobaan masuk. Coba lagi nanti.",
                                  retry_after=window)
    user = UserRepository(session).by_username(name)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized("Nama pengguna atau kata sandi salah.").keeping_changes()
    for key, _ in keys:
        limits.give_back(session, key)
    return _issue_session(session, settings, user, client_ip=client_ip)


def _issue_session(session: Session, settings: Settings, user: User, *,
                   client_ip: str) -> IssuedSession:
    now = utcnow()
    token = new_token()
    auth = AuthSession(
        user_id=user.id,
        token_hash=token_digest(token),
        csrf_token=new_token(24),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_ttl_hours),
        client_ip=client_ip,
    )
    session.add(auth)
    user.last_login_at = now
    session.flush()
    auth.user = user
    audit.record(session, action="auth.signed_in", entity_type="user", entity_id=user.id,
                 office_id=user.office_id, actor=user)
    return IssuedSession(token=token, session=auth)


def authenticate(session: Session, token: str, now: datetime | None = None) -> AuthSession:
    auth = AuthSessionRepository(session).by_token_hash(token_digest(token))
    now = now or utcnow()
    if auth is None or auth.revoked_at is not None or auth.expires_at <= now \
            or not auth.user.is_active:
        raise Unauthorized()
    return auth


def sign_out(session: Session, auth: AuthSession) -> None:
    auth.revoked_at = utcnow()


# --- staff ---------------------------------------------------------------------------------

ASSIGNABLE_BY_OFFICE_ADMIN = frozenset({Role.operator, Role.rw_admin, Role.courier,
                                        Role.office_admin})


def create_staff(session: Session, settings: Settings, data: StaffCreate, *,
                 actor: User | None) -> User:
    """Create a staff account. ``actor`` None means the command line (a platform operator)."""
    if data.role == Role.resident:
        raise ValidationFailed("role", "Warga mendaftar sendiri; gunakan pendaftaran warga.")
    if len(data.password) < settings.password_min_length:
        raise ValidationFailed("password",
                               f"Kata sandi minimal {settings.password_min_length} karakter.")
    offices = OfficeRepository(session)
    if actor is None or actor.role == Role.platform_admin:
        office = offices.by_slug(data.office) if data.office else None
        if data.role != Role.platform_admin and office is None:
            raise ValidationFailed("office", "Kantor harus dipilih untuk akun staf.")
        if data.role == Role.platform_admin:
            office = None
    elif actor.role == Role.office_admin:
        if data.role not in ASSIGNABLE_BY_OFFICE_ADMIN:
            raise Forbidden()
        if data.office and data.office != (actor.office.slug if actor.office else None):
            raise NotFound("Kantor tidak ditemukan.")
        office = actor.office
    else:
        raise Forbidden()
    if data.role == Role.rw_admin:
        if not data.rw:
            raise ValidationFailed("rw", "Admin RW harus punya nomor RW.")
        if office is None or data.rw not in (office.rt_rw or {}):
            raise ValidationFailed("rw", f"RW {data.rw} tidak ada di kantor ini.")
    users = UserRepository(session)
    username = data.username.lower()
    if users.by_username(username) is not None:
        raise Conflict("Nama pengguna sudah dipakai.", field="username")
    if data.phone and users.by_phone(data.phone) is not None:
        raise Conflict("Nomor telepon sudah terdaftar.", field="phone")
    user = users.add(User(
        office_id=office.id if office else None,
        role=data.role,
        full_name=data.full_name,
        username=username,
        password_hash=hash_password(data.password),
        phone=data.phone,
        rw=data.rw if data.role == Role.rw_admin else None,
    ))
    audit.record(session, action="user.created", entity_type="user", entity_id=user.id,
                 office_id=user.office_id, actor=actor, data={"role": str(data.role)})
    return user


def visible_users(session: Session, actor: User, *, role: Role | None, limit: int,
                  offset: int, office_id: uuid.UUID | None = None) -> list[User]:
    """An office admin sees their office's users; a platform admin every office's, or one
    office's (``office_id``)."""
    scope = office_id if actor.role == Role.platform_admin else actor.office_id
    return UserRepository(session).list_office(scope, roles=[role] if role else None,
                                               limit=limit, offset=offset)


def get_visible_user(session: Session, actor: User, user_id) -> User:
    users = UserRepository(session)
    if actor.role == Role.platform_admin:
        user = session.get(User, user_id)
    elif actor.role == Role.office_admin and actor.office_id is not None:
        user = users.in_office(actor.office_id, user_id)
    else:
        user = actor if actor.id == user_id else None
    if user is None:
        raise NotFound()
    return user


def set_active(session: Session, actor: User, user_id, active: bool) -> User:
    user = get_visible_user(session, actor, user_id)
    if user.id == actor.id:
        raise Conflict("Anda tidak dapat menonaktifkan akun sendiri.")
    if user.role == Role.platform_admin and actor.role != Role.platform_admin:
        raise NotFound()
    user.is_active = active
    if not active:  # every session ends now: reactivation must not bring old tokens back
        AuthSessionRepository(session).revoke_all_of(user.id, utcnow())
    audit.record(session, action="user.activated" if active else "user.deactivated",
                 entity_type="user", entity_id=user.id, office_id=user.office_id, actor=actor)
    return user
