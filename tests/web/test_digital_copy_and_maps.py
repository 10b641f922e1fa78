"""Issue 15: the digital copy a resident can really take (item 1), and the delivery map with
street tiles, an optional address search and no coordinates for a resident to read (item 7)."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import unit_of_work
from core.models import Notification
from core.settings import reset_settings_cache
from tests.core.request_helpers import DOMICILE, SITI, api, finished_request, ok
from tests.fixtures import RESIDENT_B
from tests.web.helpers import csrf_of, resident_sign_in, sign_in_as


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_digital_copy_gives_the_signed_pdf_code_qr_and_a_link(client, demo, read_otp):
    rid = finished_request(client, demo, SITI, service=DOMICILE)["id"]
    code = ok(client.get(api(f"/requests/{rid}"), headers=demo.headers(SITI)))[
        "verification_code"]
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{rid}")
    chosen = client.post(f"/permohonan/{rid}/digital",
                         data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert chosen.status_code == 303, chosen.text

    done = client.get(f"/permohonan/{rid}")
    assert done.status_code == 200 and "Tuntas" in done.text
    formatted = "-".join(code[i:i + 4] for i in range(0, len(code), 4))
    assert f'id="verify-code">{formatted}<' in done.text
    assert f'href="/permohonan/{rid}/dokumen"' in done.text
    assert re.search(r'id="verify-qr"><svg[^>]*class="qr"', done.text)
    assert f"/verify/{formatted}" in done.text

    pdf = client.get(f"/permohonan/{rid}/dokumen")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "private, no-store"

    with unit_of_work() as s:
        texts = list(s.scalars(select(Notification.text).where(
            Notification.recipient == SITI, Notification.kind == "request_digital_copy")))
    assert len(texts) == 1
    assert f"/permohonan/{rid}/dokumen" in texts[0] and formatted in texts[0]
    assert "diserahkan" not in texts[0]


def test_the_signed_pdf_is_only_for_its_resident_and_the_office(client, demo, read_otp):
    rid = finished_request(client, demo, SITI, service=DOMICILE)["id"]
    resident_sign_in(client, RESIDENT_B, read_otp)
    assert client.get(f"/permohonan/{rid}/dokumen").status_code == 404
    client.cookies.clear()
    signed_out = client.get(f"/permohonan/{rid}/dokumen", follow_redirects=False)
    assert signed_out.status_code in (303, 401)
    sign_in_as(client, "operator.mekarjaya")
    staff = client.get(f"/permohonan/{rid}/dokumen")
    assert staff.status_code == 200 and staff.content.startswith(b"%PDF")


def test_a_service_without_digital_copy_shows_no_download(client, demo, read_otp):
    rid = finished_request(client, demo, SITI)["id"]  # the birth letter: no digital copy
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{rid}")
    assert 'id="digital-download"' not in page.text
    assert client.get(f"/permohonan/{rid}/dokumen").status_code == 404


def test_delivery_map_uses_tiles_from_settings_and_hides_coordinates(
        client, demo, read_otp, monkeypatch):
    monkeypatch.setenv("SIPOKE_MAP_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    monkeypatch.setenv("SIPOKE_GEOCODER_URL", "https://geo.example.org/nominatim/")
    reset_settings_cache()
    try:
        rid = finished_request(client, demo, SITI)["id"]
        resident_sign_in(client, SITI, read_otp)
        page = client.get(f"/permohonan/{rid}/antar")
        assert page.status_code == 200
        html = page.text
        assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in html
        assert "© OpenStreetMap contributors" in html
        assert "vendor/leaflet/leaflet.js" in html and "vendor/leaflet/leaflet.css" in html
        assert 'data-geocoder="https://geo.example.org/nominatim"' in html
        # The grid stays in the page for when tiles cannot load.
        assert 'data-pick="where-form"' in html and 'class="grid"' in html
        # The pin travels in hidden fields; no coordinate field or label for a resident.
        for name in ("lat", "lng"):
            [field] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
            assert 'type="hidden"' in field
        text = _visible_text(html)
        assert "Lintang" not in text and "Bujur" not in text and "koordinat" not in text
        csp = page.headers["content-security-policy"]
        assert "https://tiles.example.org" in csp.split("img-src", 1)[1].split(";")[0]
        assert "https://geo.example.org" in csp.split("connect-src", 1)[1].split(";")[0]
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_a_refused_pin_is_told_next_to_the_address(client, demo, read_otp):
    rid = finished_request(client, demo, SITI)["id"]
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{rid}/antar")
    r = client.post(f"/permohonan/{rid}/antar", data={
        "address": "Jl. Melati 9", "lat": "", "lng": "", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert "Jl. Melati 9" in r.text and "Tentukan titik lokasi di peta." in r.text
