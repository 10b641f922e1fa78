"""Maps: office, courier and destination, on street tiles (Leaflet in static/js/app.js, the
tile server from the settings) or, when tiles cannot load, on an SVG grid drawn here.

The SVG needs no external service: it works on a slow phone connection and when the map
provider is down, and shows the route and the courier's position relative to the two ends.
At kelurahan scale (a few km) a plain equirectangular projection is accurate enough.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from core.settings import get_settings

WIDTH, HEIGHT, PAD = 360.0, 260.0, 24.0
MIN_SPAN_DEG = 0.012  # about 1.3 km: a lone point still gets a readable neighbourhood


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float
    kind: str  # office | dest | courier
    label: str


@dataclass(frozen=True)
class PlacedPoint:
    x: float
    y: float
    point: Point


@dataclass(frozen=True)
class MapView:
    min_lat: float
    max_lat: float
    min_lng: float
    max_lng: float
    points: list[PlacedPoint]
    grid_x: list[float]
    grid_y: list[float]
    width: float = WIDTH
    height: float = HEIGHT
    pad: float = PAD

    def placed(self, kind: str) -> PlacedPoint | None:
        return next((p for p in self.points if p.point.kind == kind), None)

    @property
    def route(self) -> str:
        """office -> courier (if known) -> destination, as SVG polyline points."""
        stops = [self.placed(k) for k in ("office", "courier", "dest")]
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in stops if p is not None)

    @property
    def scale_km(self) -> float:
        """Kilometres across the drawable width (for the scale note)."""
        mid = math.radians((self.min_lat + self.max_lat) / 2)
        return (self.max_lng - self.min_lng) * 111.32 * math.cos(mid)


def plot(points: list[Point], *, min_span: float = MIN_SPAN_DEG) -> MapView:
    """Fit the points into the SVG box keeping east-west and north-south to the same scale."""
    if not points:
        raise ValueError("nothing to draw")
    lats = [p.lat for p in points]
    lngs = [p.lng for p in points]
    mid_lat, mid_lng = (min(lats) + max(lats)) / 2, (min(lngs) + max(lngs)) / 2
    lng_factor = max(math.cos(math.radians(mid_lat)), 0.1)
    span_lat = max(max(lats) - min(lats), min_span) * 1.25
    span_lng = max(max(lngs) - min(lngs), min_span) * 1.25
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    # Same ground distance per pixel both ways: widen whichever side is too narrow.
    if span_lng * lng_factor / inner_w < span_lat / inner_h:
        span_lng = span_lat / inner_h * inner_w / lng_factor
    else:
        span_lat = span_lng * lng_factor / inner_w * inner_h
    min_lat, max_lat = mid_lat - span_lat / 2, mid_lat + span_lat / 2
    min_lng, max_lng = mid_lng - span_lng / 2, mid_lng + span_lng / 2

    def xy(p: Point) -> PlacedPoint:
        x = PAD + (p.lng - min_lng) / (max_lng - min_lng) * inner_w
        y = PAD + (max_lat - p.lat) / (max_lat - min_lat) * inner_h
        return PlacedPoint(round(x, 1), round(y, 1), p)

    grid_x = [round(PAD + i * inner_w / 6, 1) for i in range(7)]
    grid_y = [round(PAD + i * inner_h / 4, 1) for i in range(5)]
    return MapView(min_lat, max_lat, min_lng, max_lng, [xy(p) for p in points], grid_x, grid_y)


def points_json(view: MapView) -> str:
    """The points for the street map (static/js/app.js), as JSON for a data attribute."""
    return json.dumps([{"lat": p.point.lat, "lng": p.point.lng, "kind": p.point.kind,
                        "label": p.point.label} for p in view.points])


def map_settings() -> dict[str, str | None]:
    """The tile server, its credit and the optional geocoder (SIPOKE_MAP_*, SIPOKE_GEOCODER_URL)."""
    settings = get_settings()
    return {"tile_url": settings.map_tile_url, "attribution": settings.map_tile_attribution,
            "geocoder_url": settings.geocoder_url}
