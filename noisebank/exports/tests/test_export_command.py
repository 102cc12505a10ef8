"""`noisebank export`: the same exports from the command line, to a file or stdout."""

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from noisebank.catalog import models as m
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import WRITERS, Row, WriterOptions
from noisebank.testing import database_url, make_awkward_recordings, make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def recs(alice: User) -> list[m.Recording]:
    return [
        make_recording(
            collector=alice,
            category="Warning signals" if i % 2 else "Train pass-by",
            analysis={"laeq": 60.0 + 5 * i},
        )
        for i in range(6)
    ]


def run_export(*args: str) -> str:
    err = io.StringIO()
    call_command("export", *args, stderr=err)
    return err.getvalue()


def test_writes_the_file_and_reports_rows_and_time(tmp_path: Path, recs: list[m.Recording]) -> None:
    out = tmp_path / "horns.csv"
    manifest = tmp_path / "manifest.json"
    report = run_export(
        "--format", "csv", "--filter", "category=Warning signals", "--filter", "laeq_min=66",
        "--columns", "noise_id,laeq", "-o", str(out), "--manifest", str(manifest),
    )  # fmt: skip
    rows = list(csv.DictReader(out.open(newline="")))
    assert [r["noise_id"] for r in rows] == [recs[3].noise_id, recs[5].noise_id]
    assert "Exported 2 rows (csv" in report and " s (" in report
    assert set(tmp_path.iterdir()) == {out, manifest}  # no temporary file left behind
    written = json.loads(manifest.read_text())
    assert written["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert written["row_count"] == 2
    assert written["filters"] == {
        "category": ["Warning signals"],
        "laeq_min": "66",
        "review": ["accepted"],
    }


def test_geojson_holds_one_feature_a_matching_row(tmp_path: Path, recs: list[m.Recording]) -> None:
    m.Recording.objects.filter(pk=recs[3].pk).update(latitude=5.549, longitude=-0.203)
    out = tmp_path / "horns.geojson"
    report = run_export("-f", "geojson", "--filter", "category=Warning signals",
                        "--columns", "noise_id,laeq", "-o", str(out))  # fmt: skip
    features = json.loads(out.read_text())["features"]
    assert [f["properties"] for f in features] == [
        {"noise_id": r.noise_id, "laeq": 60.0 + 5 * i} for i, r in enumerate(recs) if i % 2
    ]
    assert [f["geometry"] for f in features] == [
        None,
        {"type": "Point", "coordinates": [-0.203, 5.549]},
        None,
    ]
    assert "Exported 3 rows (geojson" in report


def test_repeated_filter_keys_match_either(tmp_path: Path, recs: list[m.Recording]) -> None:
    out = tmp_path / "x.csv"
    run_export("-o", str(out), "--columns", "noise_id", "--filter", "category=Warning signals",
               "--filter", "category=Train pass-by")  # fmt: skip
    assert len(out.read_text().splitlines()) == 7


def test_stdout_gets_the_stream(recs: list[m.Recording]) -> None:
    env = {**os.environ, "DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "-m", "noisebank.cli", "export", "--columns", "noise_id,laeq", "--bom"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    lines = result.stdout.decode("utf-8-sig").splitlines()
    assert lines[0] == "noise_id,laeq"
    # Floats are spelt as PostgreSQL spells them: 60, not 60.0 (writers/csv.py).
    assert lines[1:] == [f"{r.noise_id},{r.analysis.laeq:g}" for r in recs]
    assert b"Exported 6 rows" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xls"], "Unknown format: 'xls'"),
        (["--filter", "colour=red"], "Unknown parameter: colour."),
        (["--filter", "laeq_min"], "write it as KEY=VALUE"),
        (["--filter", "laeq_min=900"], "laeq_min=900: must be between -200 and 200 dB"),
        (["--columns", "noise_id,nope"], "Unknown column: nope"),
        (["-o", "/nonexistent/dir/x.csv"], "does not exist"),
    ],
)
def test_bad_arguments_are_clear_errors(
    recs: list[m.Recording], args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_export(*args)


class BinaryWriter:
    """A stand-in binary format (the real ones come with the writer plug-ins)."""

    format = "bin"
    extension = "bin"
    content_type = "application/octet-stream"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        return []

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        yield b"\x00BIN"
        for row in rows:
            yield repr(row).encode()


class FailingWriter(BinaryWriter):
    format = "broken"

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("disk on fire")


def test_binary_output_to_a_terminal_is_refused(monkeypatch: Any, recs: list[m.Recording]) -> None:
    monkeypatch.setitem(WRITERS, "bin", BinaryWriter())
    leader, follower = os.openpty()
    with (
        os.fdopen(follower, "w") as terminal,
        pytest.raises(CommandError, match="binary and stdout is a terminal"),
    ):
        call_command("export", "--format", "bin", stdout=terminal)
    os.close(leader)


def test_a_failed_export_leaves_no_file(
    monkeypatch: Any, tmp_path: Path, recs: list[m.Recording]
) -> None:
    monkeypatch.setitem(WRITERS, "broken", FailingWriter())
    out = tmp_path / "x.broken"
    out_before = tmp_path / "kept.broken"
    out_before.write_text("an earlier export")
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_export("--format", "broken", "-o", str(out))
    with pytest.raises(RuntimeError):
        run_export("--format", "broken", "-o", str(out_before))
    assert list(tmp_path.iterdir()) == [out_before]  # no partial file, no temporary left
    assert out_before.read_text() == "an earlier export"


def test_awkward_rows_survive_the_file_path(tmp_path: Path, alice: User) -> None:
    recs = make_awkward_recordings(collector=alice)
    out = tmp_path / "awkward.csv"
    run_export("-o", str(out), "--columns", "noise_id,name,description")
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[1:] == [[r.noise_id, r.name, r.description] for r in recs]


@pytest.mark.parametrize(
    ("flags", "line", "safe"),
    [
        ([], "=1+1", False),
        (["--bom"], "'=1+1", True),
        (["--bom", "--no-excel-safe"], "=1+1", False),
        (["--excel-safe"], "'=1+1", True),
    ],
)
def test_excel_safe_follows_the_bom_unless_given(
    tmp_path: Path, flags: list[str], line: str, safe: bool
) -> None:
    make_recording(name="=1+1")
    out, manifest = tmp_path / "x.csv", tmp_path / "m.json"
    run_export("--columns", "name", "-o", str(out), "--manifest", str(manifest), *flags)
    assert out.read_text(encoding="utf-8-sig").splitlines() == ["name", line]
    assert json.loads(manifest.read_text())["options"]["excel_safe"] is safe


def test_excel_safe_for_parquet_is_refused() -> None:
    with pytest.raises(CommandError, match="excel_safe is for CSV"):
        run_export("--format", "parquet", "--excel-safe", "-o", "/dev/null")
