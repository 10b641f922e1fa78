"""Coordinates typed in by people (an office's pickup point, a courier's position): plain
numbers within Indonesia; and the distance between two points.

A JSON ``true``/``false`` is refused rather than read as 1.0/0.0 (the ranges already refuse
NaN and the infinities); numeric strings stay accepted because the web forms send text.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# Sabang to Merauke, Miangas to Rote, with a margin for the outer islands.
LAT_RANGE = (-11.5, 6.5)
LNG_RANGE = (94.0, 141.5)


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Koordinat harus berupa angka.")
    return value


# The range before the validator: so it reaches the JSON schema as minimum/maximum.
Latitude = Annotated[float, Field(ge=LAT_RANGE[0], le=LAT_RANGE[1]),
                     BeforeValidator(_not_a_boolean)]
Longitude = Annotated[float, Field(ge=LNG_RANGE[0], le=LNG_RANGE[1]),
                      BeforeValidator(_not_a_boolean)]


EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))
