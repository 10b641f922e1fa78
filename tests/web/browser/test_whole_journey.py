"""The whole journey in one story, in a real browser: a new resident signs up and applies, the
RW head and the operator do their parts, the office's own courier delivers with the PIN, and
anyone can check the document is genuine."""

from __future__ import annotations

import re

import pytest

from tests.web.browser.conftest import wait_for_pin

pytestmark = pytest.mark.browser

RINA = {"name": "Rina Wulandari", "nik": "3276016107950009", "phone": "081234560077",
        "address": "Jl. Dahlia No. 9", "rt": "004", "rw": "005"}  # RW 005 has a head
RINA_PHONE = "+6281234560077"


def test_new_resident_to_delivered_and_verified(actors, signed_in, scans, live_server):
    # A new resident signs up on her phone; the code form follows at once.
    rina = actors("rina")
    page = rina.page
    rina.go("/daftar")
    page.select_option("#f-office", "mekarjaya")
    page.fill("#f-full_name", RINA["name"])
    page.fill("#f-nik", RINA["nik"])
    page.fill("#f-phone", RINA["phone"])
    page.fill("#f-address", RINA["address"])
    page.fill("#f-rt", RINA["rt"])
    page.fill("#f-rw", RINA["rw"])
    rina.shot("01-sign-up")
    page.click("text=Daftar dan kirim kode")
    page.wait_for_selector("text=Pendaftaran berhasil.")
    page.fill("#f-code", live_server.read_otp(RINA_PHONE))
    page.click("form[action='/masuk/verifikasi'] button[type=submit]")
    page.wait_for_selector(f"text=Selamat datang, {RINA['name']}.")

    # She applies for a domicile letter (it needs the RW's cover letter) with her scans.
    rina.go("/layanan/mekarjaya/domisili/ajukan")
    page.fill("[name='fields.keperluan']", "Persyaratan melamar kerja")
    page.click("text=Lanjut ke unggah persyaratan")
    page.wait_for_url(re.compile(r"/permohonan/[0-9a-f-]{36}$"))
    request_path = page.url.removeprefix(live_server.url)
    for code in ("ktp", "kk"):
        page.set_input_files(f"#file-{code}", str(scans[code]))
        page.click(f"#req-{code} button[type=submit]")
        page.wait_for_selector(f"#req-{code} .badge.ok")
    page.click("text=Kirim permohonan")
    page.wait_for_selector("text=Menunggu surat pengantar RW")
    rina.shot("02-submitted")

    # The RW head approves the cover letter on a desktop.
    rw = signed_in("rw05.mekarjaya", phone=False)
    rw.go("/rw")
    card = rw.page.locator(".cover-letter", has_text=RINA["name"]).first
    card.locator("input[name=number]").fill("021/RW05/XII/2026")
    card.locator("text=Setujui dan terbitkan").click()
    rw.page.wait_for_selector("text=Surat pengantar diterbitkan.")
    rw.shot("01-approved")

    # The operator verifies, processes and finishes with the signed PDF.
    op = signed_in("operator.mekarjaya", phone=False)
    op.go("/operator/permohonan" + request_path.removeprefix("/permohonan"))
    op.page.wait_for_selector("img.scan")
    op.page.click("text=Tangani permohonan ini")
    op.page.click("text=Berkas lengkap — proses")
    op.page.set_input_files("#f-file", str(scans["pdf"]))
    op.page.click("text=Tandai selesai")
    op.page.wait_for_selector("text=Selesai — pilih ambil atau antar")
    op.shot("01-finished")

    # The courier is on duty with a phone that shares its position.
    kurir = signed_in("kurir.mekarjaya")
    kurir.context.grant_permissions(["geolocation"], origin=live_server.url)
    kurir.context.set_geolocation({"latitude": -6.3938, "longitude": 106.8441})
    kurir.go("/kurir")
    if kurir.page.inner_text("#duty-state") != "Sedang bertugas":
        kurir.page.click("text=Mulai bertugas")
        kurir.page.wait_for_selector("text=Anda sedang bertugas.")

    # The resident sees her document finished, notes its verification code and chooses
    # home delivery by the office's own courier.
    rina.go(request_path)
    page.wait_for_selector("text=Dokumen Anda sudah selesai")
    verify_code = page.locator("#serah-terima a[href^='/verify/']").inner_text().strip()
    assert verify_code
    rina.shot("03-finished")
    page.click("a:has-text('Antar ke rumah')")
    page.wait_for_selector("svg.map")
    box = page.locator("svg.map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.35)
    assert page.input_value("#f-lat") != ""
    page.click("text=Lihat ongkos kirim")
    page.wait_for_selector("label.quote", timeout=20_000)
    page.locator("label.quote", has_text="Kurir Kantor").locator("input").check()
    rina.shot("04-quotes")
    page.click("text=Pesan kurir ini")
    page.wait_for_url(re.compile(r"/lacak$"))

    # The courier gets the offer on his phone and accepts it; the resident gets her PIN.
    kurir.page.wait_for_selector(".offer", timeout=20_000)
    kurir.page.click(".offer >> text=Terima")
    kurir.page.wait_for_selector("#nav-link")
    job_url = kurir.page.url
    kurir.shot("01-job")
    page.wait_for_selector("#courier-name", timeout=20_000)
    pin = wait_for_pin(live_server, RINA_PHONE, 1)
    rina.shot("05-tracking")

    # The operator prints the envelope; the courier scans its QR and takes it.
    op.go("/operator/pengantaran")
    op.page.locator("tr", has_text=RINA["name"]).first.locator("a").click()
    op.page.click("text=Cetak ulang QR amplop")
    envelope_url = op.page.inner_text("#envelope-url").strip()
    kurir.page.goto(envelope_url)
    kurir.page.fill("#f-courier_name", "Budi Kurir")
    kurir.page.click("text=Konfirmasi ambil")
    kurir.page.wait_for_selector("text=Amplop sudah diambil kurir.")
    kurir.page.goto(job_url)
    kurir.page.wait_for_selector("#job-status:has-text('Amplop dibawa')")
    kurir.page.click("text=Berangkat ke pemohon")
    kurir.page.click("text=Saya di lokasi pemohon")
    kurir.page.wait_for_selector("#job-status:has-text('Di lokasi pemohon')")

    # At the door: the resident's PIN, then the originals go back to the office.
    kurir.page.goto(envelope_url)
    kurir.page.fill("#f-pin", pin)
    kurir.page.click("text=Periksa PIN")
    kurir.page.wait_for_selector("#pin-ok")
    for original in kurir.page.locator("input[name=checked]").all():
        original.check()
    kurir.page.click("text=Dokumen asli sudah saya terima")
    kurir.page.wait_for_selector("#originals-state:has-text('sudah diterima kurir')")
    kurir.shot("02-handed-over")
    rina.go(request_path + "/lacak")
    page.wait_for_selector("#delivery-state:has-text('Dokumen asli dibawa kembali')")

    # The office receives the originals: the delivery and the request are done.
    op.go("/operator/pengantaran")
    op.page.locator("tr", has_text=RINA["name"]).first.locator("a").click()
    for original in op.page.locator("input[name=originals_checked]").all():
        original.check()
    op.page.click("text=Dokumen asli sudah diterima")
    op.page.wait_for_selector("#delivery-state:has-text('Selesai')")
    op.shot("02-completed")
    rina.go(request_path)
    page.wait_for_selector(".badge:has-text('Tuntas')")
    rina.shot("06-completed")
    kurir.go("/kurir")
    kurir.page.wait_for_selector("text=Tidak ada tugas aktif.")

    # Anyone holding the paper checks its code on the public verify page.
    visitor = actors("visitor")
    visitor.go("/verify")
    visitor.page.fill("#code", verify_code)
    visitor.page.click("form[action='/verify'] button[type=submit]")
    status = visitor.page.locator("#status")
    status.wait_for()
    assert status.inner_text().startswith("SAH")
    details = visitor.page.locator("main dl").inner_text()
    assert "Kelurahan Mekarjaya" in details
    assert "Surat Keterangan Domisili" in details
    visitor.shot("01-genuine")
