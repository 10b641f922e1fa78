"""Browser tests: Debian's chromium (never a downloaded browser) driven by Playwright against
a live server on the embedded defaults: SQLite, the SQLite Celery broker, a real worker, the
sandbox courier company. Screenshots go to ``test-artifacts/browser/``; any console error in
the browser fails the test.

Without chromium (or the playwright package) the tests skip with the reason, unless
``SIPOKE_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("SIPOKE_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("SIPOKE_REQUIRE_SERVICES") == "1"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
OTP_RE = re.compile(r"notification to (\+\d+): Kode masuk SIP OKE Antar: (\d{6})")
PIN_RE = re.compile(r"notification to (\+\d+): Kurir .*? PIN serah terima: (\d{6})")
PHONE = {"width": 390, "height": 844}
# Statuses our pages answer on purpose: refused forms, expired sessions, locked PINs.
EXPECTED_PAGE_STATUSES = frozenset({401, 409, 422, 423})
DESKTOP = {"width": 1280, "height": 900}


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"browser tests cannot run: {reason} (SIPOKE_REQUIRE_SERVICES=1)",
                    pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    var_dir: Path
    logs: list[Path]
    processes: list[subprocess.Popen] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the server's settings, for helpers

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def read_otp(self, phone: str, *, after: int = 0, timeout: float = 20) -> str:
        """The newest code the console notification channel printed for ``phone``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = [m.group(2) for m in OTP_RE.finditer(self.log_text())
                     if m.group(1) == phone]
            if len(codes) > after:
                return codes[-1]
            time.sleep(0.2)
        raise AssertionError(f"no sign-in code for {phone} in the server logs")

    def otp_count(self, phone: str) -> int:
        return sum(1 for m in OTP_RE.finditer(self.log_text()) if m.group(1) == phone)


def wait_for_pin(server: LiveServer, phone: str, count: int, timeout: float = 20) -> str:
    """The newest delivery PIN the console notification channel printed for ``phone``, once
    it printed ``count`` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pins = [m.group(2) for m in PIN_RE.finditer(server.log_text()) if m.group(1) == phone]
        if len(pins) >= count:
            return pins[-1]
        time.sleep(0.25)
    raise AssertionError(f"no delivery PIN #{count} for {phone} in the logs")


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    root = tmp_path_factory.mktemp("live")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's screenshots and logs
    port, sandbox_port, tile_port = _free_port(), _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({
        "SIPOKE_ENV": "development",
        "SIPOKE_VAR_DIR": str(root / "var"),
        "SIPOKE_PORT": str(port),
        "SIPOKE_BASE_URL": base,
        "SIPOKE_LOG_JSON": "false",
        "SIPOKE_LOG_LEVEL": "INFO",
        "SIPOKE_OUTBOX_RELAY_INTERVAL": "0.5",
        "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": f"http://127.0.0.1:{sandbox_port}",
        "SIPOKE_PROVIDERS__SANDBOX__PUBLIC_URL": f"http://127.0.0.1:{sandbox_port}",
        "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_URL": f"{base}/webhooks/sandbox",
        "SIPOKE_PROVIDERS__SANDBOX__SEARCH_S": "2",
        "SIPOKE_PROVIDERS__SANDBOX__HANDOVER_S": "2",
        "SIPOKE_PROVIDERS__SANDBOX__SPEED_MPS": "400",
        "SIPOKE_PROVIDERS__SANDBOX__LOCATION_PING_S": "5",
        "SIPOKE_PROVIDERS__SANDBOX__TIME_SCALE": "20",
        # The journeys sign the same demo residents in many times from one address; the
        # sign-in code limits have tests of their own (tests/core).
        "SIPOKE_OTP_PER_PHONE_PER_WINDOW": "50",
        "SIPOKE_OTP_PER_CLIENT_PER_WINDOW": "200",
        # No internet here: a tile server nobody listens on, so tiles fail at once and the
        # maps show their grid fallback (what a phone without data sees).
        "SIPOKE_MAP_TILE_URL": f"http://127.0.0.1:{tile_port}/tiles/{{z}}/{{x}}/{{y}}.png",
        # The address search's geocoder likewise (a test answers it with page.route).
        "SIPOKE_GEOCODER_URL": f"http://127.0.0.1:{tile_port}/geocoder",
    })
    exe = [sys.executable, "-m", "sipoke.cli"]
    for step in (["migrate"], ["seed-demo"]):
        subprocess.run([*exe, *step], env=env, check=True, capture_output=True, timeout=120)
    server = LiveServer(url=base, var_dir=root / "var", logs=[], env=env)
    specs = [("api", [*exe, "api"], f"{base}/healthz"),
             ("worker", [*exe, "worker", "--beat"], None)]
    if "sandbox-provider" in subprocess.run([*exe, "--help"], env=env, capture_output=True,
                                            text=True).stdout:
        specs.append(("sandbox", [*exe, "sandbox-provider", "--port", str(sandbox_port)],
                      f"http://127.0.0.1:{sandbox_port}/healthz"))
    try:
        for name, argv, ready in specs:
            log = root / f"{name}.log"
            handle = log.open("wb")
            proc = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            server.processes.append(proc)
            server.logs.append(log)
            if ready:
                _wait_ready(ready, proc, log)
        yield server
    finally:
        for proc in server.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in server.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in server.logs:
            if log.exists():
                shutil.copy(log, ARTIFACTS / log.name)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Scans to upload (KTP, KK) and the signed PDF the operator attaches."""
    from core.requests.demo import DEMO_PDF, demo_png

    root = tmp_path_factory.mktemp("scans")
    files = {"ktp": root / "ktp.png", "kk": root / "kk.png", "pdf": root / "surat-ttd.pdf"}
    files["ktp"].write_bytes(demo_png("KTP Siti"))
    files["kk"].write_bytes(demo_png("KK Siti"))
    files["pdf"].write_bytes(DEMO_PDF)
    return files


