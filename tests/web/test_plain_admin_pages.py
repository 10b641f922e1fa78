"""Admin pages for staff with little IT (issue 15, item 9), through the TestClient: the
service editor's rows work without script, subsidy rules are edited on the web, a platform
admin makes a new office's first admin, and the partner page's failures agree with its
success rate. Both databases."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser

from core.db import unit_of_work, utcnow
from delivery.models import AttemptStatus, Delivery, DeliveryAttempt, Leg
from delivery.models import DeliveryState as D
from tests.delivery.test_operator_dashboard import _delivery
from tests.fixtures import RESIDENT_A
from tests.web.helpers import csrf_of, sign_in_as

API = "/api/v1"


def _row_names(html: str, prefix: str, cell: str) -> list[str]:
    return re.findall(rf'name="{prefix}-\d+-{cell}" value="([^"]*)"', html)


class _FormFields(HTMLParser):
    """What a browser sends for one form: text inputs, ticked boxes, chosen options and
    text areas (rows inside a <template> are not part of the form)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.in_template = form_id, False, False
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if tag == "template":
            self.in_template = True
        if not self.inside or self.in_template:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.data[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.data.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.data[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.in_template = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self._textarea and not self.in_template:
            self.data[self._textarea] += data


def _form(html: str, form_id: str = "service-form") -> dict[str, str]:
    parser = _FormFields(form_id)
    parser.feed(html)
    assert parser.data, f"no form #{form_id}"
    return parser.data


def _row(html: str, marker: str) -> str:
    """The row (data-row) that contains ``marker``."""
    at = html.index(marker)
    start = html.rindex("data-row ", 0, at)
    end = html.find("data-row ", at)
    return html[start:end if end != -1 else None]


def test_service_rows_are_added_removed_and_saved_without_script(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/katalog/pengantar-akta-kelahiran")
    assert page.status_code == 200
    assert "kode | nama" not in page.text  # no pipe syntax left
    assert _row_names(page.text, "req", "name") == [
        "Surat keterangan lahir dari bidan/rumah sakit", "Kartu Keluarga", "KTP-el pemohon",
        "Buku nikah orang tua"]
    form = _form(page.text)

    # "Add a requirement" without script: the page comes back with an empty row, unsaved.
    added = client.post("/admin/katalog/pengantar-akta-kelahiran",
                        data={**form, "row_action": "add:req"})
    assert added.status_code == 200
    assert _row_names(added.text, "req", "name")[-1] == "" and \
        len(_row_names(added.text, "req", "name")) == 5
    # "Remove" on the second row: gone from the form, still nothing saved.
    removed = client.post("/admin/katalog/pengantar-akta-kelahiran",
                          data={**form, "row_action": "remove:req:1"})
    assert "Kartu Keluarga" not in _row_names(removed.text, "req", "name")
    svc = client.get(f"{API}/offices/mekarjaya/services/pengantar-akta-kelahiran").json()
    assert [r["code"] for r in svc["requirements"]] == ["surat_lahir", "kk", "ktp", "buku_nikah"]

    # Save: the removed row is gone, a new row gets its code from its name, a new field is a
    # date, an unticked box is off.
    data = _form(removed.text)
    data.update({"req-7-name": "Foto bayi", "req-7-upload": "1",
                 "fld-5-label": "Jam lahir", "fld-5-type": "text",
                 "fld-6-label": "Tanggal pulang dari rumah sakit", "fld-6-type": "date",
                 "fld-6-required": "1"})
    saved = client.post("/admin/katalog/pengantar-akta-kelahiran", data=data,
                        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    svc = client.get(f"{API}/offices/mekarjaya/services/pengantar-akta-kelahiran").json()
    assert [(r["code"], r["upload"], r["original"]) for r in svc["requirements"]] == [
        ("surat_lahir", True, True), ("ktp", True, True), ("buku_nikah", True, True),
        ("foto_bayi", True, False)]
    assert [(f["name"], f["type"], f["required"]) for f in svc["fields"]] == [
        ("nama_anak", "text", True), ("tanggal_lahir", "date", True),
        ("jam_lahir", "text", False),
        ("tanggal_pulang_dari_rumah_sakit", "date", True)]


def test_service_row_errors_are_shown_on_their_row(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/katalog/domisili")
    data = {**_form(page.text), "req-9-name": "X", "req-9-upload": "1"}
    r = client.post("/admin/katalog/domisili", data=data)
    assert r.status_code == 422
    assert "Minimal 2 karakter." in _row(r.text, 'name="req-3-name" value="X"')
    assert "String should" not in r.text and 'value="Surat Keterangan Domisili"' in r.text


def test_subsidy_rules_are_edited_on_the_web(client, demo):
    admin = demo.headers("admin.mekarjaya")
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/pengantaran")
    assert page.status_code == 200 and 'data-rows="sub"' in page.text
    base = {"choice_policy": "resident", "max_distance_m": "25000", "time_budget_min": "90",
            "no_courier_timeout_min": "10", "late_pickup_min": "45",
            "late_delivery_min": "120", "provider_inhouse": "1",
            "csrf_token": csrf_of(page.text)}
    more = client.post("/admin/pengantaran", data={**base, "row_action": "add:sub"})
    assert more.status_code == 200 and 'name="sub-0-name"' in more.text

    bad = client.post("/admin/pengantaran", data={
        **base, "sub-0-name": "Lansia", "sub-0-phones": "0812345, 081234560002",
        "sub-2-name": "RW lima", "sub-2-rws": "lima"})
    assert bad.status_code == 422
    assert "0812345: Nomor telepon tidak valid." in bad.text
    assert "Tulis nomor RW dengan angka." in _row(bad.text, 'value="RW lima"')
    bad = client.post("/admin/pengantaran", data={
        **base, "sub-0-name": "", "sub-0-percent_off": "150"})
    assert bad.status_code == 422
    row = _row(bad.text, 'name="sub-0-percent_off"')
    assert "Wajib diisi." in row and "Tidak boleh lebih dari 100." in row
    assert client.get(f"{API}/admin/delivery-policy", headers=admin
                      ).json()["effective"]["subsidy_rules"] == []

    saved = client.post("/admin/pengantaran", data={
        **base, "sub-0-name": "Warga RW 5 gratis", "sub-0-rws": "5, 007", "sub-0-free": "1",
        "sub-3-name": "Lansia", "sub-3-phones": "0812 3456 0002", "sub-3-percent_off": "50",
        "sub-3-max_amount": "10000", "sub-4-name": ""}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    rules = client.get(f"{API}/admin/delivery-policy", headers=admin
                       ).json()["effective"]["subsidy_rules"]
    assert [(r["name"], r["rws"], r["phones"], r["free"], r["percent_off"], r["max_amount"])
            for r in rules] == [
        ("Warga RW 5 gratis", ["005", "007"], [], True, 0, None),
        ("Lansia", [], ["+6281234560002"], False, 50, 10000)]
    shown = client.get("/admin/pengantaran").text
    assert _row_names(shown, "sub", "name") == ["Warga RW 5 gratis", "Lansia"]
    assert _row_names(shown, "sub", "rws")[0] == "005, 007"

    # Removing every row removes the rules.
    cleared = client.post("/admin/pengantaran", data=base, follow_redirects=False)
    assert cleared.status_code == 303
    assert client.get(f"{API}/admin/delivery-policy", headers=admin
                      ).json()["effective"]["subsidy_rules"] == []


def test_platform_admin_makes_a_new_offices_first_admin(client, demo):
    sign_in_as(client, "platform")
    offices = client.get("/admin/kantor")
    r = client.post("/admin/kantor", data={
        "slug": "tirtajaya", "name": "Kelurahan Tirtajaya", "region_code": "32.76.04.1005",
        "lat": "-6.40", "lng": "106.83", "rt_rw": "001: 001, 002",
        "csrf_token": csrf_of(offices.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/staf?kantor=tirtajaya"
    page = client.get(r.headers["location"])
    assert page.status_code == 200, page.text  # was 403
    assert "Kantor ini belum punya staf" in page.text
    assert '<option value="office_admin" selected>' in page.text
    refused = client.post("/admin/staf", data={
        "role": "office_admin", "full_name": "Lurah Tirtajaya", "username": "admin.tirtajaya",
        "password": "tirtajaya-rahasia", "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 422 and "Pilih kantornya dulu." in refused.text
    made = client.post("/admin/staf", data={
        "office": "tirtajaya", "role": "office_admin", "full_name": "Lurah Tirtajaya",
        "username": "admin.tirtajaya", "password": "tirtajaya-rahasia",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/admin/staf?kantor=tirtajaya"
    listed = client.get("/admin/staf?kantor=tirtajaya").text
    assert "admin.tirtajaya" in listed and "Lurah Tirtajaya" in listed
    assert "operator.mekarjaya" not in listed  # one office at a time

    client.cookies.clear()
    from tests.web.helpers import staff_sign_in

    staff_sign_in(client, "admin.tirtajaya", "tirtajaya-rahasia")
    assert client.get("/admin/staf").status_code == 200


def _attempt(delivery_id: uuid.UUID, status: AttemptStatus) -> None:
    with unit_of_work() as s:
        delivery = s.get(Delivery, delivery_id)
        s.add(DeliveryAttempt(
            delivery_id=delivery_id, office_id=delivery.office_id, leg=Leg.outbound,
            provider="sandbox", reference=f"spk-{uuid.uuid4().hex[:12]}", status=status,
            booked_at=utcnow() - timedelta(hours=2)))


def test_partner_page_failures_agree_with_the_success_rate(client, demo):
    _attempt(_delivery(RESIDENT_A, D.completed, changed_days_ago=1), AttemptStatus.done)
    _attempt(_delivery(RESIDENT_A, D.returned_to_office, changed_days_ago=1),
             AttemptStatus.failed)
    sign_in_as(client, "operator.mekarjaya")
    html = client.get("/operator/mitra").text
    row = html[html.index("Sandbox Kurir"):]
    row = row[:row.index("</tr>")]
    assert "50%" in row and "1 dari 2 berhasil" in row
    assert re.search(r'class="num failed-count">1<', row), row  # was "Gagal 0"
