"""Times in the office's own zone, numbers and counts written the language's way (Babel)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.formatting import (
    format_day,
    format_km,
    format_minutes,
    format_number,
    format_when,
    plural,
)
from core.offices.schemas import OfficeUpdate

# 21:41 UTC is 04:41 the next morning in Jakarta, 05:41 in Makassar, 06:41 in Jayapura.
MOMENT = datetime(2026, 12, 1, 21, 41, 5, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "expected"), [
    ("Asia/Jakarta", "04.41 WIB"), ("Asia/Pontianak", "04.41 WIB"),
    ("Asia/Makassar", "05.41 WITA"), ("Asia/Jayapura", "06.41 WIT"),
])
def test_times_are_in_the_office_zone_with_its_abbreviation(zone, expected):
    assert format_when(MOMENT, zone, style="time") == expected


def test_dates_and_times_are_written_the_indonesian_way():
    assert format_when(MOMENT, "Asia/Jakarta") == "2 Des 2026 04.41 WIB"
    assert format_when(MOMENT, "Asia/Jakarta", style="date") == "2 Des 2026"
    assert format_when(MOMENT, "Asia/Makassar", style="time_seconds") == "05.41.05 WITA"
    assert format_when(MOMENT, "Asia/Jakarta", lang="en") == "2 Dec 2026 04:41 WIB"
    assert format_when(None) == "–"
    # an unknown zone never leaks UTC or the server's zone: it is the default office zone
    assert format_when(MOMENT, "Europe/Paris", style="time") == "04.41 WIB"
    assert format_day(datetime(2026, 11, 1).date()) == "1 Nov 2026"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_when(datetime(2026, 12, 1, 21, 41))


def test_numbers_use_the_language_decimal_mark():
    assert format_km(500) == "0,5 km" and format_km(500, "en") == "0.5 km"
    assert format_km(12345) == "12,3 km" and format_km(None) == "–"
    assert format_number(12500) == "12.500" and format_number(12500, "en") == "12,500"


def test_counts_take_the_right_plural_and_short_durations_read_as_words():
    assert plural(1, "working_day", "en") == "1 working day"
    assert plural(3, "working_day", "en") == "3 working days"
    assert plural(1, "working_day") == "1 hari kerja" == plural(1, "working_day", "id")
    assert format_minutes(20) == "kurang dari 1 menit"
    assert format_minutes(timedelta(seconds=20), "en") == "less than a minute"
    assert format_minutes(60 * 12) == "12 menit" and format_minutes(60, "en") == "1 minute"


def test_the_office_zone_is_one_of_indonesias_zones():
    assert OfficeUpdate.model_validate({"timezone": "Asia/Makassar"}).timezone == "Asia/Makassar"
    with pytest.raises(ValidationError, match="Zona waktu"):
        OfficeUpdate.model_validate({"timezone": "Europe/Paris"})
