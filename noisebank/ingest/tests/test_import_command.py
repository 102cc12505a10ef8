"""noisebank import FOLDER [--manifest FILE.csv] [--collector USERNAME]"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from noisebank.catalog.models import Recording
from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def run_import(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import", *args, stdout=out, stderr=err)
    except SystemExit as e:
        code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_import_with_a_manifest_takes_its_metadata_and_reports_each_bad_row(
    charlie: User, tmp_path: Path
) -> None:
    make_recording()  # taxonomy: Train pass-by > Freight train, Greater Accra > Tema
    folder = tmp_path / "field"
    (folder / "day1").mkdir(parents=True)
    write_audio(folder / "day1" / "pass.wav", seed=1)
    write_audio(folder / "horn.flac", format="FLAC", seed=2)
    (folder / "notes.wav").write_text("not audio\n" * 40)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "file,name,class,community,recording_date\n"
        "day1/pass.wav,Freight at Tema,freight train,tema,2026-03-01 07:30\n"
        "horn.flac,Horn,,,\n"
        "notes.wav,Notes,,,\n"
        "../outside.wav,Escape,,,\n"
        "missing.wav,Gone,,,\n",
        encoding="utf-8",
    )
    code, out, err = run_import(str(folder), "--manifest", str(manifest), "--collector", "charlie")
    assert code == 1
    assert "Imported 2 file(s); 0 already in the catalogue; 3 rejected." in out
    assert "notes.wav (line 4): The file contains text, not audio" in err
    assert "../outside.wav (line 5): The manifest names a file outside the folder." in err
    assert "missing.wav (line 6): No such file in the folder." in err
    rec = Recording.objects.get(name="Freight at Tema")
    assert rec.collector == charlie and rec.status == "pending"
    assert rec.category.name == "Train pass-by" and rec.region.name == "Greater Accra"
    assert rec.recorded_at.isoformat() == "2026-03-01T07:30:00+00:00"
    assert rec.original_filename == "pass.wav"
    assert (folder / "day1" / "pass.wav").exists()  # the collector's folder stays as it was

    # Running it again adds nothing: the imported files are duplicates, not errors.
    manifest.write_text("file\nday1/pass.wav\nhorn.flac\n")
    code, out, _ = run_import(str(folder), "--manifest", str(manifest))
    assert code == 0 and "Imported 0 file(s); 2 already in the catalogue; 0 rejected." in out


def test_import_without_a_manifest_takes_the_audio_files_of_the_folder(tmp_path: Path) -> None:
    write_audio(tmp_path / "a.wav", seed=1)
    (tmp_path / "sub").mkdir()
    write_audio(tmp_path / "sub" / "b.ogg", format="OGG", subtype="VORBIS", seed=2)
    (tmp_path / "readme.txt").write_text("ignored: not an audio file name")
    (tmp_path / ".hidden.wav").write_bytes(b"")
    code, out, _ = run_import(str(tmp_path))
    assert code == 0 and "Imported 2 file(s)" in out
    assert set(Recording.objects.values_list("original_filename", flat=True)) == {"a.wav", "b.ogg"}
    assert Recording.objects.filter(collector__isnull=True).count() == 2


def test_import_refuses_a_bad_manifest_or_collector_as_a_whole(
    tmp_path: Path, nobody: User
) -> None:
    write_audio(tmp_path / "a.wav")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,colour\na.wav,red\n")
    with pytest.raises(CommandError, match="Unknown manifest column: colour"):
        call_command("import", str(tmp_path), "--manifest", str(manifest))
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("import", str(tmp_path), "--collector", "ghost")
    with pytest.raises(CommandError, match="cannot upload"):
        call_command("import", str(tmp_path), "--collector", "nobody")
    assert not Recording.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_noisebank_import_command_runs_as_a_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOISEBANK_", "DATABASE"))}
    env["NOISEBANK_DATA_DIR"] = str(data)
    noisebank = [sys.executable, "-m", "noisebank.cli"]
    subprocess.run([*noisebank, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    (tmp_path / "in").mkdir()
    write_audio(tmp_path / "in" / "a.wav")
    done = subprocess.run(
        [*noisebank, "import", str(tmp_path / "in")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Imported 1 file(s)" in done.stdout
    assert len(list((data / "media" / "audio").rglob("*.wav"))) == 1
