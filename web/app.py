"""Mount the pages, their error handling and the static files on the application."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from core.app import include_first
from core.asgi import HttpMiddleware
from core.settings import Settings, get_settings
from web import errors, mapplot
from web.pages import ROUTERS
from web.templating import STATIC_DIR, templates
from web.views import state_badge

# Pages are ours; the browser may load only our own scripts, styles and images, plus the map
# tiles and the address search the settings name (core.settings: map_tile_url, geocoder_url).
# Courier photos come from the courier company's own servers, hence any image source.
CSP = ("default-src 'self'; img-src 'self' data: blob: https: http:{tiles}; style-src 'self'; "
       "script-src 'self'; connect-src 'self'{connect}; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'self'")
OTHER_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                 ("Cache-Control", "no-store"))


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL template; a ``{s}`` subdomain becomes ``*``."""
    parts = urlsplit(url.replace("{s}.", "sub-domain-placeholder."))
    host = (parts.netloc.rsplit("@", 1)[-1]).replace("sub-domain-placeholder.", "*.")
    return f"{parts.scheme}://{host}"


def csp_for(tile_url: str, geocoder_url: str | None) -> str:
    connect = f" {origin_of(geocoder_url)}" if geocoder_url else ""
    return CSP.format(tiles=f" {origin_of(tile_url)}", connect=connect)


def page_headers(settings: Settings) -> tuple[tuple[str, str], ...]:
    return _headers(settings.map_tile_url, settings.geocoder_url)


@functools.lru_cache(maxsize=8)
def _headers(tile_url: str, geocoder_url: str | None) -> tuple[tuple[str, str], ...]:
    return (("Content-Security-Policy", csp_for(tile_url, geocoder_url)), *OTHER_HEADERS)


class CachedStatic(StaticFiles):
    """Asset URLs carry a content hash (``static_url``), so browsers may keep them a year."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for sub in ROUTERS:
        router.include_router(sub)
    return router


class PageHeaders(HttpMiddleware):
    """Security and caching headers on every HTML response (the CSP follows the settings)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in page_headers(get_settings()):
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount(app: FastAPI) -> None:
    templates.env.globals["state_badge"] = state_badge
    templates.env.globals["map_settings"] = mapplot.map_settings
    templates.env.globals["map_points"] = mapplot.points_json
    errors.install(app)
    # Our pages go first: the styled /verify/{code} replaces core's minimal one (core keeps
    # its own so it works without this package).
    include_first(app, page_router())
    app.mount("/static", CachedStatic(directory=str(STATIC_DIR)), name="static")

    app.add_middleware(PageHeaders)
