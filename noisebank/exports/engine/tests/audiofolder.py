"""Reading a dataset bundle back as its users will: unzipped, then through the `datasets`
library's audiofolder loader, and against the layout rules that loader follows."""

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

SPLITS = ("train", "validation", "test")


def unzip(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        archive.extractall(folder)
    return folder


def metadata(folder: Path) -> dict[str, list[dict[str, str]]]:
    """Each split's metadata.csv as dicts (text as written)."""
    out = {}
    for split in SPLITS:
        path = folder / split / "metadata.csv"
        if path.exists():
            with path.open(newline="", encoding="utf-8") as f:
                out[split] = list(csv.DictReader(f))
    return out


def check_layout(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The audiofolder rules (datasets 5.2, FolderBasedBuilder): splits are the folders named
    train, validation and test; each holds a metadata.csv whose `file_name` column (the first
    here) names an audio file relative to that folder, inside it; every audio file in the
    bundle is named by exactly one metadata row."""
    tables = metadata(folder)
    assert "train" in tables
    named = set()
    for split, rows in tables.items():
        header = (folder / split / "metadata.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",")[0] == "file_name"
        for row in rows:
            name = row["file_name"]
            assert name and not name.startswith(("/", "../")) and "/../" not in name
            assert (folder / split / name).is_file(), name
            named.add(f"{split}/{name}")
    audio = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".wav", ".flac")
    }
    assert audio == named
    return tables


def load_audiofolder(folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`load_dataset("audiofolder", data_dir=folder)`, audio columns undecoded (paths).

    datasets 5's Audio feature imports torch and torchcodec (PyTorch and FFmpeg) before it
    stores a file's path, and does nothing else with them for a path: too heavy for this test
    suite, so that one import guard is bypassed and the path stored as the library would
    store it. Everything else — finding the splits, reading each metadata.csv, resolving
    file_name, building the Arrow tables — is the library's own code."""
    datasets = pytest.importorskip("datasets")
    from datasets.features import Audio

    def encode_path(self: Any, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return {"bytes": None, "path": value}
        raise TypeError(f"only paths are expected here, not {type(value).__name__}")

    monkeypatch.setattr(Audio, "encode_example", encode_path)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    loaded = datasets.load_dataset("audiofolder", data_dir=str(folder), cache_dir=str(cache))
    return datasets.DatasetDict(
        {name: split.cast_column("audio", Audio(decode=False)) for name, split in loaded.items()}
    )
