"""Issue 15 in a real browser, on a phone: the digital copy a resident can take away (item 1),
the courier's photo and position while tracking (item 6), and the street map with its grid
fallback and a pin set by a tap (item 7)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.browser

SITI = "+6281234560001"

# A finished "Surat Keterangan Domisili" for Siti (a service with a digital copy and home
# delivery), written the way the demo data writes its own.
NEW_FINISHED_REQUEST = """
from core.accounts.repository import UserRepository
from core.db import unit_of_work
from core.requests import cover_letters, processing, service
from core.requests.demo import DEMO_PDF, demo_png, incoming_from_bytes
from core.requests.schemas import RequestCreate
from core.settings import get_settings
from core.storage import storage_from_settings

with unit_of_work() as session:
    users = UserRepository(session)
    siti = users.by_phone("+6281234560001")
    rw_admin = users.by_username("rw05.mekarjaya")
    operator = users.by_username("operator.mekarjaya")
    storage = storage_from_settings(get_settings())
    request = service.create(session, siti, RequestCreate(
        service="domisili", fields={"keperluan": "Uji peta dan salinan digital"}))
    for code in ("ktp", "kk"):
        service.add_upload(session, storage, siti, request.id, code,
                           incoming_from_bytes(storage, code + ".png", demo_png(code)))
    service.submit(session, siti, request.id)
    cover_letters.approve(session, rw_admin, request.id, number="009/RW05/UJI",
                          issued_on=None)
    processing.assign_to_self(session, operator, request.id)
    processing.start_processing(session, operator, request.id)
    processing.finish(session, storage, operator, request.id,
                      incoming_from_bytes(storage, "domisili-ttd.pdf", DEMO_PDF))
    print(request.id)
