"""Issue 15, item 5, in a real browser: a provider's courier reports 'delivered' without the
PIN and leaves with the originals still at the resident's. On the delivery's page (a laptop)
the operator closes it with a recorded decision and sends a courier for the originals; both
reasons are on the delivery's history."""

from __future__ import annotations

import re
import time

import pytest

from tests.web.browser.test_maps_and_copies import SITI, _finished_request

pytestmark = pytest.mark.browser

CLOSE_REASON = "Warga konfirmasi lewat telepon, kurir tidak minta PIN"
SEND_REASON = "Dokumen asli masih di rumah warga"


def _wait_for_alert(op, text: str, timeout: float = 90) -> None:
    """The delivery page does not poll: reload until the provider's report has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alert = op.page.locator("#delivery-alert")
        if alert.count() and text in alert.inner_text():
            return
        time.sleep(1)
        op.page.reload()
    raise AssertionError(f"no {text!r} alert on the delivery page")


def test_operator_closes_a_delivery_without_pin_and_sends_for_the_originals(
        signed_in, live_server):
    rid = _finished_request(live_server)

    # Siti has it delivered by a provider (the sandbox, which reports 'delivered' on its own).
    siti = signed_in(SITI)
    page = siti.page
    siti.go(f"/permohonan/{rid}")
    page.click("a:has-text('Antar ke rumah')")
    page.wait_for_selector("svg.map")
    box = page.locator("svg.map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    page.click("text=Lihat ongkos kirim")
    page.wait_for_selector("label.quote", timeout=20_000)
    page.locator("label.quote", has_text="Sandbox").locator("input").check()
    page.click("text=Pesan kurir ini")
    page.wait_for_url(re.compile(r"/lacak$"))

    op = signed_in("operator.mekarjaya", phone=False)
    op.go(f"/operator/permohonan/{rid}")
    op.page.click("a.button:has-text('Pengantaran')")
    op.page.wait_for_selector("#delivery-state")
    _wait_for_alert(op, "Diantar tanpa PIN")
    assert "Diterima" in op.page.inner_text("#delivery-state")
    # Nothing to send for before the handover is decided.
    assert op.page.locator("#send-for-originals").count() == 0
    op.shot("01-delivered-without-pin")

    # The decision, with its reason: the alert is resolved, the originals are still out.
    op.page.click("#close-without-pin summary")
    op.page.fill("#close-without-pin [name=reason]", CLOSE_REASON)
    op.page.click("#close-without-pin button[type=submit]")
    op.page.wait_for_selector("text=Tersimpan.")
    assert op.page.locator("#delivery-alert").count() == 0
    assert "Diterima" in op.page.inner_text("#delivery-state")

    # Send a courier for the originals, with its reason: the originals leg starts.
    op.page.fill("#send-for-originals [name=reason]", SEND_REASON)
    op.page.click("#send-for-originals button[type=submit]")
    op.page.wait_for_selector("text=Tersimpan.")
    op.page.wait_for_selector("#delivery-state:has-text('Dokumen asli dibawa kembali')")
    history = op.page.inner_text("#delivery-timeline")
    assert "Diserahkan tanpa PIN (keputusan petugas)" in history and CLOSE_REASON in history
    assert "Kurir dikirim mengambil dokumen asli" in history and SEND_REASON in history
    op.shot("02-sent-for-originals")

    # The originals come back; the office checks them and the delivery is finished.
    for box_ in op.page.locator("input[name=originals_checked]").all():
        box_.check()
    op.page.click("text=Dokumen asli sudah diterima")
    op.page.wait_for_selector("#delivery-state:has-text('Selesai')")
    op.shot("03-completed")
    siti.go(f"/permohonan/{rid}")
    page.wait_for_selector("text=Tuntas")