@pytest.fixture(scope="session")
def browser(live_server: LiveServer):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


class ConsoleErrors(list):
    def check(self) -> None:
        assert not self, f"browser console errors: {list(self)}"


@dataclass
class Actor:
    """One person's browser (own cookies), with screenshots and console-error capture."""

    name: str
    page: object
    context: object
    errors: ConsoleErrors
    server: LiveServer

    def go(self, path: str) -> None:
        self.page.goto(self.server.url + path)  # type: ignore[attr-defined]

    def shot(self, label: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def actors(browser, live_server: LiveServer, request: pytest.FixtureRequest):
    """Factory: ``actors("resident", phone=True)`` opens a fresh browser context."""
    opened: list[Actor] = []

    def open_actor(name: str, *, phone: bool = True) -> Actor:
        context = browser.new_context(viewport=PHONE if phone else DESKTOP,
                                      locale="id-ID", timezone_id="Asia/Jakarta")
        context.set_default_timeout(15_000)  # generous for a loaded CI machine
        page = context.new_page()
        errors = ConsoleErrors()
        # A page that refuses a form answers 4xx on purpose (422 with the errors next to the
        # fields); Chromium logs that document load as a console error. Only those are
        # excused: a failing script, style, image or htmx call still fails the test.
        refused_documents: set[str] = set()

        def on_response(response) -> None:
            if response.request.resource_type == "document" and \
                    response.status in EXPECTED_PAGE_STATUSES:
                refused_documents.add(response.url)

        def on_console(message) -> None:
            if message.type != "error":
                return
            if message.text.startswith("Failed to load resource") and \
                    message.location.get("url") in refused_documents:
                return
            # Map tiles cannot load without internet; the map falls back to its grid.
            if message.text.startswith("Failed to load resource") and \
                    "/tiles/" in (message.location.get("url") or ""):
                return
            errors.append(f"{message.text} ({message.location.get('url')})")

        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda e: errors.append(str(e)))
        journey = "-".join(request.node.name.removeprefix("test_").split("_")[:2])
        actor = Actor(name=f"{journey}-{name}", page=page, context=context,
                      errors=errors, server=live_server)
        opened.append(actor)
        return actor

    yield open_actor
    try:
        for actor in opened:
            actor.errors.check()
    finally:
        for actor in opened:
            actor.context.close()


@pytest.fixture
def signed_in(actors, live_server: LiveServer):
    """Open a browser already signed in: staff by password, residents by the logged code."""
    from tests.web.helpers import DEMO_PASSWORDS

    def sign_in(who: str, *, phone: bool = True) -> Actor:
        actor = actors(who.lstrip("+"), phone=phone)
        page = actor.page
        actor.go("/masuk")
        if who.startswith("+"):
            before = live_server.otp_count(who)
            page.fill("#f-phone", who)
            page.click("text=Kirim kode")
            page.fill("#f-code", live_server.read_otp(who, after=before))
            page.click("form[action='/masuk/verifikasi'] button[type=submit]")
        else:
            page.fill("#f-username", who)
            page.fill("#f-password", DEMO_PASSWORDS[who])
            page.click("form[action='/masuk/staf'] button[type=submit]")
        page.wait_for_selector(".flash-success")
        return actor

    return sign_in
