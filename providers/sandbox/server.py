"""The sandbox provider's HTTP API (a standalone FastAPI app), and a runner for tests.

``build_app(config)`` wires a :class:`Simulator` into the routes documented in
:mod:`providers.sandbox`; the simulator's ticker and webhook threads start and stop with the
app's lifespan. ``SandboxServer`` runs it with uvicorn in a background thread on a free port,
so tests and benchmarks talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import socket
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.simulator import COURIERS, SandboxError, Simulator
from providers.types import Coordinates


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def build_app(config: SandboxServerConfig, simulator: Simulator | None = None) -> FastAPI:
    sim = simulator or Simulator(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        sim.start()
        try:
            yield
        finally:
            sim.stop()

    app = FastAPI(title="SIP OKE Sandbox Courier", lifespan=lifespan, docs_url="/docs")
    app.state.simulator = sim

    @app.exception_handler(SandboxError)
    def _sandbox_error(_: Request, exc: SandboxError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    def authenticated(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = f"Bearer {config.api_key}".encode()
        if not authorization or not hmac.compare_digest(authorization.encode(), expected):
            raise SandboxError(401, "UNAUTHORIZED", "missing or wrong API key")

    def chaos() -> None:
        """Latency, 503s and 429s from the switches, before the real work."""
        switches = sim.switches
        delay_ms = switches.latency_ms + sim.jitter(switches.latency_jitter_ms)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if sim.roll(switches.rate_limit_rate):
            raise _RateLimited(switches.retry_after_s)
        if sim.roll(switches.error_rate):
            raise SandboxError(503, "UNAVAILABLE", "simulated outage")

    @app.exception_handler(_RateLimited)
    def _rate_limited(_: Request, exc: _RateLimited) -> JSONResponse:
        return _error(429, "RATE_LIMITED", "too many requests",
                      {"Retry-After": str(exc.retry_after)})

    api = APIRouter(prefix="/v1", dependencies=[Depends(authenticated), Depends(chaos)])

    @api.post("/quotes", status_code=201)
    def create_quote(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            pickup = Coordinates(lat=body["pickup"]["lat"], lng=body["pickup"]["lng"])
            dropoff = Coordinates(lat=body["dropoff"]["lat"], lng=body["dropoff"]["lng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SandboxError(422, "VALIDATION", f"pickup/dropoff lat,lng: {exc}") from None
        return sim.create_quote(pickup, dropoff, str(body.get("vehicle", "motorcycle")))

    @api.post("/orders")
    def create_order(body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        order, created = sim.create_order(body)
        if created and sim.roll(sim.switches.hang_after_accept_rate):
            # The order exists, but the caller times out before hearing about it.
            time.sleep(sim.switches.hang_seconds)
        return JSONResponse(order, status_code=201 if created else 200)

    @api.get("/orders")
    def find_orders(client_reference: Annotated[str, Query()]) -> dict[str, Any]:
        return {"orders": sim.find(client_reference)}

    @api.get("/orders/{order_id}")
    def get_order(order_id: str) -> dict[str, Any]:
        return sim.get(order_id)

    @api.post("/orders/{order_id}/cancel")
    def cancel_order(order_id: str) -> dict[str, Any]:
        return sim.cancel(order_id)

    admin = APIRouter(prefix="/v1/admin", dependencies=[Depends(authenticated)])

    @admin.get("/switches")
    def get_switches() -> dict[str, Any]:
        return sim.switches.model_dump()

    @admin.patch("/switches")
    def set_switches(changes: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        try:
            return JSONResponse(sim.update_switches(changes).model_dump())
        except ValueError as exc:
            return _error(422, "VALIDATION", str(exc).splitlines()[0])

    @admin.get("/orders")
    def order_log() -> dict[str, Any]:
        """Every order ever created, by its client reference: what was really booked."""
        return {"orders": sim.order_log()}

    @admin.get("/webhooks")
    def webhook_log() -> dict[str, Any]:
        return {"url": config.webhook_url, "deliveries": sim.webhooks.snapshot()}

    app.include_router(api)
    app.include_router(admin)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/track/{order_id}", response_class=HTMLResponse)
    def track(order_id: str) -> HTMLResponse:
        """The public tracking page a real provider shares with the recipient."""
        order = sim.get(order_id)
        pos = order["position"] or {}
        return HTMLResponse(f"<!doctype html><title>Lacak {order_id}</title>"
                            f"<p>Status: {order['status']}</p>"
                            f"<p>Posisi: {pos.get('lat', '-')}, {pos.get('lng', '-')}</p>")

    @app.get("/couriers/{plate}/photo.svg")
    def courier_photo(plate: str) -> Response:
        """A generated avatar for a simulated courier (the plate arrives URL-encoded)."""
        return Response(content=courier_avatar(plate), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/proof/{order_id}/{name}")
    def proof(order_id: str, name: str) -> Response:
        sim.get(order_id)
        return Response(content=_PIXEL, media_type="image/gif")

    return app


def courier_avatar(plate: str) -> bytes:
    """A round avatar with the simulated courier's initials (by plate), as SVG."""
    name = next((n for n, p in COURIERS if p == plate), "")
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    hue = sum(plate.encode()) % 360
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" '
            f'viewBox="0 0 96 96"><circle cx="48" cy="48" r="48" fill="hsl({hue},45%,42%)"/>'
            f'<text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" '
            f'text-anchor="middle">{html.escape(initials)}</text></svg>').encode()


class _RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


_PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c000000000100"
                       "01000002024401003b")


class SandboxServer:
    """The sandbox app served by uvicorn in a daemon thread, on a free port by default."""

    def __init__(self, config: SandboxServerConfig, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it a client in the same process waits
        # out the 40 ms delayed-ACK on every request (measured: 44 ms -> 2 ms per call).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        if config.public_url == SandboxServerConfig().public_url:
            config = config.model_copy(update={"public_url": self.url})
        self.app = build_app(config)
        self.simulator: Simulator = self.app.state.simulator
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="on", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self._serve, name="sandbox-server", daemon=True)

    def _serve(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 10.0) -> SandboxServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[SandboxServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
