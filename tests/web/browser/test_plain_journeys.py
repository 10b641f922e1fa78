"""Journeys without dead ends (issue 15, items 8, 9 and 11) in a real browser: a resident on
a phone, office and platform admins on a desktop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.requests.demo import demo_png

pytestmark = pytest.mark.browser

AGUS = "+6281234560002"  # Mekarjaya RW 002: his RW has a head now (item 11)
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plain-scans")
    files = {code: root / f"{code}.png" for code in ("ktp", "kk")}
    for code, path in files.items():
        path.write_bytes(demo_png(f"{code} Agus"))
    return files


def test_resident_signs_up_signs_in_and_applies_with_a_date(actors, signed_in, scans,
                                                             live_server):
    # The sign-up page asks "already have an account?", not "Masuk? Masuk".
    visitor = actors("visitor")
    visitor.go("/daftar")
    footer = visitor.page.locator("main p", has_text="punya akun").inner_text()
    assert footer == "Sudah punya akun? Masuk"
    assert visitor.page.locator("text=Masuk? Masuk").count() == 0

    # The code page shows the code form only: no staff sign-in card.
    agus = actors("agus")
    page = agus.page
    agus.go("/masuk")
    before = live_server.otp_count(AGUS)
    page.fill("#f-phone", AGUS)
    page.click("text=Kirim kode")
    page.wait_for_selector("#f-code")
    assert page.locator("form[action='/masuk/staf']").count() == 0
    assert page.locator("text=Petugas").count() == 0
    assert page.locator("text=Pakai nomor HP lain").is_visible()
    agus.shot("01-code-only")
    page.fill("#f-code", live_server.read_otp(AGUS, after=before))
    page.click("form[action='/masuk/verifikasi'] button[type=submit]")
    page.wait_for_selector(".flash-success")

    # "Tanggal lahir anak" is a date picker; errors read in Bahasa Indonesia.
    agus.go("/layanan/mekarjaya/pengantar-akta-kelahiran/ajukan")
    assert page.get_attribute("[name='fields.tanggal_lahir']", "type") == "date"
    page.click("text=Lanjut ke unggah persyaratan")
    page.wait_for_selector("#f-fields\\.nama_anak-err")
    assert page.inner_text("#f-fields\\.nama_anak-err") == "Wajib diisi."
    assert page.locator("text=Field required").count() == 0
    page.fill("[name='fields.nama_anak']", "Bima Santoso")
    page.fill("[name='fields.tanggal_lahir']", "2026-11-01")
    agus.shot("02-date-field")
    page.click("text=Lanjut ke unggah persyaratan")
    page.wait_for_url(re.compile(r"/permohonan/[0-9a-f-]{36}$"))
    assert page.locator("dd", has_text="01-11-2026").count() == 1

    # The cover letter: issued in the system, not "shown at handover"; his RW head issues it.
    agus.go("/layanan/mekarjaya/domisili/ajukan")
    page.fill("[name='fields.keperluan']", "Melamar kerja")
    page.click("text=Lanjut ke unggah persyaratan")
    page.wait_for_url(re.compile(r"/permohonan/[0-9a-f-]{36}$"))
    request_path = page.url.removeprefix(live_server.url)
    letter = page.locator("#req-pengantar_rt_rw")
    assert "Diterbitkan Ketua RW di sistem" in letter.inner_text()
    assert "Ditunjukkan saat serah terima" not in letter.inner_text()
    for code in ("ktp", "kk"):
        page.set_input_files(f"#file-{code}", str(scans[code]))
        page.click(f"#req-{code} button[type=submit]")
        page.wait_for_selector(f"#req-{code} .badge.ok")
    page.click("text=Kirim permohonan")
    page.wait_for_selector("text=Menunggu surat pengantar RW")
    agus.shot("03-waiting-for-rw")

    rw = signed_in("rw02.mekarjaya", phone=False)
    rw.go("/rw")
    card = rw.page.locator(".cover-letter", has_text="Agus Santoso").first
    card.locator("input[name=number]").fill("004/RW02/XI/2026")
    card.locator("text=Setujui dan terbitkan").click()
    rw.page.wait_for_selector("text=Surat pengantar diterbitkan.")

    agus.go(request_path)
    assert "Diterbitkan Ketua RW · No. 004/RW02/XI/2026" in letter.inner_text()
    assert page.locator(".badge", has_text="Diajukan").count() == 1
    agus.shot("04-letter-issued")


def _nav_rows(page) -> int:
    """How many lines the desktop menu takes."""
    return page.evaluate("""() => new Set(Array.from(
        document.querySelectorAll('.desktop-nav li')).map(li => li.offsetTop)).size""")


def test_office_admin_edits_rows_and_subsidies_on_a_laptop(signed_in):
    admin = signed_in("admin.mekarjaya", phone=False)
    page = admin.page
    page.set_viewport_size(LAPTOP)

    # The menu fits one line at 1366 px, in both languages.
    admin.go("/admin/katalog/sku")
    assert _nav_rows(page) == 1
    admin.go("/bahasa/en?next=/admin/katalog/sku")
    assert _nav_rows(page) == 1
    admin.go("/bahasa/id?next=/admin/katalog/sku")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Katalog layanan"

    # Requirements and questions are rows to add and remove: no pipe syntax.
    assert page.locator("text=kode | nama").count() == 0
    rows = page.locator("[data-rows=req] [data-row]")
    count = rows.count()
    page.click("text=+ Tambah persyaratan")
    assert rows.count() == count + 1
    page.keyboard.type("Surat keterangan RT")  # the new row's name box has the focus
    rows.filter(has=page.locator("input[value='Foto tempat usaha']")).locator(
        "text=Hapus").click()
    assert rows.count() == count
    page.click("text=+ Tambah isian")
    new_field = page.locator("[data-rows=fld] [data-row]").last
    new_field.locator("input[name$='-label']").fill("Tanggal mulai usaha")
    new_field.locator("select").select_option("date")
    admin.shot("01-service-rows")
    page.locator("#service-form button.primary").click()
    page.wait_for_selector("text=Tersimpan.")
    admin.go("/admin/katalog/sku")
    names = page.eval_on_selector_all("[data-rows=req] input[name$='-name']",
                                      "els => els.map(e => e.value)")
    assert "Surat keterangan RT" in names and "Foto tempat usaha" not in names
    assert page.locator("[data-rows=fld] select").last.input_value() == "date"

    # Subsidy rules on the web, not only through the API.
    admin.go("/admin/pengantaran")
    page.click("text=+ Tambah aturan subsidi")
    rule = page.locator("[data-rows=sub] [data-row]").last
    rule.locator("input[name$='-name']").fill("Warga RW 2 gratis")
    rule.locator("input[name$='-rws']").fill("2")
    rule.locator("input[name$='-free']").check()
    admin.shot("02-subsidy")
    page.locator("#delivery-form button.primary").click()
    page.wait_for_selector("text=Tersimpan.")
    rule = page.locator("[data-rows=sub] [data-row]").last
    assert rule.locator("input[name$='-name']").input_value() == "Warga RW 2 gratis"
    assert rule.locator("input[name$='-rws']").input_value() == "002"
    assert rule.locator("input[name$='-free']").is_checked()


def test_platform_admin_creates_an_office_and_its_first_admin(signed_in, actors):
    platform = signed_in("platform", phone=False)
    page = platform.page
    platform.go("/admin/kantor")
    page.fill("#f-slug", "sukamaju")
    page.fill("#f-name", "Kelurahan Sukamaju")
    page.fill("#f-region_code", "32.76.04.1009")
    page.fill("#f-lat", "-6.40")
    page.fill("#f-lng", "106.83")
    page.fill("#f-rt_rw", "001: 001, 002")
    page.click("form[action='/admin/kantor'] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/staf\?kantor=sukamaju$"))  # was a 403
    assert page.locator("text=Kantor ini belum punya staf").is_visible()
    assert page.input_value("#f-role") == "office_admin"
    page.fill("#f-full_name", "Lurah Sukamaju")
    page.fill("#f-username", "admin.sukamaju")
    page.fill("#f-password", "sukamaju-rahasia-1")
    platform.shot("01-first-admin")
    page.locator("section form button.primary").click()
    page.wait_for_selector("text=Tersimpan.")
    assert page.locator("td", has_text="admin.sukamaju").count() == 1

    lurah = actors("lurah", phone=False)
    lurah.go("/masuk")
    lurah.page.fill("#f-username", "admin.sukamaju")
    lurah.page.fill("#f-password", "sukamaju-rahasia-1")
    lurah.page.click("form[action='/masuk/staf'] button[type=submit]")
    lurah.page.wait_for_selector("text=Selamat datang, Lurah Sukamaju.")
