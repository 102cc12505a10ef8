"""XLSX writer candidates side by side, on the same generated rows (≈44 realistic columns).

    .venv/bin/python -m bench.xlsx_writers [ROWS …]      default: 23,453 and 1,000,000

Every case pays the same row generation ("rows only" is that floor) and applies the same rules
as the product writer: text escaped for spreadsheets (formula prefix, XML-illegal characters,
length), datetimes in UTC. Files that cannot stream are built in a temporary file and read back
out (that time is counted). "first chunk" is when the first bytes could leave. Each case runs
in its own process; RSS is that process's. A read-back check (openpyxl and python-calamine, 3,000
rows incl. NULLs) runs once per candidate.

fastxlsxio is not a dependency: `pip install fastxlsxio` into .venv to include it.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from bench.harness import print_table, run_case, time_chunks
from bench.rows import COLUMNS, rows
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.xlsx import header_label
from noisebank.exports.engine.writers.xlsx_xlsxwriter import spreadsheet_text

CANDIDATES = {
    "stream": "ours: sheet XML + zipfile, streamed",
    "xlsxwriter": "xlsxwriter constant_memory",
    "rustpy": "rustpy-xlsxwriter write_worksheet",
    "fastxlsxio": "fastxlsxio constant_memory",
}
TEXTS = [i for i, c in enumerate(COLUMNS) if c.type == "text"]
LABELS = [header_label(c) for c in COLUMNS]


def escaped(data: Iterable[Row]) -> Iterator[list[Any]]:
    for row in data:
        values = list(row)
        for i in TEXTS:
            if values[i]:
                values[i] = spreadsheet_text(values[i])
        yield values


def _read_out(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            yield block


def write_rustpy(data: Iterable[Row]) -> Iterator[bytes]:
    import rustpy_xlsxwriter

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.xlsx")
        records = (dict(zip(LABELS, values, strict=True)) for values in escaped(data))
        rustpy_xlsxwriter.write_worksheet(
            records, path, sheet_name="data", bold_headers=True, freeze_row=1,
            datetime_format="yyyy-mm-dd hh:mm:ss",
        )  # fmt: skip
        yield from _read_out(path)


def write_fastxlsxio(data: Iterable[Row]) -> Iterator[bytes]:
    import fastxlsxio

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.xlsx")
        book = fastxlsxio.XIOWWorkbook(path, fastxlsxio.XIOWOptions(constant_memory=True))
        dates = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        sheet = book.add_worksheet("data")
        sheet.write_row(0, 0, LABELS, [book.add_format({"bold": True})] * len(LABELS))
        formats = [dates if c.type == "datetime" else None for c in COLUMNS]
        naive = [i for i, c in enumerate(COLUMNS) if c.type == "datetime"]

        def prepared() -> Iterator[list[Any]]:
            for values in escaped(data):
                for i in naive:
                    if values[i] is not None:
                        values[i] = values[i].replace(tzinfo=None)
                yield values

        it = prepared()
        at = 1
        while chunk := list(islice(it, 1024)):  # it takes sequences only
            sheet.write_rows(at, 0, chunk, formats)
            at += len(chunk)
        book.save()
        yield from _read_out(path)


def stream_for(case: str, data: Iterable[Row], options: WriterOptions) -> Iterator[bytes]:
    from noisebank.exports.engine.writers import ALL_WRITERS

    if case == "stream":
        return ALL_WRITERS["xlsx"].stream(COLUMNS, data, options)
    if case == "xlsxwriter":
        return ALL_WRITERS["xlsx-xlsxwriter"].stream(COLUMNS, data, options)
    if case == "rustpy":
        return write_rustpy(data)
    if case == "fastxlsxio":
        return write_fastxlsxio(data)
    if case == "rows":
        return (b"" for _ in data)
    raise SystemExit(f"unknown case {case}")


def child(count: int, case: str) -> None:
    with open("/dev/null", "wb") as devnull:
        time_chunks(stream_for(case, rows(count), WriterOptions()), devnull.write)


def _same(expected: Any, got: Any) -> bool:
    if expected is None or expected == "":
        return got in (None, "")
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got) and isinstance(got, bool)
    if isinstance(expected, int | float):
        return isinstance(got, int | float) and abs(expected - got) <= 1e-9 * max(1, abs(expected))
    if isinstance(expected, datetime):
        if not isinstance(got, datetime):
            return False
        return abs(expected.replace(tzinfo=None) - got).total_seconds() < 0.001
    return bool(got == spreadsheet_text(expected))


def read_back(case: str) -> str:
    """'ok' when openpyxl and calamine both read 3,000 rows back as written, else the problem."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    expected = list(rows(3_000, seed=7))
    try:
        data = b"".join(stream_for(case, iter(expected), WriterOptions()))
    except Exception as exc:
        return f"write failed: {exc}"[:60]
    problems = []
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    got_openpyxl = list(book.worksheets[0].iter_rows(values_only=True))
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
    got_calamine = calamine.get_sheet_by_index(0).to_python(skip_empty_area=False)
    for reader, got in (("openpyxl", got_openpyxl), ("calamine", got_calamine)):
        if len(got) != len(expected) + 1:
            problems.append(f"{reader}: {len(got) - 1} rows")
            continue
        for r, (want, have) in enumerate(zip(expected, got[1:], strict=True)):
            bad = [
                COLUMNS[i].name
                for i, (w, h) in enumerate(zip(want, have, strict=False))
                if not (
                    _same(w, h)
                    # calamine gives a date for a datetime at midnight
                    or (
                        reader == "calamine" and isinstance(w, datetime) and str(h) == str(w.date())
                    )
                )
            ]
            if bad:
                cell = bad[0]
                i = [c.name for c in COLUMNS].index(cell)
                problems.append(f"{reader} row {r}: {cell} {_short(want[i])} -> {_short(have[i])}")
                break
    return "; ".join(problems) or "ok (openpyxl, calamine)"


def _short(value: Any) -> str:
    return str(value.replace(tzinfo=None)) if isinstance(value, datetime) else repr(value)[:40]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", type=int, default=[23_453, 1_000_000])
    parser.add_argument("--child", default="")
    parser.add_argument("--cases", default=",".join(CANDIDATES))
    args = parser.parse_args()
    if args.child:
        child(args.rows[0], args.child)
        return
    cases = args.cases.split(",")
    try:
        import fastxlsxio  # noqa: F401
    except ImportError:
        cases = [c for c in cases if c != "fastxlsxio"]
        print("fastxlsxio not installed: skipped", file=sys.stderr)
    print("read-back, 3,000 rows:")
    for case in cases:
        print(f"  {CANDIDATES[case]:<40} {read_back(case)}")
    results = []
    for count in args.rows:
        results.append(run_case("rows only", count, "bench.xlsx_writers", "--child", "rows"))
        for case in cases:
            started = time.perf_counter()
            results.append(run_case(CANDIDATES[case], count, "bench.xlsx_writers", "--child", case))
            took = time.perf_counter() - started
            print(f"  {case} {count:,}: {took:.1f} s", file=sys.stderr, flush=True)
    print()
    print_table(results, baseline="rows only")
    print("(ratio = CPU seconds / the CPU seconds of rows only)")


if __name__ == "__main__":
    main()
