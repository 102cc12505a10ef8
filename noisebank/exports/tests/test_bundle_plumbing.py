"""ZIP bundles: this side hands the bundle writer each row with its audio file and the manifest.

The bundle writer itself comes with the writer plug-ins; a stand-in records what it is given.
"""

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import WRITERS, Row, WriterOptions
from noisebank.exports.services import audio_path
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")


class RecordingBundleWriter:
    format = "zip"
    extension = "zip"
    content_type = "application/zip"
    given: list[Any] = []

    def is_available(self) -> bool:
        return True

    def stream_bundle(
        self,
        columns: Sequence[Column],
        entries: Iterable[tuple[Row, Path | None]],
        options: WriterOptions,
        manifest: dict[str, Any],
    ) -> Iterator[bytes]:
        self.given[:] = [[c.name for c in columns], list(entries), manifest]
        yield b"PK"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "audio").mkdir(parents=True)
    return Path(settings.MEDIA_ROOT)


def test_audio_path_finds_only_files_inside_the_media_folder(media: Path, tmp_path: Path) -> None:
    (media / "audio" / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.txt").write_text("no")
    assert audio_path("audio/a.wav") == (media / "audio" / "a.wav").resolve()
    assert audio_path("audio/missing.wav") is None
    assert audio_path("") is None and audio_path(None) is None
    assert audio_path("../secret.txt") is None


def test_bundle_writer_gets_rows_audio_files_and_manifest(
    monkeypatch: Any, media: Path, alice: User, alice_client: Client
) -> None:
    monkeypatch.setitem(WRITERS, "zip", RecordingBundleWriter())
    (media / "audio" / "horn.flac").write_bytes(b"fLaC")
    with_file = make_recording(collector=alice, audio="audio/horn.flac")
    without = make_recording(collector=alice)
    response = alice_client.get("/api/v1/recordings/export.zip?columns=noise_id,category")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK"  # type: ignore[attr-defined]
    names, entries, manifest = RecordingBundleWriter.given
    assert names == ["noise_id", "category"]
    assert entries == [
        ((with_file.noise_id, "Train pass-by"), (media / "audio" / "horn.flac").resolve()),
        ((without.noise_id, "Train pass-by"), None),
    ]
    assert manifest["row_count"] == 2 and manifest["format"] == "zip"
    assert response["Content-Disposition"].endswith('.zip"')
    assert m.Recording.objects.count() == 2
