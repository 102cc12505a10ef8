"""The indicators of long-term monitoring, in the local time of the site.

From the A-weighted energy of every 10 ms of a recording (``levels.Readings``) and the moment
it started:

- LAeq per clock hour of local time: each hour the recording touches, with the seconds of it
  covered (the first and last hours are usually partial). On the day clocks go forward the
  hour from 02:00 does not exist; on the day they go back the hour from 02:00 occurs twice,
  told apart by its UTC offset.
- Lday (07-19 h), Levening (19-23 h), Lnight (23-07 h): the energy mean over the parts of those
  periods the recording covers, and how many hours of each it covers. Periods start on whole
  local hours, so each clock hour belongs to one period.
- Lden (EU Directive 2002/49/EC, Annex I): 10·lg((12·10^(Ld/10) + 4·10^((Le+5)/10) +
  8·10^((Ln+10)/10)) / 24), only when the recording covers a whole day: some local 07:00 to
  the next 07:00 (23 or 25 hours on the days clocks change).

Nothing is invented: a period the recording does not touch has no level, and Lden none unless a
whole day is covered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from noisebank.ingest.levels import MIN_MEAN_SQUARE, Readings

DAY_HOURS = range(7, 19)
EVENING_HOURS = range(19, 23)
PERIODS = ("day", "evening", "night")
WEIGHT_HOURS = {"day": 12, "evening": 4, "night": 8}
PENALTY_DB = {"day": 0.0, "evening": 5.0, "night": 10.0}


def period_of(local_hour: int) -> str:
    if local_hour in DAY_HOURS:
        return "day"
    return "evening" if local_hour in EVENING_HOURS else "night"


@dataclass(frozen=True)
class HourLevel:
    start: datetime  # aware, in the site's zone
    laeq: float
    covered_s: float


@dataclass(frozen=True)
class LongTerm:
    time_zone: str
    hours: list[HourLevel]
    lday: float | None
    levening: float | None
    lnight: float | None
    lden: float | None
    day_hours: float  # hours of each period covered
    evening_hours: float
    night_hours: float

    def hourly_json(self) -> list[dict[str, object]]:
        return [
            {
                "start": h.start.isoformat(timespec="minutes"),
                "laeq": round(h.laeq, 2),
                "covered_s": round(h.covered_s, 1),
            }
            for h in self.hours
        ]


def clock_hours(start: datetime, duration_s: float, zone: ZoneInfo) -> list[datetime]:
    """The local start of every clock hour from the one holding ``start`` to the one holding
    the end, as aware UTC instants (a local hour can start at :30 or :45 UTC)."""
    begin = start.astimezone(UTC)
    end = begin + timedelta(seconds=duration_s)
    local = begin.astimezone(zone)
    first = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    quarter = first
    found = []
    while quarter < end:
        here = quarter.astimezone(zone)
        if here.minute == 0 and here.second == 0:
            found.append(quarter)
        quarter += timedelta(minutes=15)
    return found


def long_term(
    readings: Readings,
    *,
    interval_s: float,
    samples: int,
    sample_rate: int,
    start: datetime,
    zone: ZoneInfo,
    offset_db: float,
) -> LongTerm:
    """The hourly and period levels of a recording that started at ``start`` (aware)."""
    duration = samples / sample_rate
    starts = clock_hours(start, duration, zone)
    begin = start.astimezone(UTC)
    edges = np.array([(s - begin).total_seconds() for s in starts[1:]])
    energy = np.zeros(len(starts))
    counted = np.zeros(len(starts))  # samples
    step = round(interval_s * sample_rate)
    done = 0
    for chunk in readings.chunks():
        index = done + np.arange(len(chunk))
        hour = np.searchsorted(edges, index * interval_s, side="right")
        widths = np.minimum(step, samples - index * step).astype(float)
        energy += np.bincount(hour, weights=chunk["energy"], minlength=len(starts))
        counted += np.bincount(hour, weights=widths, minlength=len(starts))
        done += len(chunk)
    hours = []
    per_period = {p: [0.0, 0.0] for p in PERIODS}  # energy, samples
    for s, e, n in zip(starts, energy, counted, strict=True):
        if n <= 0:
            continue
        local = s.astimezone(zone)
        hours.append(HourLevel(local, _db(e / n) + offset_db, n / sample_rate))
        totals = per_period[period_of(local.hour)]
        totals[0] += e
        totals[1] += n
    levels = {p: (_db(e / n) + offset_db if n > 0 else None) for p, (e, n) in per_period.items()}
    lday, levening, lnight = levels["day"], levels["evening"], levels["night"]
    lden = None
    whole_day = _covers_a_whole_day(starts, begin, duration, zone)
    if whole_day and lday is not None and levening is not None and lnight is not None:
        weighted = (
            WEIGHT_HOURS["day"] * 10 ** ((lday + PENALTY_DB["day"]) / 10)
            + WEIGHT_HOURS["evening"] * 10 ** ((levening + PENALTY_DB["evening"]) / 10)
            + WEIGHT_HOURS["night"] * 10 ** ((lnight + PENALTY_DB["night"]) / 10)
        )
        lden = 10 * math.log10(weighted / 24)
    return LongTerm(
        time_zone=zone.key,
        hours=hours,
        lday=lday,
        levening=levening,
        lnight=lnight,
        lden=lden,
        day_hours=per_period["day"][1] / sample_rate / 3600,
        evening_hours=per_period["evening"][1] / sample_rate / 3600,
        night_hours=per_period["night"][1] / sample_rate / 3600,
    )


def _covers_a_whole_day(
    starts: list[datetime], begin: datetime, duration_s: float, zone: ZoneInfo
) -> bool:
    """Some local 07:00 at or after the start whose next local 07:00 is at or before the end."""
    end = begin + timedelta(seconds=duration_s)
    sevens = [s for s in starts if s >= begin and s.astimezone(zone).hour == 7]
    for seven in sevens:
        local = seven.astimezone(zone)
        following = datetime.combine(
            local.date() + timedelta(days=1), local.timetz().replace(tzinfo=None), tzinfo=zone
        )
        if following.astimezone(UTC) <= end:
            return True
    return False


def _db(mean_square: float) -> float:
    return 10 * math.log10(max(mean_square, MIN_MEAN_SQUARE))
