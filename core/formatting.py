"""How times, numbers and counts are written for people, in pages and in messages alike.

Times are stored as aware UTC; people read them in their office's own zone (an office
setting: WIB, WITA or WIT), written the Indonesian way (``21.41 WIB``, ``2 Des 2026``).
Numbers use the language's separators (``0,5 km`` in Bahasa Indonesia), and counts pick the
right plural form. Everything goes through Babel, never through ``strftime`` or ``:.1f``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_time as _format_time
from babel.numbers import format_decimal

DEFAULT_ZONE = "Asia/Jakarta"
DEFAULT_LANG = "id"

# The zones an Indonesian office can be in, with the abbreviation people write after a time.
OFFICE_ZONES: dict[str, str] = {
    "Asia/Jakarta": "WIB",     # Sumatra, Java, West and Central Kalimantan
    "Asia/Pontianak": "WIB",   # West and Central Kalimantan
    "Asia/Makassar": "WITA",   # Bali, Nusa Tenggara, South/East/North Kalimantan, Sulawesi
    "Asia/Jayapura": "WIT",    # Maluku and Papua
}

# Babel patterns per language; the time of day in Bahasa Indonesia is written 21.41.
_PATTERNS: dict[str, dict[str, str]] = {
    "id": {"datetime": "d MMM y HH.mm", "date": "d MMM y", "time": "HH.mm",
           "time_seconds": "HH.mm.ss", "short_datetime": "d MMM HH.mm.ss"},
    "en": {"datetime": "d MMM y HH:mm", "date": "d MMM y", "time": "HH:mm",
           "time_seconds": "HH:mm:ss", "short_datetime": "d MMM HH:mm:ss"},
}
_WITH_ZONE = frozenset({"datetime", "time", "time_seconds", "short_datetime"})


def _lang(lang: str | None) -> str:
    return lang if lang in _PATTERNS else DEFAULT_LANG


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(_lang(lang))


def office_zone(name: str | None) -> ZoneInfo:
    """The office's zone; an unknown or empty name falls back to Asia/Jakarta."""
    return ZoneInfo(name if name in OFFICE_ZONES else DEFAULT_ZONE)


def zone_abbreviation(name: str | None) -> str:
    return OFFICE_ZONES.get(name or DEFAULT_ZONE, "WIB")


def to_office(value: datetime, zone: str | None) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: times are aware UTC")
    return value.astimezone(office_zone(zone))


def format_when(value: datetime | None, zone: str | None = DEFAULT_ZONE, *,
                style: str = "datetime", lang: str | None = DEFAULT_LANG) -> str:
    """A moment in the office's zone: ``2 Des 2026 04.41 WIB`` (style ``datetime``), ``04.41
    WIB`` (``time``), ``2 Des 2026`` (``date``), ``04.41.05 WIB`` (``time_seconds``) or
    ``2 Des 04.41.05 WIB`` (``short_datetime``)."""
    if value is None:
        return "–"
    lang = _lang(lang)
    pattern = _PATTERNS[lang].get(style)
    if pattern is None:
        raise ValueError(f"unknown time style {style!r}")
    local = to_office(value, zone)
    if style == "date":
        return _format_date(local.date(), pattern, locale=_locale(lang))
    text = (_format_time(local, pattern, tzinfo=local.tzinfo, locale=_locale(lang))
            if style in ("time", "time_seconds")
            else _format_datetime(local, pattern, tzinfo=local.tzinfo, locale=_locale(lang)))
    return f"{text} {zone_abbreviation(zone)}" if style in _WITH_ZONE else text


def format_day(value, lang: str | None = DEFAULT_LANG) -> str:
    """A calendar date (no zone): ``1 Nov 2026``."""
    return _format_date(value, _PATTERNS[_lang(lang)]["date"], locale=_locale(lang))


def format_number(value: float | int, lang: str | None = DEFAULT_LANG, *,
                  decimals: int = 0) -> str:
    """``12.500`` / ``0,5`` in Bahasa Indonesia, ``12,500`` / ``0.5`` in English."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def format_km(metres: float | int | None, lang: str | None = DEFAULT_LANG) -> str:
    """A distance for people: ``0,5 km`` (one decimal, the language's decimal mark)."""
    if metres is None:
        return "–"
    return f"{format_number(metres / 1000, lang, decimals=1)} km"


_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    # unit: {lang: (one, other)}; Bahasa Indonesia has one form for every count.
    "minute": {"id": ("{n} menit", "{n} menit"), "en": ("{n} minute", "{n} minutes")},
    "working_day": {"id": ("{n} hari kerja", "{n} hari kerja"),
                    "en": ("{n} working day", "{n} working days")},
    "offer": {"id": ("{n} penawaran", "{n} penawaran"), "en": ("{n} offer", "{n} offers")},
}


def plural(count: int, unit: str, lang: str | None = DEFAULT_LANG) -> str:
    """``1 working day``, ``3 working days``, ``3 hari kerja``: CLDR's plural rules pick the
    form, the number is written the language's way."""
    lang = _lang(lang)
    one, other = _UNITS[unit][lang]
    form = _locale(lang).plural_form(count)
    return (one if form == "one" else other).format(n=format_number(count, lang))


_LESS_THAN_A_MINUTE = {"id": "kurang dari 1 menit", "en": "less than a minute"}


def format_minutes(value: timedelta | float | int | None, lang: str | None = DEFAULT_LANG
                   ) -> str:
    """A duration in whole minutes (seconds or a timedelta in): ``12 menit``; under a
    minute it says so rather than ``0 menit``."""
    if value is None:
        return "–"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    minutes = round(seconds / 60)
    if minutes < 1:
        return _LESS_THAN_A_MINUTE[_lang(lang)]
    return plural(minutes, "minute", lang)
