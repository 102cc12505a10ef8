import io
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.data import (
    COLUMNS,
    FIXED_TIME,
    NASTY_ROWS,
    as_xlsx,
    check_golden,
    read_xlsx,
    zip_dump,
)
from noisebank.exports.engine.writers import ALL_WRITERS, Row, WriterOptions, xlsx

GOLDEN_ROWS = [r for r in NASTY_ROWS if r[0] != 0]
BOTH = ["xlsx", "xlsx-xlsxwriter"]


def write(rows: list[Row], name: str = "xlsx", **options: object) -> bytes:
    opts = WriterOptions(timestamp=FIXED_TIME, **options)
    return b"".join(ALL_WRITERS[name].stream(COLUMNS, iter(rows), opts))


def test_xlsx_matches_its_golden_file_part_by_part() -> None:
    check_golden("nasty.xlsx.txt", zip_dump(write(GOLDEN_ROWS)))


def test_same_rows_and_time_give_the_same_bytes() -> None:
    assert write(GOLDEN_ROWS) == write(GOLDEN_ROWS)


@pytest.mark.parametrize("name", BOTH)
def test_header_is_bold_frozen_and_says_utc_for_datetimes(name: str) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(write(GOLDEN_ROWS, name))).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == [
        "id",
        "note",
        "level",
        "ok",
        "recorded_at (UTC)",
        "place",
    ]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet["E3"].is_date and sheet["E3"].number_format == "yyyy-mm-dd hh:mm:ss"


@pytest.mark.parametrize("name", BOTH)
def test_formula_like_text_comes_back_exactly_as_text_and_numbers_as_numbers(name: str) -> None:
    data = write(GOLDEN_ROWS, name)
    rows = read_xlsx(data)
    by_id = {r[0]: r for r in rows}
    assert by_id[6][1] == "=SUM(A1)" and by_id[6][5] == "+233"
    assert by_id[7][1] == "-3 dB" and by_id[7][5] == "@x"
    # xlsxwriter writes a CR as OOXML's _x000D_, which Excel decodes and openpyxl does not.
    cr = "\rleading CR" if name == "xlsx" else "_x000D_leading CR"
    assert by_id[8][1] == "\tleading tab" and by_id[8][5] == cr
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert all(c.data_type == "s" for c in sheet["B"][1:] if c.value is not None)  # no formula
    assert by_id[3][2] == -3.5
    assert by_id[-9_007_199_254_740_991][0] == -9_007_199_254_740_991


@pytest.mark.parametrize("name", BOTH)
def test_xml_illegal_characters_are_replaced_and_long_text_cut_to_excels_limit(name: str) -> None:
    rows = read_xlsx(write([(1, "bell\x07\x00char\ufffe", 1.0, True, None, "x" * 40_000)], name))
    assert rows[0][1] == "bell\ufffd\ufffdchar\ufffd"
    assert rows[0][5] == "x" * 32_767


@pytest.mark.parametrize("name", BOTH)
@pytest.mark.parametrize(("count", "sizes"), [(10, [4, 4, 2]), (8, [4, 4]), (3, [3]), (0, [0])])
def test_a_new_sheet_starts_every_sheet_rows_rows(name: str, count: int, sizes: list[int]) -> None:
    rows = [(n, f"row {n}", n / 2, n % 2 == 0, None, None) for n in range(count)]
    book = openpyxl.load_workbook(io.BytesIO(write(rows, name, sheet_rows=4)))
    assert book.sheetnames == ["data", "data 2", "data 3"][: len(sizes)]
    assert [s.max_row - 1 for s in book.worksheets] == sizes
    assert read_xlsx(write(rows, name, sheet_rows=4)) == rows


def test_a_new_sheet_starts_before_a_sheets_xml_would_need_zip64(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx, "MEMBER_LIMIT", 450_000)  # stands for 2 GiB
    rows = [(n, f"{n:05d}" + "x" * 100, n / 2, True, None, None) for n in range(5_000)]
    data = write(rows)
    archive = zipfile.ZipFile(io.BytesIO(data))
    sheets = [i for i in archive.infolist() if i.filename.startswith("xl/worksheets/")]
    assert len(sheets) > 2
    assert all(i.file_size <= 450_000 for i in sheets)
    assert not any(i.extra for i in archive.infolist())  # no Zip64 extra fields
    assert read_xlsx(data) == rows


