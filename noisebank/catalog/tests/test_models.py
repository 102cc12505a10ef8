import re
from datetime import UTC, datetime

from noisebank.catalog.models import Device, Recording, collector_code, new_noise_id


def test_noise_id_is_readable_and_public_format() -> None:
    at = datetime(2026, 11, 28, 12, 30, 5, tzinfo=UTC)
    nid = new_noise_id("kwame.mensah", at)
    assert re.fullmatch(r"NSE-KWAMEMEN-20261128123005-[0-9A-F]{6}", nid)


def test_collector_code_survives_non_ascii_names() -> None:
    assert collector_code("zoë.müller") == "ZOEMULLE"
    assert collector_code("aurélie") == "AURELIE"
    assert collector_code("中文") == "ANON"


def test_recording_calibration_overrides_the_devices() -> None:
    device = Device(name="XL2", calibration_offset_db=120.0)
    assert Recording(device=device).effective_calibration_db == 120.0
    assert Recording(device=device, calibration_offset_db=118.5).effective_calibration_db == 118.5
    assert Recording().effective_calibration_db is None
