"""Time zones by IANA name (Django-free)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone_or_none(name: str) -> ZoneInfo | None:
    """The zone called ``name`` ("Europe/Berlin"), or None if there is none by that name."""
    if not name or name not in available_timezones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
