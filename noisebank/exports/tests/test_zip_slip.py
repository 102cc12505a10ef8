"""No ZIP export can write outside the folder it is unpacked into (zip slip), whatever the
taxonomy names an admin typed and whatever folder template a user asks for: every member of
the audio bundle and of the dataset bundle, unpacked by Python's zipfile and checked by name as
7-Zip, Windows Explorer or `unzip` would read it, stays under the archive's root."""

import io
import re
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.usefixtures("transactional_db")

HOSTILE = {
    "category": "../../../../etc",
    "sound_class": "..\\..\\..\\Windows\\System32",
    "subclass": "/root/.ssh/authorized_keys",
    "region": "C:\\Users\\Public",
    "community": "~/..//../.bashrc",
}
TEMPLATES = [
    "{category}/{class}/{subclass}/{noise_id}.{ext}",
    "../../{region}/{community}/{noise_id}.{ext}",
    "/{category}/../{noise_id}.{ext}",
    "..\\..\\{class}\\{noise_id}.{ext}",
    "{community}/{region}/{noise_id}",
]


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "audio").mkdir(parents=True)
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def hostile(media: Path, alice: User) -> Any:
    write_audio(media / "audio" / "tone.wav", seconds=0.2)
    return make_recording(collector=alice, audio="audio/tone.wav", **HOSTILE)


def assert_stays_inside(data: bytes, into: Path) -> list[str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    for name in names:
        # Read as every unpacker would: no absolute path, no drive, no parent step, by either
        # separator (Windows tools split on backslashes too).
        assert not name.startswith(("/", "\\")) and "\\" not in name, name
        assert not re.match(r"^[A-Za-z]:", name), name
        assert ".." not in PurePosixPath(name).parts, name
        assert ".." not in PureWindowsPath(name).parts, name
    into.mkdir()
    archive.extractall(into)
    root = into.resolve()
    written = [p for p in into.rglob("*") if p.is_file()]
    assert len(written) == len([n for n in names if not n.endswith("/")])
    for path in written:
        assert path.resolve().is_relative_to(root), path
    return names


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_audio_bundle_stays_inside_its_folder_whatever_the_names(
    alice_client: Client, hostile: Any, tmp_path: Path, template: str
) -> None:
    response = alice_client.get(
        f"/api/v1/recordings/export.zip?columns=noise_id,category&folder_template={quote(template)}"
    )
    assert response.status_code == 200, response.content
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = assert_stays_inside(data, tmp_path / "unpacked")
    [audio] = [n for n in names if hostile.noise_id in n]
    assert audio.count("/") >= 1  # the file is there, under made-safe folders


def test_the_dataset_bundle_stays_inside_its_folder_whatever_the_names(
    alice_client: Client, hostile: Any, tmp_path: Path
) -> None:
    response = alice_client.get("/api/v1/recordings/dataset.zip")
    assert response.status_code == 200, response.content
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = assert_stays_inside(data, tmp_path / "unpacked")
    assert any(n.endswith(".wav") for n in names)  # the audio went in, inside the root


def test_the_check_itself_catches_a_slipping_member(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../outside.txt", b"x")
    with pytest.raises(AssertionError):
        assert_stays_inside(buffer.getvalue(), tmp_path / "unpacked")
