"""Plot data and drawings, the manifest reader, and the ASGI guard against huge bodies."""

import asyncio
import struct
import zlib
from typing import Any

import numpy as np
import pytest

from noisebank.ingest import plots
from noisebank.ingest.manifest import ManifestInvalid, read_manifest
from noisebank.ingest.uploads import limit_body_size
from noisebank.lib import synth


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    at, idat = 8, b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length : at + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        if kind == b"IDAT":
            idat += body
        at += 12 + length
    return width, height, zlib.decompress(idat)


def test_the_spectrogram_is_a_valid_png_whose_bright_row_is_the_tone() -> None:
    tone = synth.sine(1000.0, 2.0, rms=0.1)
    data = plots.spectrogram_png(tone, synth.SAMPLE_RATE)
    import base64

    width, height, raw = png_pixels(base64.b64decode(data["png"]))
    # A 2 s clip has fewer frames than the image has room for: one column each.
    assert height == plots.SPECTROGRAM_SIZE[1] and 50 < width <= plots.SPECTROGRAM_SIZE[0]
    rows = np.frombuffer(raw, np.uint8).reshape(height, width + 1)[:, 1:]
    brightest = int(rows.mean(axis=1).argmax())
    frequencies = np.geomspace(plots.SPECTROGRAM_MIN_HZ, synth.SAMPLE_RATE / 2, height)[::-1]
    assert 900 < frequencies[brightest] < 1100


def test_the_waveform_envelope_keeps_the_peaks() -> None:
    x = np.zeros(48_000)
    x[12_345] = 0.9
    x[40_000] = -0.7
    envelope = plots.waveform_envelope(x, 48_000)
    assert len(envelope["max"]) == plots.WAVEFORM_COLUMNS
    assert max(envelope["max"]) == 0.9 and min(envelope["min"]) == -0.7
    assert envelope["duration_s"] == 1.0


def test_drawings_are_empty_without_data_and_mark_the_levels_with_data() -> None:
    assert plots.level_svg({}, {"LAeq": 1.0}, "dBFS") == ""
    assert plots.waveform_svg({}) == "" and plots.spectrogram_svg({}) == ""
    assert plots.bands_svg({}, "dBFS") == ""
    svg = plots.level_svg(
        {"level_times_s": [0, 1, 2], "laf_levels": [60.0, 70.0, 65.0]},
        {"LAeq": 66.0, "LA10": 69.0, "LA90": 61.0},
        "dB SPL",
    )
    assert svg.startswith("<svg") and "LAeq 66.0" in svg and "LA90 61.0" in svg
    assert "LAF (dB SPL)" in svg
    bars = plots.bands_svg({"1000": 70.0, "31.5": -150.0}, "dB SPL")
    assert bars.count('class="bar"') == 2 and "1000 Hz: 70.0 dB SPL" in bars


def test_a_manifest_reads_aliases_and_skips_blank_lines() -> None:
    rows = read_manifest("\ufefffile;class;Recording date\nA.wav;Horn;2026-01-01\n\n".encode())
    assert rows[0].metadata == {"sound_class": "Horn", "recorded_at": "2026-01-01"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"name\nx\n", "no file column"),
        (b"file\n", "no rows"),
        (b"file\na.wav\na.wav\n", "names 'a.wav' again"),
        (b"file,name\na.wav,x,extra\n", "more values"),
        ("file\nä.wav\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_bad_manifest_is_refused_with_one_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ManifestInvalid, match=reason):
        read_manifest(raw)


def asgi_call(_: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[list[Any], bool]:
    sent: list[Any] = []
    reached = False

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/recordings", "headers": headers}
    asyncio.run(limit_body_size(inner)(scope, receive, send))
    return sent, reached


def test_the_asgi_guard_answers_413_before_django_reads_a_huge_body(settings: Any) -> None:
    sent, reached = asgi_call(None, [(b"content-length", str(2 * 1024**3).encode())], b"")
    assert not reached and sent[0]["status"] == 413
    assert b"upload limit" in sent[1]["body"]
    sent, reached = asgi_call(None, [(b"content-length", b"10")], b"0123456789")
    assert reached and sent[0]["status"] == 200
