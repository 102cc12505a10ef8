"""ZIP bundles against dataset bundles (dataset=1) of the same recordings, side by side.

    .venv/bin/python -m bench.dataset_bundle [--files 100 --seconds 10] [--long-minutes 20]

Two sets of real audio (48 kHz stereo 16-bit WAV, noise + tone, made once into
var/bench-audio): FILES recordings of SECONDS each, and one recording of LONG-MINUTES (its
peak RSS shows whether a long file is held whole). Cases, each in a fresh process, writing the
bundle to /dev/null through the engine (no database: the rows are made here):

- zip: the plain bundle (metadata.csv + audio copied as is);
- dataset: audiofolder layout, grouped split, audio copied as is;
- dataset 16k mono: resampled to 16 kHz, mixed down, FLAC;
- dataset 16k mono 5 s: the same cut into 5 s WAV segments.

"rows" is recordings; "ratio" is CPU seconds against the plain zip's.
"""

import argparse
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile

from bench.harness import ROOT, print_table, run_case, time_chunks
from noisebank.exports.engine.audio import AudioSpec
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import DatasetOptions, Row, WriterOptions
from noisebank.exports.engine.writers.bundle import ZipBundleWriter

AUDIO_DIR = ROOT / "var" / "bench-audio"
RATE = 48_000
COLUMNS = [
    Column("noise_id", "Noise ID", "text"),
    Column("class", "Class", "text"),
    Column("community", "Community", "text"),
    Column("laeq", "LAeq", "float", "dB"),
]
CLASSES = ("Horn", "Bell", "Brake squeal", "Pass-by")
CASES = {
    "zip": ("zip", None),
    "dataset": ("dataset", AudioSpec()),
    "16k": ("dataset 16k mono", AudioSpec(sample_rate=16_000, mono=True)),
    "16k5s": (
        "dataset 16k mono 5 s",
        AudioSpec(sample_rate=16_000, mono=True, segment_seconds=5, audio_format="wav"),
    ),
}


def make_audio(folder: Path, files: int, seconds: float) -> list[Path]:
    """WAV files of noise and a tone, written a second at a time (made once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for n in range(files):
        path = folder / f"{n:05d}.wav"
        paths.append(path)
        if path.exists():
            continue
        with soundfile.SoundFile(path, "w", samplerate=RATE, channels=2, subtype="PCM_16") as out:
            left = int(seconds * RATE)
            while left > 0:
                frames = min(left, RATE)
                t = np.arange(frames) / RATE
                tone = 0.2 * np.sin(2 * np.pi * (300 + n) * t)
                out.write(np.stack([tone, tone], 1) + rng.normal(0, 0.05, (frames, 2)))
                left -= frames
    return paths


def rows_of(paths: list[Path]) -> Iterator[Row]:
    for n, path in enumerate(paths):
        yield (f"NSE-{n:05d}", CLASSES[n % 4], f"Site {n % 25}", 60.0 + n % 30, str(path))


def child(count: int, case: str, folder: str) -> None:
    paths = sorted(Path(folder).glob("*.wav"))[:count]
    _, spec = CASES[case]
    options = WriterOptions(
        folder_template="{class}/{noise_id}.{ext}",
        audio_path=lambda row: row[-1],
        bundle_extra_columns=(Column("_audio", "Audio", "text"),),
    )
    if spec is not None:
        counts: dict[tuple[str, str], int] = {}
        for row in rows_of(paths):
            counts[(row[2], row[1])] = counts.get((row[2], row[1]), 0) + 1
        group_counts = tuple(((site,), label, n) for (site, label), n in counts.items())
        dataset = DatasetOptions(group_counts=group_counts, audio=spec)
        options = replace(options, dataset=dataset)
    with open("/dev/null", "wb") as devnull:
        time_chunks(ZipBundleWriter().stream(COLUMNS, rows_of(paths), options), devnull.write)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", type=int)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--long-minutes", type=float, default=20)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", default="")
    parser.add_argument("--folder", default="")
    args = parser.parse_args()
    if args.child:
        child(args.rows[0], args.child, args.folder)
        return
    short = AUDIO_DIR / f"{args.files}x{args.seconds:g}s"
    long = AUDIO_DIR / f"1x{args.long_minutes:g}min"
    print("making audio (once) …", file=sys.stderr, flush=True)
    sets = [
        (short, len(make_audio(short, args.files, args.seconds))),
        (long, len(make_audio(long, 1, args.long_minutes * 60))),
    ]
    for folder, count in sets:
        size = sum(p.stat().st_size for p in folder.glob("*.wav")) / 1e6
        print(f"\n{folder.name}: {count} files, {size:.0f} MB of 48 kHz stereo WAV")
        results = [
            run_case(
                CASES[case][0],
                count,
                "bench.dataset_bundle",
                "--child",
                case,
                "--folder",
                str(folder),
            )
            for case in args.cases.split(",")
        ]
        print_table(results, baseline="zip")
    print("(rows = recordings; ratio = CPU seconds / the plain zip's of the same audio)")


if __name__ == "__main__":
    main()