"""


def _finished_request(live_server) -> str:
    done = subprocess.run([sys.executable, "-c", NEW_FINISHED_REQUEST], env=live_server.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_digital_copy_gives_the_signed_pdf_its_code_and_qr(signed_in, live_server, tmp_path):
    """Item 1: 'Salinan digital saja' ends the request with something to take away."""
    rid = _finished_request(live_server)
    siti = signed_in(SITI)
    page = siti.page
    siti.go(f"/permohonan/{rid}")
    page.click("text=Salinan digital saja")
    page.wait_for_selector("text=Tuntas")
    code = page.inner_text("#verify-code").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert page.locator("#verify-qr svg").is_visible()
    qr_box = page.locator("#verify-qr svg").bounding_box()
    assert qr_box and qr_box["width"] >= 120  # big enough to scan from the phone's screen
    siti.shot("01-digital-copy")

    with page.expect_download() as download:
        page.click("#digital-download")
    saved = tmp_path / "copy.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    # The message names the download link and the code (the console channel prints it).
    link = f"{live_server.url}/permohonan/{rid}/dokumen"
    page.wait_for_timeout(200)
    deadline_text = ""
    for _ in range(100):
        deadline_text = live_server.log_text()
        if link in deadline_text:
            break
        page.wait_for_timeout(200)
    message = next(line for line in deadline_text.splitlines() if link in line)
    assert code in message and "diserahkan" not in message

    # The QR and the link open the public check, which says the document is genuine.
    page.click("#verify-link")
    page.wait_for_selector(f"text={code}")
    assert "sah" in page.inner_text("main")
    siti.shot("02-verified")


def test_drop_off_pin_by_a_tap_on_the_map_and_the_sandbox_courier(signed_in, live_server):
    """Items 7 and 6: Leaflet asks the configured tile server; without internet the grid
    stays, a tap sets the pin in hidden fields; then the sandbox courier's photo loads and
    the courier shows on the tracking map."""
    rid = _finished_request(live_server)
    siti = signed_in(SITI)
    page = siti.page
    tile_requests: list[str] = []
    page.on("request", lambda r: tile_requests.append(r.url) if "/tiles/" in r.url else None)
    siti.go(f"/permohonan/{rid}/antar")
    assert page.evaluate("typeof L") == "object", "Leaflet is loaded"
    figure = page.locator("figure[data-pick='where-form']")
    # The tiles fail (no internet): the grid fallback shows, the Leaflet box does not.
    page.wait_for_selector("figure[data-pick='where-form'][data-map-state='grid'] svg.map")
    assert tile_requests, "the map asked the configured tile server"
    assert not figure.locator(".map-live").is_visible()

    # No coordinates in front of the resident: no visible lat/lng field or text.
    assert page.locator("input[name=lat]").get_attribute("type") == "hidden"
    assert page.locator("input[name=lng]").get_attribute("type") == "hidden"
    assert page.locator("input[name=lat]:visible, input[name=lng]:visible").count() == 0
    before = page.input_value("#f-lat")
    page.locator("svg.map").scroll_into_view_if_needed()
    box = page.locator("svg.map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    lat, lng = page.input_value("#f-lat"), page.input_value("#f-lng")
    assert lat and lng and lat != before
    text = page.inner_text("main")
    assert lat not in text and lng not in text and "Lintang" not in text
    siti.shot("01-pin-on-grid")

    page.fill("#f-address", "Jl. Kenanga No. 5, RT 003/RW 005")
    page.click("text=Lihat ongkos kirim")
    page.wait_for_selector("label.quote", timeout=20_000)
    page.locator("label.quote", has_text="Sandbox").locator("input").check()
    page.click("text=Pesan kurir ini")
    page.wait_for_url(re.compile(r"/lacak$"))

    # The sandbox courier: a photo that really loads, a plate with its space intact.
    page.wait_for_selector("#courier-name", timeout=30_000)
    photo = page.locator("img.courier-photo")
    photo.wait_for()
    src = photo.get_attribute("src") or ""
    assert " " not in src
    page.wait_for_function(
        "() => { const i = document.querySelector('img.courier-photo');"
        " return i && i.complete && i.naturalWidth > 0; }")
    assert " " in page.inner_text("#courier-plate")
    page.wait_for_selector("svg.map circle.pin-courier", timeout=30_000)
    assert lat not in page.inner_text("main")
    siti.shot("02-sandbox-courier")


def test_street_map_when_tiles_load_and_a_tap_sets_the_pin(signed_in, live_server):
    """Item 7 with a reachable tile server (served by the test): Leaflet shows the street
    map instead of the grid, with the tile credit, and a tap moves the pin."""
    from core.requests.demo import demo_png

    rid = _finished_request(live_server)
    siti = signed_in(SITI)
    page = siti.page
    tile = demo_png("tile")
    page.route("**/tiles/**", lambda route: route.fulfill(
        status=200, body=tile, content_type="image/png"))
    siti.go(f"/permohonan/{rid}/antar")
    page.wait_for_selector("figure[data-pick='where-form'][data-map-state='tiles']")
    live = page.locator("figure[data-pick='where-form'] .map-live")
    assert live.is_visible() and not page.locator("svg.map").is_visible()
    assert "OpenStreetMap" in page.inner_text(".leaflet-control-attribution")
    before = page.input_value("#f-lat"), page.input_value("#f-lng")
    live.scroll_into_view_if_needed()
    box = live.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    after = page.input_value("#f-lat"), page.input_value("#f-lng")
    assert all(after) and after != before
    assert after[0] not in page.inner_text("main")
    siti.shot("01-street-map")

    # The address search (a Nominatim-compatible answer) moves the pin too.
    page.route("**/geocoder/search?**", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body='[{"lat": "-6.3990", "lon": "106.8520", "display_name": "Jalan Kenanga, Depok"}]'))
    page.fill("#map-search-q", "Jalan Kenanga")
    page.click("[data-map-search]")
    page.wait_for_selector("text=Titik dipindahkan ke: Jalan Kenanga, Depok")
    assert (page.input_value("#f-lat"), page.input_value("#f-lng")) == ("-6.399000",
                                                                          "106.852000")
    siti.shot("02-address-search")
