"""Figures to extrapolate Noisebank to 100 million recordings from (docs/scaling.md).

    .venv/bin/python -m bench.scale_probe [--count 1000000] [--keep]

Seeds a PostgreSQL database of its own (noisebank_scale_probe on the local server, or
--database-url) with N demo recordings, then measures what grows with the catalogue:
  - bytes on disk per recording (tables and indexes),
  - count(*) over the catalogue, which the list page runs for its total,
  - a catalogue page by keyset (first page, and one from the middle),
  - COPY of a 4-table join of the exported columns to /dev/null, whole and split into two
    id ranges read side by side in one exported snapshot (the partitioned export's shape, on
    this 2-core machine),
  - one Parquet part of 100,000 rows (zstd) from that COPY, parsed by pyarrow batch by batch,
  - pg_dump's custom format of the whole database (what `noisebank backup` runs).
The database is dropped at the end unless --keep.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/noisebank_scale_probe"

# The original's export columns that live in the 4 central tables: the heart of any export.
EXPORT_JOIN = """
SELECT r.noise_id, r.name, r.description, r.recorded_at, r.created_at, r.updated_at,
       c.name AS category, sc.name AS class, reg.name AS region, r.audio, r.size_bytes,
       f.duration_s, f.sample_rate, f.num_samples, f.rms_energy, f.zero_crossing_rate,
       f.spectral_centroid, f.spectral_bandwidth, f.spectral_rolloff, f.spectral_flatness,
       f.harmonic_ratio, f.percussive_ratio, a.mean_db, a.max_db, a.min_db, a.std_db,
       a.peak_count, a.peak_interval_mean_s, a.dominant_frequency_hz, a.freq_low_hz,
       a.freq_high_hz, a.event_count, a.laeq, a.lafmax, a.la10, a.la50, a.la90
FROM catalog_recording r
LEFT JOIN catalog_category c ON c.id = r.category_id
LEFT JOIN catalog_soundclass sc ON sc.id = r.sound_class_id
LEFT JOIN catalog_region reg ON reg.id = r.region_id
LEFT JOIN catalog_audiofeatures f ON f.recording_id = r.id
LEFT JOIN catalog_noiseanalysis a ON a.recording_id = r.id
WHERE r.id BETWEEN {low} AND {high}
ORDER BY r.id
"""


def timed(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    """Median seconds of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def copy_range(url: str, low: int, high: int, snapshot: str | None = None) -> int:
    """CSV bytes of the export join over ids low..high, in a snapshot of its own or `snapshot`
    (exported by a coordinating transaction: every part then sees the same data)."""
    import psycopg

    sql = f"COPY ({EXPORT_JOIN.format(low=low, high=high)}) TO STDOUT (FORMAT csv, HEADER)"
    written = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot:
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        with cur.copy(sql) as copy:
            for block in copy:
                written += len(block)
    return written


def parquet_part(url: str, low: int, rows: int) -> tuple[float, int]:
    """Seconds and bytes to write `rows` rows from `low` on as one zstd Parquet part."""
    import io

    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sql = (
        f"COPY ({EXPORT_JOIN.format(low=low, high=low + rows - 1)}) TO STDOUT (FORMAT csv, HEADER)"
    )
    out = io.BytesIO()
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(sql) as copy:
        csv_bytes = b"".join(bytes(block) for block in copy)
    reader = pacsv.open_csv(
        io.BytesIO(csv_bytes), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    with pq.ParquetWriter(out, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    return time.perf_counter() - started, len(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()

    import psycopg

    url, name = args.database_url, args.database_url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from noisebank.catalog import demo
    from noisebank.catalog.models import Recording
    from noisebank.catalog.pagination import keyset_page

    call_command("migrate", verbosity=0)
    have = Recording.objects.count()
    if have < args.count:
        print(f"seeding {args.count - have:,} recordings …", file=sys.stderr, flush=True)
        demo.ensure_demo_users("scale-probe")
        t = time.perf_counter()
        demo.seed_recordings(args.count - have)
        print(f"  seeded in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "WHERE c.relname IN ('catalog_recording', 'catalog_audiofeatures', "
            "'catalog_noiseanalysis')"
        )
        table_bytes = int(cursor.fetchone()[0])
        cursor.execute("SELECT min(id), max(id), count(*) FROM catalog_recording")
        low, high, n = cursor.fetchone()

    def count_all() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM catalog_recording")
            return int(cursor.fetchone()[0])

    count_s, _ = timed(count_all)
    first_s, first = timed(
        lambda: keyset_page(
            Recording.objects.for_list(), field="recorded_at", descending=True, cursor=None, size=50
        )
    )
    middle = Recording.objects.order_by("-recorded_at", "-id")[n // 2]
    from noisebank.catalog.pagination import encode_cursor

    deep_s, _ = timed(
        lambda: keyset_page(
            Recording.objects.for_list(),
            field="recorded_at",
            descending=True,
            cursor=encode_cursor(middle.recorded_at, middle.pk),
            size=50,
        )
    )
    copy_s, csv_bytes = timed(lambda: copy_range(url, low, high), repeat=2)
    half = (low + high) // 2

    def two_parts() -> int:
        coordinator = psycopg.connect(url)
        coordinator.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        (snapshot,) = coordinator.execute("SELECT pg_export_snapshot()").fetchall()[0]
        with coordinator, ThreadPoolExecutor(2) as pool:
            parts = [
                pool.submit(copy_range, url, low, half, snapshot),
                pool.submit(copy_range, url, half + 1, high, snapshot),
            ]
            return sum(p.result() for p in parts)

    parts_s, _ = timed(two_parts, repeat=2)
    part_rows = min(100_000, n)
    parquet_s, parquet_bytes = min(parquet_part(url, low, part_rows) for _ in range(2))
    dump = f"/tmp/{name}.dump"
    t = time.perf_counter()
    subprocess.run(["pg_dump", "--format=custom", "--file", dump, url], check=True)
    dump_s, dump_bytes = time.perf_counter() - t, os.path.getsize(dump)
    os.remove(dump)
    connection.close()
    if not args.keep:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    print(f"PostgreSQL, {n:,} recordings (first page had {len(first.items)} rows)")
    print(f"{'measure':<46} {'value':>14}")
    rows = [
        ("disk per recording (3 tables + indexes)", f"{table_bytes / n:,.0f} B"),
        ("count(*) of the catalogue", f"{count_s * 1000:,.0f} ms"),
        ("catalogue page, first (keyset)", f"{first_s * 1000:,.1f} ms"),
        ("catalogue page, middle (keyset)", f"{deep_s * 1000:,.1f} ms"),
        ("COPY export join, CSV bytes per row", f"{csv_bytes / n:,.0f} B"),
        ("COPY export join, one stream", f"{n / copy_s:,.0f} rows/s"),
        ("  … throughput", f"{csv_bytes / copy_s / 1e6:,.0f} MB/s"),
        ("COPY export join, 2 id ranges, 1 snapshot", f"{n / parts_s:,.0f} rows/s"),
        ("Parquet part (zstd) from COPY, 100k rows", f"{part_rows / parquet_s:,.0f} rows/s"),
        ("  … bytes per row", f"{parquet_bytes / part_rows:,.0f} B"),
        ("pg_dump custom format", f"{dump_s:,.1f} s"),
        ("  … size per recording", f"{dump_bytes / n:,.0f} B"),
    ]
    for label, value in rows:
        print(f"{label:<46} {value:>14}")


if __name__ == "__main__":
    main()
