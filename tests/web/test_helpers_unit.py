"""Pure helpers of the web package: the offline map, the reports, the message catalog."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from core.errors import VALIDATION_MESSAGES
from web.forms import FormState
from web.i18n import MESSAGES, VALIDATION_MESSAGES_EN, Translator
from web.mapplot import HEIGHT, PAD, WIDTH, Point, plot
from web.reports import costs_csv, monthly_costs, provider_stats
from web.rows import row_action, row_errors, rows_from_form, slug_code, split_list
from web.templating import field_value, filesize, local_time, rupiah

coords = st.tuples(st.floats(-8.0, -5.0), st.floats(105.0, 108.0))


@given(st.lists(coords, min_size=1, max_size=3))
def test_every_point_lands_inside_the_drawing(points):
    view = plot([Point(lat, lng, "dest", "x") for lat, lng in points])
    for p in view.points:
        assert PAD - 0.1 <= p.x <= WIDTH - PAD + 0.1
        assert PAD - 0.1 <= p.y <= HEIGHT - PAD + 0.1


def test_north_is_up_and_east_is_right():
    view = plot([Point(-6.39, 106.84, "office", "K"), Point(-6.38, 106.85, "dest", "T")])
    office, dest = view.placed("office"), view.placed("dest")
    assert dest.x > office.x and dest.y < office.y
    assert view.route.count(",") == 2


def test_same_scale_both_ways():
    view = plot([Point(-6.0, 106.0, "office", ""), Point(-6.0, 106.1, "dest", "")])
    km_per_px_x = view.scale_km / (WIDTH - 2 * PAD)
    km_per_px_y = (view.max_lat - view.min_lat) * 111.32 / (HEIGHT - 2 * PAD)
    assert abs(km_per_px_x - km_per_px_y) / km_per_px_y < 0.01


def test_catalogs_have_the_same_keys_and_placeholders():
    assert set(MESSAGES["id"]) == set(MESSAGES["en"])
    for key, text in MESSAGES["id"].items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}",
                                                                  MESSAGES["en"][key])), key


def test_every_key_used_in_templates_and_pages_exists():
    root = Path(__file__).resolve().parents[2] / "web"
    used = set()
    for path in [*root.rglob("*.html"), *root.rglob("*.py")]:
        # literal keys only: t("a.b") or t("a.b", x=1); t("state." ~ s) is built at run time
        used |= set(re.findall(r'''\bt\(["']([a-z_]+\.[a-z0-9_.]+)["']\s*[,)]''',
                               path.read_text()))
    missing = sorted(k for k in used if k not in MESSAGES["id"])
    assert not missing, missing


def test_translator_falls_back_and_translates_service_messages():
    en = Translator("en")
    assert en("nav.sign_in") == "Sign in"
    assert en("no.such.key") == "no.such.key"
    assert en.service("Nama pengguna atau kata sandi salah.") == "Wrong username or password."
    assert Translator("id").service("Nama pengguna atau kata sandi salah.").startswith("Nama")
    assert Translator("xx").lang == "id"


def test_money_time_and_size_formats():
    assert rupiah(12500) == "Rp12.500" and rupiah(0) == "Rp0"
    assert local_time(datetime(2026, 11, 28, 1, 30, tzinfo=UTC)) == "28 Nov 2026 08.30 WIB"
    assert local_time(datetime(2026, 11, 28, 1, 30, tzinfo=UTC), "time",
                      zone="Asia/Jayapura") == "10.30 WIT"
    assert filesize(500) == "1 KB" and filesize(3 * 1024 * 1024) == "3,0 MB"


def test_form_state_keeps_values_and_first_error():
    state = FormState(values={"name": "Siti"})
    state.add("name", "first")
    state.add("name", "second")
    assert state.value("name") == "Siti" and state.error("name") == "first" and not state.ok


@dataclass
class _Attempt:
    provider: str
    status: str
    booked_at: datetime | None
    price: int = 0
    leg: str = "outbound"
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class _Delivery:
    attempts: list
    price: int = 0
    subsidy: int = 0
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class _Event:
    attempt_id: uuid.UUID
    status: str
    occurred_at: datetime
    received_at: datetime


NOV = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def test_monthly_costs_per_provider_and_csv():
    deliveries = [
        _Delivery([_Attempt("sandbox", "done", NOV, 12500)], price=2500, subsidy=10000),
        _Delivery([_Attempt("sandbox", "failed", NOV, 9000),
                   _Attempt("inhouse", "done", NOV, 0)]),
        _Delivery([_Attempt("sandbox", "done", NOV - timedelta(days=30), 7000)]),  # October
        # 30 Nov 18:00 UTC is 1 Dec in Jakarta: December's books
        _Delivery([_Attempt("sandbox", "done", datetime(2026, 11, 30, 18, tzinfo=UTC), 5000)]),
    ]
    rows = monthly_costs(deliveries, 2026, 11)
    assert [(r.provider, r.deliveries, r.provider_price, r.subsidy, r.resident_paid)
            for r in rows] == [("sandbox", 1, 12500, 10000, 2500), ("inhouse", 1, 0, 0, 0)]
    text = costs_csv(rows, {"sandbox": "Sandbox"}, 2026, 11)
    assert text.splitlines()[1] == "2026-11,Sandbox,1,12500,10000,2500"
    assert text.splitlines()[-1] == "2026-11,TOTAL,2,12500,10000,2500"


def test_provider_stats_success_rate_and_median_time_to_courier():
    a1 = _Attempt("sandbox", "done", NOV)
    a2 = _Attempt("sandbox", "failed", NOV)
    a3 = _Attempt("sandbox", "done", NOV)
    d1, d2, d3 = _Delivery([a1]), _Delivery([a2]), _Delivery([a3])
    events = {
        d1.id: [_Event(a1.id, "courier_assigned", NOV + timedelta(seconds=60), NOV)],
        d3.id: [_Event(a3.id, "picked_up", NOV + timedelta(seconds=300), NOV),
                _Event(a3.id, "courier_assigned", NOV + timedelta(seconds=180), NOV)],
    }
    stats = provider_stats([d1, d2, d3], events)["sandbox"]
    assert stats["success_rate"] == 2 / 3
    assert (stats["done"], stats["failed"]) == (2, 1)  # the page's counts, from one source
    assert stats["median_assign_s"] == 120.0


def test_validation_messages_have_the_same_types_and_placeholders_in_english():
    assert set(VALIDATION_MESSAGES) == set(VALIDATION_MESSAGES_EN)
    for kind, text in VALIDATION_MESSAGES.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(
            re.findall(r"{(\w+)}", VALIDATION_MESSAGES_EN[kind])), kind
    err = {"type": "greater_than", "loc": ("n",), "msg": "Input should be greater than 0",
           "ctx": {"gt": 0}}
    assert Translator("id").validation(err) == "Harus lebih dari 0."
    assert Translator("en").validation(err) == "Must be more than 0."
    own = {"type": "value_error", "msg": "Value error, Nomor telepon tidak valid."}
    assert Translator("en").validation(own) == "Phone number is not valid."
    assert Translator("en").validation({"type": "no_such_type"}) == "Not a valid entry."


def test_rows_come_back_in_order_without_blank_or_removed_rows():
    form = {"req-10-name": "Akta", "req-2-name": "KTP", "req-2-upload": "1",
            "req-3-name": " ", "req-3-upload": "1", "req-4-name": "KK", "fld-0-label": "x",
            "csrf_token": "t", "row_action": "remove:req:4"}
    action = row_action(form)
    assert (action.kind, action.prefix, action.index) == ("remove", "req", 4)
    assert rows_from_form(form, "req", text_cells=("name",), remove=action.index) == [
        {"name": "KTP", "upload": "1"}, {"name": "Akta"}]
    assert row_action({"row_action": "add:sub"}).kind == "add"
    assert row_action({"row_action": "drop tables"}) is None
    assert row_errors({"requirements.1.name": "a", "requirements.1.code": "b",
                       "requirements": "c", "name": "d"}, "requirements") == {1: ["a", "b"]}


def test_new_row_codes_come_from_their_names():
    taken = {"ktp"}
    assert slug_code("KTP", taken) == "ktp_2"
    assert slug_code("Foto rumah (tampak depan)", taken) == "foto_rumah_tampak_depan"
    assert slug_code("Ijazah / Rapor", taken, sep="_") == "ijazah_rapor"
    assert slug_code("X", taken) == "x_1"
    assert slug_code("!!!", taken) == "isian"
    assert split_list("005, 7;  8\n9") == ["005", "7", "8", "9"]
    assert split_list("0812 3456 0001, +62 812-0000", spaces=False) == [
        "0812 3456 0001", "+62 812-0000"]


def test_answers_read_by_their_field_type():
    assert field_value("2026-11-01", {"type": "date"}) == "01-11-2026"
    assert field_value("1500000", {"type": "number"}) == "1.500.000"
    assert field_value("kemarin", {"type": "date"}) == "kemarin"
    assert field_value("Putri", {"name": "nama"}) == "Putri"
