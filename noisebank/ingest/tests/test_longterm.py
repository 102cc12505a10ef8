"""Hourly LAeq, Lday, Levening, Lnight and Lden in the site's local time (issue 15, part 2).

The recordings are a 100 Hz tone whose level changes every real hour, made block by block at
500 samples a second so a whole day is measured in seconds; the meter's A-weighting of that
tone is measured once on a steady minute, so every expected level is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from noisebank.ingest.analysis import Analysis, analyse
from noisebank.ingest.decode import GeneratedSource
from noisebank.ingest.longterm import clock_hours

RATE = 500
BERLIN = ZoneInfo("Europe/Berlin")


def hourly_tone(levels_db: list[float]) -> GeneratedSource:
    """One real hour per level, 100 Hz, dBFS; made ten minutes at a time."""

    def blocks() -> Iterator[np.ndarray]:
        stretch = np.arange(600 * RATE) / RATE
        for hour, level in enumerate(levels_db):
            for part in range(6):
                t = (hour * 6 + part) * 600 + stretch
                yield (10 ** (level / 20) * math.sqrt(2) * np.sin(2 * np.pi * 100 * t))[:, None]

    frames = len(levels_db) * 3600 * RATE
    return GeneratedSource("generated", "FLOAT", RATE, 1, frames, make_blocks=blocks)


def measured(levels_db: list[float], start: datetime, zone: ZoneInfo) -> Analysis:
    return analyse(
        hourly_tone(levels_db),
        calibration_offset_db=100.0,
        started_at=start,
        time_zone=zone,
        levels_only=True,
    )


@pytest.fixture(scope="module")
def a_weighting_db() -> float:
    """What the meter's A-weighting makes of the 100 Hz tone at this rate (about -19 dB)."""
    steady = GeneratedSource(
        "generated",
        "FLOAT",
        RATE,
        1,
        60 * RATE,
        make_blocks=lambda: iter(
            [(math.sqrt(2) * np.sin(2 * np.pi * 100 * np.arange(60 * RATE) / RATE))[:, None]]
        ),
    )
    levels = analyse(steady, calibration_offset_db=None, levels_only=True).levels
    assert levels is not None
    return levels.laeq


def energy_mean(levels_db: list[float]) -> float:
    return 10 * math.log10(sum(10 ** (v / 10) for v in levels_db) / len(levels_db))


def test_a_day_across_the_spring_clock_change(a_weighting_db: float) -> None:
    # Saturday 28 March 2026, 07:00 in Berlin; clocks go from 02:00 to 03:00 on the Sunday.
    start = datetime(2026, 3, 28, 7, 0, tzinfo=BERLIN)
    tone = [-40.0 + 3 * (h % 5) - (12 if 16 <= h <= 22 else 0) for h in range(24)]
    spl = [v + 100.0 + a_weighting_db for v in tone]  # what the meter should read each hour

    long_term = measured(tone, start, BERLIN).long_term

    assert long_term is not None and long_term.time_zone == "Europe/Berlin"
    starts = [h.start.strftime("%d %H:%M%z") for h in long_term.hours]
    assert starts[:2] == ["28 07:00+0100", "28 08:00+0100"]
    assert starts[16:20] == ["28 23:00+0100", "29 00:00+0100", "29 01:00+0100", "29 03:00+0200"]
    assert starts[-1] == "29 07:00+0200" and len(starts) == 24  # no 02:00 that night
    for hour, expected in zip(long_term.hours, spl, strict=True):
        assert hour.laeq == pytest.approx(expected, abs=0.1)
        assert hour.covered_s == pytest.approx(3600, abs=0.02)
    # Real hours 0-11 and 23 are day (07-19 on the 28th, 07-08 on the 29th), 12-15 evening,
    # 16-22 night: seven hours, as the clocks skipped one.
    day, evening, night = spl[:12] + spl[23:], spl[12:16], spl[16:23]
    assert long_term.lday == pytest.approx(energy_mean(day), abs=0.1)
    assert long_term.levening == pytest.approx(energy_mean(evening), abs=0.1)
    assert long_term.lnight == pytest.approx(energy_mean(night), abs=0.1)
    assert (long_term.day_hours, long_term.evening_hours, long_term.night_hours) == (
        pytest.approx(13, abs=1e-3),
        pytest.approx(4, abs=1e-3),
        pytest.approx(7, abs=1e-3),
    )
    lden = 10 * math.log10(
        (
            12 * 10 ** (energy_mean(day) / 10)
            + 4 * 10 ** ((energy_mean(evening) + 5) / 10)
            + 8 * 10 ** ((energy_mean(night) + 10) / 10)
        )
        / 24
    )
    assert long_term.lden == pytest.approx(lden, abs=0.1)


def test_part_of_a_day_has_no_lden_and_no_level_for_periods_it_misses(
    a_weighting_db: float,
) -> None:
    # Nairobi keeps UTC+3 all year: 17:30 to 20:30 local.
    start = datetime(2026, 6, 1, 17, 30, tzinfo=ZoneInfo("Africa/Nairobi"))
    long_term = measured([-30.0, -30.0, -30.0], start, ZoneInfo("Africa/Nairobi")).long_term

    assert long_term is not None
    # 17:30-19:00 day, 19:00-20:30 evening; no night, and not a whole day.
    assert long_term.lday == pytest.approx(70 + a_weighting_db, abs=0.1)
    assert long_term.levening == pytest.approx(70 + a_weighting_db, abs=0.1)
    assert long_term.lnight is None and long_term.lden is None
    assert long_term.day_hours == pytest.approx(1.5, abs=1e-3)
    assert long_term.night_hours == 0
    assert [h.covered_s for h in long_term.hours] == pytest.approx([1800, 3600, 3600, 1800])


def test_the_hour_repeated_in_autumn_appears_twice_with_its_offset() -> None:
    start = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)  # clocks go back at 03:00 CEST

    hours = clock_hours(start, 4 * 3600, BERLIN)

    local = [h.astimezone(BERLIN).strftime("%H:%M%z") for h in hours]
    assert local == ["00:00+0200", "01:00+0200", "02:00+0200", "02:00+0100"]


def test_a_half_hour_zone_starts_its_hours_at_half_past_utc() -> None:
    start = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata

    hours = clock_hours(start, 2 * 3600, ZoneInfo("Asia/Kolkata"))

    assert [h.strftime("%H:%M") for h in hours] == ["03:30", "04:30", "05:30"]
    assert hours[0] + timedelta(minutes=30) == start
