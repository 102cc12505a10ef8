"""Dataset bundles (dataset=1) through the download URL and the export job API: real
recordings with real audio, split by the database's group counts in the export's snapshot."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.exports import jobs
from noisebank.exports.engine.tests.audiofolder import check_layout, load_audiofolder, unzip
from noisebank.exports.models import ExportJob
from noisebank.exports.tests.test_jobs_api import body_of, get, post, run_worker
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")

CLASSES = ("Horn", "Bell", "Squeal")
SITES = ("Tema", "Accra", "Kumasi", "Obuasi", "Takoradi", "Tarkwa", "Ho", "Keta", "Aflao")


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return Path(settings.EXPORT_ROOT)


@pytest.fixture
def recordings(settings: Any, alice: User, bob: User) -> list[m.Recording]:
    """18 recordings with stereo 8 kHz audio: each site recorded one class, twice; one more
    recording without audio."""
    media = Path(settings.MEDIA_ROOT) / "audio"
    media.mkdir(parents=True)
    made = []
    for i, site in enumerate(SITES):
        for take in range(2):
            name = f"audio/{site}-{take}.wav"
            t = np.arange(6_000) / 8_000
            wave = 0.1 * np.sin(2 * np.pi * (200 + 50 * i) * t)
            soundfile.write(Path(settings.MEDIA_ROOT) / name, np.stack([wave, wave], 1), 8_000)
            made.append(
                make_recording(
                    collector=alice if i % 2 else bob,
                    category="Railway",
                    sound_class=CLASSES[i % 3],
                    community=site,
                    audio=name,
                )
            )
    make_recording(collector=alice, category="Railway", sound_class="Horn", community="Tema")
    return made


def download(client: Client, query: str) -> bytes:
    response = client.get(f"/api/v1/recordings/export.zip?{query}")
    assert response.status_code == 200, response.content
    return body_of(response)


def test_a_dataset_download_loads_as_audiofolder_with_no_site_in_two_splits(
    alice_client: Client,
    recordings: list[m.Recording],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = download(alice_client, "dataset=1&split=1,1,1&columns=noise_id,laeq&seed=11")
    folder = unzip(data, tmp_path / "ds")
    tables = check_layout(folder)
    loaded = load_audiofolder(folder, tmp_path / "cache", monkeypatch)
    assert {name: len(split) for name, split in loaded.items()} == {
        name: len(table) for name, table in tables.items()
    }
    # The label and group columns are written even when not chosen.
    assert loaded["train"].column_names == ["audio", "noise_id", "laeq", "class", "community"]
    where: dict[str, set[str]] = {}
    for name, split in loaded.items():
        for example in split:
            where.setdefault(example["community"], set()).add(name)
    assert sorted(where) == sorted(SITES)  # the recording without audio is left out
    assert all(len(splits) == 1 for splits in where.values()), where
    for name in ("train", "validation", "test"):
        assert set(loaded[name]["class"]) == set(CLASSES)  # 3 sites a class: one each
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["options"]["dataset"]["seed"] == 11
    assert manifest["options"]["dataset"]["group_by"] == ["community"]
    assert manifest["dataset"]["split"]["groups"] == len(SITES)
    assert manifest["dataset"]["skipped"]["no_audio"] == 1
    assert manifest["row_count"] == len(recordings) + 1


def test_resampled_mono_segments_come_through_the_download(
    alice_client: Client, recordings: list[m.Recording], tmp_path: Path
) -> None:
    query = (
        "dataset=1&columns=noise_id&group_by=collector,community&sample_rate=16000&mono=1"
        "&segment_seconds=0.5&segment_remainder=drop&audio_format=wav&community=Tema"
    )
    folder = unzip(download(alice_client, query), tmp_path / "ds")
    tables = check_layout(folder)
    rows = [r for table in tables.values() for r in table]
    assert len(rows) == 2 and {r["segment_offset"] for r in rows} == {"0"}  # 0.75 s: one whole
    for split, table in tables.items():
        for row in table:
            info = soundfile.info(folder / split / row["file_name"])
            assert (info.format, info.samplerate, info.channels, info.frames) == (
                "WAV",
                16_000,
                1,
                8_000,
            )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["dataset"]["split"]["group_by"] == ["collector", "community"]


def test_the_same_export_gives_the_same_split(
    alice_client: Client, recordings: list[m.Recording]
) -> None:
    def members(query: str) -> list[str]:
        names = zipfile.ZipFile(io.BytesIO(download(alice_client, query))).namelist()
        return sorted(n for n in names if n.endswith(".wav"))

    assert members("dataset=1&seed=5") == members("dataset=1&seed=5")


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("dataset=1&split=1,2", "split", "three shares"),
        ("dataset=1&split=0,1,1", "split", "train above 0"),
        ("dataset=1&split=8,x,1", "split", "not a number"),
        ("dataset=1&seed=-1", "seed", "whole number"),
        ("dataset=1&stratify_by=name", "stratify_by", "class"),
        ("dataset=1&group_by=noise_id", "group_by", "community"),
        ("dataset=1&sample_rate=10", "sample_rate", "1000-384000"),
        ("dataset=1&mono=maybe", "mono", "1 or 0"),
        ("dataset=1&segment_seconds=0", "segment_seconds", "0.01"),
        ("dataset=1&segment_seconds=nan", "segment_seconds", "not a number"),
        ("dataset=1&segment_remainder=cut", "segment_remainder", "pad, keep, drop"),
        ("dataset=1&audio_format=mp3", "audio_format", "original, wav, flac"),
        ("dataset=1&metadata=xlsx", "metadata", "csv"),
        ("dataset=maybe", "dataset", "1 or 0"),
        ("split=80,10,10", "split", "dataset=1"),
    ],
)
def test_bad_dataset_options_are_a_400_naming_the_parameter(
    alice_client: Client, query: str, parameter: str, words: str
) -> None:
    response = alice_client.get(f"/api/v1/recordings/export.zip?{query}")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["param"] for e in errors] == [parameter]
    assert words in errors[0]["message"]


def test_dataset_options_are_refused_for_other_formats(alice_client: Client) -> None:
    response = alice_client.get("/api/v1/recordings/export.csv?dataset=1")
    assert response.status_code == 400
    assert response.json()["errors"][0]["param"] == "dataset"


def test_an_export_job_makes_the_same_dataset_as_the_download(
    alice_client: Client, recordings: list[m.Recording]
) -> None:
    body = {
        "format": "zip",
        "columns": ["noise_id"],
        "options": {"dataset": {"split": [70, 15, 15], "seed": 2, "group_by": ["collector"]}},
    }
    response = post(alice_client, body)
    assert response.status_code == 202, response.content
    stored = response.json()["options"]["dataset"]
    assert stored["split"] == [0.7, 0.15, 0.15] and stored["group_by"] == ["collector"]
    assert stored["stratify_by"] == "class" and stored["audio_format"] == "original"
    run_worker()
    job = get(alice_client, response.json()["id"])
    assert job["status"] == "done", job["error"]
    archive = zipfile.ZipFile(io.BytesIO(body_of(alice_client.get(job["download_url"]))))
    direct = zipfile.ZipFile(
        io.BytesIO(download(alice_client, "dataset=1&split=70,15,15&seed=2&group_by=collector"))
    )
    wav = sorted(n for n in archive.namelist() if n.endswith(".wav"))
    assert wav == sorted(n for n in direct.namelist() if n.endswith(".wav"))
    assert job["manifest"]["options"]["dataset"] == stored
    # Two collectors: each in one split (the other splits get no group).
    splits = {n.split("/")[0] for n in wav}
    assert len(splits) <= 2
    assert post(alice_client, body).status_code == 201  # the same data: the file is reused
    # A re-run parses the stored options again into the same spec.
    again = jobs.job_spec(ExportJob.objects.get(pk=job["id"]))
    assert again.as_json()["options"]["dataset"] == stored
    assert again.writer_options().dataset is not None


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"dataset": {"split": "1,1"}}, "options.dataset.split"),
        ({"dataset": {"sample_rate": "fast"}}, "options.dataset.sample_rate"),
        ({"dataset": {"shuffle": True}}, "options.dataset.shuffle"),
        ({"dataset": "yes"}, "options.dataset"),
        ({"dataset": True, "metadata": "xlsx"}, "metadata"),
    ],
)
def test_bad_dataset_options_of_a_job_are_a_400_naming_them(
    alice_client: Client, options: dict[str, Any], parameter: str
) -> None:
    response = post(alice_client, {"format": "zip", "options": options})
    assert response.status_code == 400, response.content
    assert [e["param"] for e in response.json()["errors"]] == [parameter]


def test_a_job_of_another_format_refuses_dataset_options(alice_client: Client) -> None:
    response = post(alice_client, {"format": "csv", "options": {"dataset": True}})
    assert response.status_code == 400
    assert [e["param"] for e in response.json()["errors"]] == ["options.dataset"]


def test_whole_numbers_written_with_a_fraction_are_whole_numbers(alice_client: Client) -> None:
    body = {"format": "zip", "options": {"dataset": {"seed": 7.0, "sample_rate": 16000.0}}}
    response = post(alice_client, body)
    assert response.status_code in (201, 202), response.content
    assert response.json()["options"]["dataset"]["seed"] == 7
