"""Speed and memory of every registered writer, fed generated rows (no database).

    .venv/bin/python -m bench.writers [ROWS …] [--formats csv,xlsx,…]

Each case runs in its own process and streams the writer's chunks to /dev/null. "rows only"
is the cost of generating the rows, the floor every writer sits on; "csv, plain csv.writer" is
the first CSV writer's way (no NULL/empty distinction, Python's own float/bool text); "jsonl,
json module" is JSON Lines with the standard library instead of orjson. The ZIP bundle and the
xlsxwriter fallback are left out by default (bench/xlsx_writers.py compares XLSX writers).
"""

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice

from bench.harness import print_table, run_case, time_chunks
from bench.rows import COLUMNS, rows


def _plain_csv(data: Iterable[tuple[object, ...]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow([c.name for c in COLUMNS])
    positions = [i for i, c in enumerate(COLUMNS) if c.type == "datetime"]
    it = iter(data)
    while chunk := list(islice(it, 2000)):
        for row in chunk:
            values = list(row)
            for i in positions:
                values[i] = values[i].isoformat()  # type: ignore[attr-defined]
            out.writerow(values)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


def _stdlib_jsonl(data: Iterable[tuple[object, ...]]) -> Iterator[bytes]:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    names = [c.name for c in COLUMNS]
    positions = [i for i, c in enumerate(COLUMNS) if c.type == "datetime"]
    it = iter(data)
    while chunk := list(islice(it, 2000)):
        lines = []
        for row in chunk:
            values = list(row)
            for i in positions:
                if values[i] is not None:
                    values[i] = values[i].isoformat()[:-6] + "Z"  # type: ignore[attr-defined]
            lines.append(encode(dict(zip(names, values, strict=True))))
        yield ("\n".join(lines) + "\n").encode()


def child(count: int, case: str) -> None:
    from noisebank.exports.engine.writers import ALL_WRITERS, WriterOptions

    data = rows(count)
    with open("/dev/null", "wb") as devnull:
        if case == "rows":
            time_chunks((b"" for _ in data), devnull.write)
        elif case == "plain-csv":
            time_chunks(_plain_csv(data), devnull.write)
        elif case == "stdlib-jsonl":
            time_chunks(_stdlib_jsonl(data), devnull.write)
        else:
            writer = ALL_WRITERS[case]
            time_chunks(writer.stream(COLUMNS, data, WriterOptions()), devnull.write)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", type=int, default=[23_453, 1_000_000])
    parser.add_argument("--formats", default="")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        child(args.rows[0], args.child)
        return
    formats = args.formats.split(",") if args.formats else ["csv", "xlsx", "parquet", "jsonl"]
    cases = [("rows only", "rows"), ("csv, plain csv.writer", "plain-csv")]
    cases += [(name, name) for name in formats]
    cases.append(("jsonl, json module", "stdlib-jsonl"))
    results = []
    for count in args.rows:
        for label, case in cases:
            results.append(run_case(label, count, "bench.writers", "--child", case))
            print(f"  {label} {count:,} done", file=sys.stderr, flush=True)
    print_table(results, baseline="rows only")


if __name__ == "__main__":
    main()
