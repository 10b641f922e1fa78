"""Accounts: resident registration, one-time-code and password sign-in, staff creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import audit
from core.accounts.repository import (
    AuthSessionRepository,
    LoginFailureRepository,
    OtpRepository,
    UserRepository,
)
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


@dataclass(frozen=True)
class IssuedSession:
    token: str
    session: AuthSession


def register_resident(session: Session, settings: Settings, data: ResidentRegistration,
                      *, client_ip: str) -> User:
    office = OfficeRepository(session).by_slug(data.office)
    if office is None or not office.is_active:
        raise ValidationFailed("office", "Kantor kelurahan/desa tidak ditemukan.")
    if not office.has_rt_rw(data.rt, data.rw):
        raise ValidationFailed("rt", f"RT {data.rt} / RW {data.rw} tidak ada di {office.name}.")
    users = UserRepository(session)
    if users.by_phone(data.phone) is not None:
        raise Conflict("Nomor telepon sudah terdaftar. Silakan masuk.", field="phone")
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
    since = now - timedelta(seconds=settings.otp_window_seconds)
    otps = OtpRepository(session)
    if otps.count_since(since=since, phone=phone) >= settings.otp_per_phone_per_window:
        raise TooManyRequests("Terlalu banyak permintaan kode untuk nomor ini. Coba lagi nanti.",
                              retry_after=settings.otp_window_seconds)
    if otps.count_since(since=since, client_ip=client_ip) >= settings.otp_per_client_per_window:
        raise TooManyRequests(retry_after=settings.otp_window_seconds)
    code = new_otp_code()
    session.add(OtpChallenge(
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
    now = utcnow()
    challenge = OtpRepository(session).latest_open(phone, now)
    if challenge is None:
        raise Unauthorized("Kode salah atau sudah kedaluwarsa. Minta kode baru.")
    if challenge.attempts >= settings.otp_max_attempts:
        raise TooManyRequests("Terlalu banyak percobaan. Minta kode baru.")
    user = UserRepository(session).by_phone(phone)
    expected = otp_hash(settings.secret(), phone, code)
    if not constant_time_equals(expected, challenge.code_hash) or user is None \
            or not user.is_active or user.role != Role.resident:
        challenge.attempts += 1
        if challenge.attempts >= settings.otp_max_attempts:
            raise TooManyRequests("Terlalu banyak percobaan. Minta kode baru.").keeping_changes()
        raise Unauthorized("Kode salah atau sudah kedaluwarsa.",
                           attempts_left=settings.otp_max_attempts - challenge.attempts
                           ).keeping_changes()
    challenge.consumed_at = now
    return _issue_session(session, settings, user, client_ip=client_ip)


def password_login(session: Session, settings: Settings, *, username: str, password: str,
                   client_ip: str) -> IssuedSession:
    """Staff sign-in. Failed tries are counted per username and per client address; past
    the limit even the right password is refused until the window passes, so a password
    cannot be guessed by trying many."""
    name = username.strip().lower()
    now = utcnow()
    since = now - timedelta(seconds=settings.otp_window_seconds)
    failures = LoginFailureRepository(session)
    if failures.count_since(since=since, username=name) >= settings.login_failures_per_user \
            or failures.count_since(since=since, client_ip=client_ip) \
            >= settings.login_failures_per_client:
        raise TooManyRequests("Terlalu banyak percobaan masuk. Coba lagi nanti.",
                              retry_after=settings.otp_window_seconds)
    user = UserRepository(session).by_username(name)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        failures.add(username=name, client_ip=client_ip, at=now)
        raise Unauthorized("Nama pengguna atau kata sandi salah.").keeping_changes()
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
                  offset: int) -> list[User]:
    office_id = None if actor.role == Role.platform_admin else actor.office_id
    return UserRepository(session).list_office(office_id, roles=[role] if role else None,
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
    audit.record(session, action="user.activated" if active else "user.deactivated",
                 entity_type="user", entity_id=user.id, office_id=user.office_id, actor=actor)
    return user
