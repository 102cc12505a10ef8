"""ZIP bundles through the download endpoint: each row's audio file found in the media folder,
laid out by the folder template, beside the metadata file and the manifest."""

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.exports.services import audio_path
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")


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


def download_zip(client: Client, query: str) -> zipfile.ZipFile:
    response = client.get(f"/api/v1/recordings/export.zip?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].endswith('.zip"')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]


def test_bundle_holds_metadata_each_rows_audio_and_the_manifest(
    media: Path, alice: User, alice_client: Client
) -> None:
    (media / "audio" / "horn.flac").write_bytes(b"fLaC and the rest")
    with_file = make_recording(collector=alice, audio="audio/horn.flac")
    without = make_recording(collector=alice)
    bundle = download_zip(alice_client, "columns=noise_id,category,class")
    audio_member = f"Train pass-by/Freight train/{with_file.noise_id}.flac"
    assert sorted(bundle.namelist()) == sorted(["metadata.csv", audio_member, "manifest.json"])
    assert bundle.read(audio_member) == b"fLaC and the rest"
    metadata = list(csv.reader(io.StringIO(bundle.read("metadata.csv").decode())))
    assert metadata[0] == ["noise_id", "category", "class"]  # the audio locator is not written
    assert sorted(r[0] for r in metadata[1:]) == sorted([with_file.noise_id, without.noise_id])
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["row_count"] == 2 and manifest["format"] == "zip"
    assert {f["path"] for f in manifest["files"]} == {"metadata.csv", audio_member}
    assert m.Recording.objects.count() == 2


def test_template_placeholders_need_not_be_among_the_written_columns(
    media: Path, alice: User, alice_client: Client
) -> None:
    (media / "audio" / "horn.flac").write_bytes(b"fLaC")
    rec = make_recording(collector=alice, audio="audio/horn.flac")
    bundle = download_zip(alice_client, "columns=noise_id,laeq")
    assert f"Train pass-by/Freight train/{rec.noise_id}.flac" in bundle.namelist()
    header = bundle.read("metadata.csv").decode().splitlines()[0]
    assert header == "noise_id,laeq"


def test_folder_template_and_xlsx_metadata_are_options(
    media: Path, alice: User, alice_client: Client
) -> None:
    (media / "audio" / "bell.wav").write_bytes(b"RIFF")
    rec = make_recording(collector=alice, audio="audio/bell.wav", region="Zürich")
    bundle = download_zip(
        alice_client,
        "columns=noise_id,region&folder_template={region}/{noise_id}.{ext}&metadata=xlsx",
    )
    assert sorted(bundle.namelist()) == sorted(
        ["metadata.xlsx", f"Zürich/{rec.noise_id}.wav", "manifest.json"]
    )


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("folder_template={nope}/{noise_id}", "folder_template", "nope"),
        ("metadata=pdf", "metadata", "csv or xlsx"),
    ],
)
def test_bad_bundle_options_are_a_400_naming_the_parameter(
    alice_client: Client, media: Path, query: str, parameter: str, words: str
) -> None:
    response = alice_client.get(f"/api/v1/recordings/export.zip?{query}")
    assert response.status_code == 400
    body = json.dumps(response.json())
    assert parameter in body and words in body
