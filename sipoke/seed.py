"""Demo data: two offices (to show that each sees only its own) and one account per role.

Demo passwords are printed by ``make run``; seeding refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts.repository import UserRepository
from core.accounts.schemas import ResidentRegistration, StaffCreate
from core.accounts.service import create_staff
from core.db import unit_of_work
from core.models import Office, Role, User
from core.offices.repository import OfficeRepository
from core.offices.schemas import OfficeCreate
from core.offices.service import create as create_office
from core.requests.demo import seed_catalogs, seed_finished_request
from core.security import encrypt_nik, nik_hash
from core.settings import Environment, Settings
from fleet.demo import seed_courier_profiles

WEEKDAYS = {d: ["08:00", "15:00"] for d in ("mon", "tue", "wed", "thu")} | {
    "fri": ["08:00", "11:30"]
}


def _rts(n: int) -> list[str]:
    return [f"{i:03d}" for i in range(1, n + 1)]


OFFICES = [
    OfficeCreate(
        slug="mekarjaya", name="Kelurahan Mekarjaya", kind="kelurahan",
        region_code="32.76.04.1006", district="Sukmajaya", city="Kota Depok",
        province="Jawa Barat", address="Jl. Tole Iskandar No. 1, Mekarjaya, Sukmajaya, Depok",
        lat=-6.3925, lng=106.8420, hours=WEEKDAYS,
        rt_rw={f"{rw:03d}": _rts(8) for rw in range(1, 13)},
        phone="+622177820000", whatsapp="+6281380000001", email="kel.mekarjaya@depok.go.id",
    ),
    OfficeCreate(
        slug="abadijaya", name="Kelurahan Abadijaya", kind="kelurahan",
        region_code="32.76.04.1002", district="Sukmajaya", city="Kota Depok",
        province="Jawa Barat", address="Jl. Merdeka Raya, Abadijaya, Sukmajaya, Depok",
        lat=-6.3870, lng=106.8375, hours=WEEKDAYS,
        rt_rw={f"{rw:03d}": _rts(6) for rw in range(1, 9)},
        phone="+622177830000", email="kel.abadijaya@depok.go.id",
    ),
]


@dataclass(frozen=True)
class DemoStaff:
    office: str | None
    role: Role
    username: str
    password: str
    full_name: str
    rw: str | None = None
    phone: str | None = None


STAFF = [
    DemoStaff(None, Role.platform_admin, "platform", "demo-platform-123", "Admin Platform"),
    DemoStaff("mekarjaya", Role.office_admin, "admin.mekarjaya", "demo-admin-123",
              "Lurah Mekarjaya"),
    DemoStaff("mekarjaya", Role.operator, "operator.mekarjaya", "demo-operator-123",
              "Rina Operator"),
    # A head for every RW a demo resident lives in (RESIDENTS), or their cover letters wait
    # for nobody: Siti in RW 005, Agus in RW 002, Dewi in Abadijaya's RW 001.
    DemoStaff("mekarjaya", Role.rw_admin, "rw05.mekarjaya", "demo-rw-12345", "Pak Ketua RW 05",
              rw="005"),
    DemoStaff("mekarjaya", Role.rw_admin, "rw02.mekarjaya", "demo-rw-12345", "Bu Ketua RW 02",
              rw="002"),
    DemoStaff("mekarjaya", Role.courier, "kurir.mekarjaya", "demo-kurir-123", "Budi Kurir",
              phone="+6281311110001"),
    DemoStaff("abadijaya", Role.office_admin, "admin.abadijaya", "demo-admin-123",
              "Lurah Abadijaya"),
    DemoStaff("abadijaya", Role.operator, "operator.abadijaya", "demo-operator-123",
              "Dedi Operator"),
    DemoStaff("abadijaya", Role.rw_admin, "rw01.abadijaya", "demo-rw-12345", "Pak Ketua RW 01",
              rw="001"),
]

RESIDENTS = [
    ResidentRegistration(office="mekarjaya", nik="3276015708900001", full_name="Siti Aminah",
                         phone="081234560001", address="Jl. Kenanga No. 5", rt="003", rw="005",
                         lat=-6.3952, lng=106.8461),
    ResidentRegistration(office="mekarjaya", nik="3276011203850002", full_name="Agus Santoso",
                         phone="081234560002", address="Jl. Melati No. 12", rt="001", rw="002",
                         lat=-6.3899, lng=106.8395),
    ResidentRegistration(office="abadijaya", nik="3276014506920003", full_name="Dewi Lestari",
                         phone="081234560003", address="Jl. Anggrek No. 7", rt="002", rw="001",
                         lat=-6.3861, lng=106.8355),
]

def seed_rw_heads(session: Session, settings: Settings) -> None:
    """Demo data made before every RW head was in ``STAFF`` gets the missing ones."""
    users = UserRepository(session)
    for staff in STAFF:
        if staff.role == Role.rw_admin and users.by_username(staff.username) is None:
            _add_staff(session, settings, staff)


# Other packages append their own demo steps (catalog, couriers...).
EXTRA_STEPS: list = [seed_rw_heads]
# Core's own: every office's service catalog, and a finished demo request for Siti.
EXTRA_STEPS += [seed_catalogs, seed_finished_request]
EXTRA_STEPS += [seed_courier_profiles]  # fleet: demo couriers on duty


def seed_demo(settings: Settings) -> bool:
    """Create the demo data once. Returns False when it was already there."""
    if settings.env is Environment.production:
        raise RuntimeError("demo data is never seeded in production")
    with unit_of_work() as session:
        if OfficeRepository(session).by_slug("mekarjaya") is not None:
            _run_extra(session, settings)
            return False
        for office in OFFICES:
            create_office(session, office, actor=None)
        for staff in STAFF:
            _add_staff(session, settings, staff)
        for resident in RESIDENTS:
            _add_resident(session, settings, resident)
        _run_extra(session, settings)
    return True


def _run_extra(session: Session, settings: Settings) -> None:
    for step in EXTRA_STEPS:
        step(session, settings)


def _add_staff(session: Session, settings: Settings, staff: DemoStaff) -> User:
    return create_staff(session, settings, StaffCreate(
        role=staff.role, full_name=staff.full_name, username=staff.username,
        password=staff.password, phone=staff.phone, rw=staff.rw, office=staff.office,
    ), actor=None)


def _add_resident(session: Session, settings: Settings, data: ResidentRegistration) -> User:
    office = OfficeRepository(session).by_slug(data.office)
    assert isinstance(office, Office)
    secret = settings.secret()
    return UserRepository(session).add(User(
        office_id=office.id, role=Role.resident, full_name=data.full_name, phone=data.phone,
        nik_ciphertext=encrypt_nik(secret, data.nik), nik_hash=nik_hash(secret, data.nik),
        nik_last4=data.nik[-4:], address=data.address, rt=data.rt, rw=data.rw,
        lat=data.lat, lng=data.lng,
    ))


def demo_logins_text(base_url: str) -> str:
    lines = ["Demo logins (staff: POST /api/v1/auth/login):"]
    for s in STAFF:
        where = s.office or "all offices"
        lines.append(f"  {s.role:<15} {s.username:<22} {s.password:<20} ({where})")
    lines.append("Residents sign in with a one-time code (POST /api/v1/auth/otp); the code is")
    lines.append("printed in this terminal by the console notification channel:")
    for r in RESIDENTS:
        lines.append(f"  resident        {r.phone:<22} {r.full_name} ({r.office})")
    return "\n".join(lines)