def test_repeated_text_is_shared_up_to_a_bound_and_inline_beyond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx.SharedStrings, "MAX_STRINGS", 5)
    rows = [(n, f" place {n % 20}", None, None, None, "<same>") for n in range(100)]
    data = write(rows)
    archive = zipfile.ZipFile(io.BytesIO(data))
    shared = archive.read("xl/sharedStrings.xml").decode()
    assert shared.count("<si>") == 5 and '<t xml:space="preserve"> place 4</t>' in shared
    assert "<t>&lt;same&gt;</t>" in archive.read("xl/worksheets/sheet1.xml").decode()
    assert read_xlsx(data) == rows


def test_calamine_reads_the_same_values() -> None:
    book = CalamineWorkbook.from_filelike(io.BytesIO(write(NASTY_ROWS)))
    got = book.get_sheet_by_index(0).to_python(skip_empty_area=False)[1:]
    for row, want in zip(got, as_xlsx(NASTY_ROWS), strict=True):
        for value, expected in zip(row, want, strict=True):
            if isinstance(expected, datetime) and expected.time() == datetime.min.time():
                assert value == expected.date()  # calamine gives a date at midnight
            elif isinstance(expected, datetime):
                assert isinstance(value, datetime) and value.replace(tzinfo=UTC) == expected
            elif expected is None:
                assert value == ""  # calamine reads empty cells as ""
            elif isinstance(expected, str) and expected.startswith("\r"):
                assert value == expected[1:]  # calamine drops a leading CR (openpyxl keeps it)
            else:
                assert value == expected


def test_datetimes_keep_milliseconds() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    rows = read_xlsx(write([(1, None, None, None, when, None)]))
    assert rows[0][4] == when


def test_text_with_edge_spaces_and_line_breaks_survives() -> None:
    texts = ["  both  ", "\nlead", "trail\r\n", "a\r\nb\rc", "<&>", "_x000D_ literal"]
    rows = [(n, t, None, None, None, None) for n, t in enumerate(texts)]
    assert [r[1] for r in read_xlsx(write(rows))] == [*texts[:5], "_x000D_ literal"]


def test_column_of_unique_text_is_written_right_after_the_cache_gives_up() -> None:
    rows = [(n, f"unique {n} <{n}>", None, None, None, "same") for n in range(2_500)]
    assert read_xlsx(write(rows)) == rows


def test_a_single_column_workbook() -> None:
    data = b"".join(
        ALL_WRITERS["xlsx"].stream([Column("n", "n", "integer")], [(1,), (None,)], WriterOptions())
    )
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None and sheet["A2"].value == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((1, None, Decimal("1.5"), None, None, None), "column level \\(float\\) holds a Decimal"),
        ((True, None, None, None, None, None), "column id \\(integer\\) holds a bool"),
        (
            (1, None, None, None, "2026-01-01", None),
            "column recorded_at \\(datetime\\) holds a str",
        ),
    ],
)
def test_values_that_would_break_a_cell_are_refused_with_the_column_named(
    row: Row, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        write([row])


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)",
)
def test_libreoffice_reads_the_streamed_workbook_as_it_reads_xlsxwriters(tmp_path: Path) -> None:
    """A third reader, as strict as Excel about the package: every sheet converted to CSV by
    LibreOffice must match what it makes of the xlsxwriter fallback's workbook."""
    for name in BOTH:
        (tmp_path / f"{name}.xlsx").write_bytes(write(GOLDEN_ROWS, name, sheet_rows=8))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path),
            *(str(tmp_path / f"{name}.xlsx") for name in BOTH),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for sheet in ("data", "data 2"):
        ours = (tmp_path / f"xlsx-{sheet}.csv").read_text()
        assert ours == (tmp_path / f"xlsx-xlsxwriter-{sheet}.csv").read_text()
        assert ours.startswith("id,note,level,ok,recorded_at (UTC),place\n")
    assert "\n6,=SUM(A1)," in (tmp_path / "xlsx-data.csv").read_text()
