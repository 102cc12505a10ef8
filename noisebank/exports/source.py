"""Rows of an export, read in one consistent snapshot on a connection of the export's own.

    with open_snapshot() as snap:
        query = ExportQuery(Recording.objects.matching(f), columns)
        total = snap.count(query)          # the count of exactly the rows that follow
        for row in snap.rows(query): ...   # typed tuples, streamed
        for chunk, n in snap.copy_csv(query): ...   # PostgreSQL: CSV bytes straight from COPY
        for chunk, n in snap.sqlite_csv(query): ... # SQLite: CSV bytes formatted by Arrow

PostgreSQL: a REPEATABLE READ, READ ONLY transaction; rows through COPY (binary for typed rows,
CSV for CSV files), which streams without a round trip per batch. SQLite: one deferred read
transaction, which in WAL mode neither waits for nor blocks writers (Django's atomic() would take
the write lock, as settings ask for IMMEDIATE). Either way rows committed or deleted by others
while the export runs are not seen: the export is the data as of the snapshot. The connection is
not Django's per-thread one, so the stream may be read by another thread than the one that
opened it, and closing it never disturbs the request's own.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from types import TracebackType
from typing import Any

from django.db import connections
from django.db.models import Count, QuerySet
from django.db.utils import load_backend

from noisebank.exports.columns import ExportColumn
from noisebank.exports.engine.writers import GroupCount, Row, WriterOptions
from noisebank.exports.engine.writers.csv import CsvWriter
from noisebank.exports.engine.writers.csv_arrow import ArrowCsv

FETCH_ROWS = 5_000
COPY_CHUNK_BYTES = 256 * 1024


class ExportQuery:
    """A queryset (the selection) and columns, compiled to one SQL query with joins, id order."""

    def __init__(self, queryset: QuerySet[Any], columns: Sequence[ExportColumn]) -> None:
        self.columns = list(columns)
        self.aliases = [f"c{i}" for i in range(len(self.columns))]
        self.selection = queryset.order_by()
        values = self.selection.annotate(
            **{a: c.expression for a, c in zip(self.aliases, self.columns, strict=True)}
        ).order_by("id")
        self.queryset = values.values_list(*self.aliases)
        # COPY selects the id too, so the outer query can order by it without a second sort.
        self.with_id = values.values_list("id", *self.aliases)

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        sql, params = self.queryset.query.sql_with_params()
        return sql, tuple(params)

    def count_sql(self) -> tuple[str, tuple[Any, ...]]:
        sql, params = self.selection.values("id").query.sql_with_params()
        return f"SELECT count(*) FROM ({sql}) AS selection", tuple(params)  # noqa: S608

    def copy_sql(
        self, *, binary: bool = False, excel_safe: bool = False
    ) -> tuple[str, tuple[Any, ...]]:
        """PostgreSQL COPY of the rows: CSV text exactly as the Python CSV writer would write
        it (with the same options), or binary values of the SQL types in PG_TYPES."""
        inner, params = self.with_id.query.sql_with_params()
        fields = ", ".join(
            f"t.{a}::{PG_TYPES[c.column.type]}"
            if binary
            else pg_csv_text(f"t.{a}", c.column.type, excel_safe=excel_safe)
            for a, c in zip(self.aliases, self.columns, strict=True)
        )
        form = "binary" if binary else "csv"
        sql = f"COPY (SELECT {fields} FROM ({inner}) AS t ORDER BY t.id) TO STDOUT (FORMAT {form})"  # noqa: S608
        return sql, tuple(params)


# One SQL type for each column type, so binary COPY rows load as the Python types promised.
PG_TYPES = {
    "text": "text",
    "integer": "int8",
    "float": "float8",
    "boolean": "bool",
    "datetime": "timestamptz",
}


# engine/text.py's FORMULA_START, as SQL: = + - @ tab CR.
_PG_FORMULA_START = "('=', '+', '-', '@', E'\\t', E'\\r')"


def pg_csv_text(ref: str, type_: str, *, excel_safe: bool = False) -> str:
    """SQL giving a value the text the CSV writer gives it (engine/writers/csv.py).

    That writer follows COPY's own CSV, so most types need nothing: NULL is an empty field and
    '' is "" (as COPY writes them), integers and booleans (true/false) as PostgreSQL spells
    them. Timestamps become ISO 8601 in UTC with a Z, with microseconds only when there are
    some. Floats below 1e15 are PostgreSQL's shortest text already; larger ones need
    _pg_large_float_text.
    """
    if type_ == "text" and excel_safe:
        return f"CASE WHEN left({ref}, 1) IN {_PG_FORMULA_START} THEN '''' || {ref} ELSE {ref} END"
    if type_ in ("text", "integer"):
        return ref
    if type_ == "boolean":
        return f"({ref})::text"
    if type_ == "datetime":
        # to_char is slow (three of them were about a third of what the default columns' COPY
        # expressions cost over plain columns): whole seconds, the common case, are the ISO
        # text with a T and a Z.
        return (
            f"CASE WHEN {ref} = date_trunc('second', {ref}) AND isfinite({ref}) "
            f"THEN replace(({ref} AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z' "
            f"ELSE to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
        )
    if type_ == "float":
        return (
            f"CASE WHEN abs({ref}) < 1e15 OR {ref} IN ('NaN', 'Infinity', '-Infinity') "
            f"THEN ({ref})::text ELSE {_pg_large_float_text(ref)} END"
        )
    raise ValueError(f"no CSV text for column type {type_!r}")


def _pg_large_float_text(ref: str) -> str:
    """The CSV writer's text of a float of magnitude 1e15 or more: its shortest digits (Python's
    repr) in PostgreSQL's layout, d.ddde+XX (rare: only this path pays for it).

    PostgreSQL itself prints some of these with more digits than needed (5.7510267926340224e+16
    where the shortest is 5.751026792634022e+16), so take the fewest digits (15, 16, else 17)
    that read back as the same double.
    """
    digits = "rtrim(replace(trim_scale(abs(c))::text, '.', ''), '0')"
    power = "length(trunc(abs(c))::text) - 1"
    scientific = (
        f"CASE WHEN c < 0 THEN '-' ELSE '' END || left({digits}, 1) "
        f"|| CASE WHEN length({digits}) > 1 THEN '.' || substr({digits}, 2) ELSE '' END "
        f"|| 'e+' || CASE WHEN {power} < 10 THEN '0' ELSE '' END || ({power})::text"
    )
    return (
        f"(SELECT {scientific} FROM ("  # noqa: S608
        f"SELECT CASE WHEN round(e, 14 - p)::float8 = {ref} THEN round(e, 14 - p) "
        f"WHEN round(e, 15 - p)::float8 = {ref} THEN round(e, 15 - p) ELSE e END AS c FROM ("
        f"SELECT e, floor(log(abs(e)))::int AS p FROM (SELECT ({ref})::text::numeric AS e) AS v"
        f") AS w) AS x)"
    )


class Snapshot:
    """One read-only transaction on a dedicated connection; close() ends both."""

    def __init__(self, alias: str = "default") -> None:
        settings = connections.settings[alias]
        if settings["ENGINE"].endswith("sqlite3"):
            # Raw text for timestamps: the driver's converters parse them in Python, 3 times slower
            # than datetime.fromisoformat on the text (_sqlite_datetimes).
            settings = {**settings, "OPTIONS": {**settings["OPTIONS"], "detect_types": 0}}
        self.wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias)
        # Opened in the request's thread, read in a streaming thread, closed by either.
        self.wrapper.inc_thread_sharing()
        self.vendor = self.wrapper.vendor
        self.closed = False
        try:
            self.wrapper.ensure_connection()
            self.taken_at = self._begin()
        except BaseException:
            self.close()
            raise

    def _begin(self) -> datetime:
        raw = self.wrapper.connection
        if self.vendor == "postgresql":
            from psycopg import IsolationLevel

            raw.autocommit = False
            raw.isolation_level = IsolationLevel.REPEATABLE_READ
            raw.read_only = True
            with raw.cursor() as cur:
                # One round trip (no parameters: the simple protocol takes several statements).
                # COPY's float and time texts depend on the first three: pin them. JIT compiles
                # the wide export query for seconds (6.6 s of 12.7 s at 1M rows, measured) and
                # buys nothing on a plan that is mostly joins and text output. enable_sort off
                # streams: a plan that sorts the whole selection (hash joins, then a sort by id
                # spilling to disk) sends its first row after seconds (7 s at 1M rows) and keeps
                # working after a client has gone; the id-ordered merge joins start at once.
                cur.execute(
                    "SET LOCAL extra_float_digits = 1; SET LOCAL TimeZone = 'UTC'; "
                    "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL jit = off; "
                    "SET LOCAL enable_sort = off"
                )
                # The first query takes the snapshot: its time is the export's "as of".
                cur.execute("SELECT statement_timestamp()")
                row = cur.fetchone()
            return row[0].astimezone(UTC)
        if self.vendor == "sqlite":
            raw.execute("PRAGMA query_only = 1")
            raw.execute("BEGIN DEFERRED")
            taken_at = datetime.now(UTC)
            # In WAL mode the read snapshot starts at the first read, so read now.
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return taken_at
        raise NotImplementedError(f"exports do not support the {self.vendor} database")

    def count(self, query: ExportQuery) -> int:
        sql, params = query.count_sql()
        with self.wrapper.cursor() as cur:
            cur.execute(sql, params)
            return int(cur.fetchone()[0])

    def group_counts(
        self,
        selection: QuerySet[Any],
        groups: Sequence[ExportColumn],
        label: ExportColumn | None,
    ) -> tuple[GroupCount, ...]:
        """(group values, label, rows) for each distinct combination in the selection, in this
        snapshot: one GROUP BY, so as many results as combinations, not rows."""
        names = [f"g{i}" for i in range(len(groups))]
        exprs = {n: c.expression for n, c in zip(names, groups, strict=True)}
        if label is not None:
            exprs["label"] = label.expression
        grouped = selection.order_by().annotate(**exprs).values(*exprs)
        sql, params = (
            grouped.annotate(n=Count("id")).values_list(*exprs, "n").query.sql_with_params()
        )
        with self.wrapper.cursor() as cur:
            cur.execute(sql, params)
            found = cur.fetchall()
        width = len(names)
        return tuple(
            (tuple(r[:width]), r[width] if label is not None else None, int(r[-1])) for r in found
        )

    def rows(self, query: ExportQuery, *, fetch: int = FETCH_ROWS) -> Iterator[Row]:
        """Typed row tuples (see engine.columns.ColumnType).

        PostgreSQL: binary COPY, 2.6 times faster than a named cursor's FETCHes at 1M rows
        (15.9 s against 41 s text, 24.6 s binary). SQLite: `fetch` rows at a time.
        """
        if self.vendor == "postgresql":
            yield from self._copy_rows(query)
            return
        sql, params = query.sql()
        cur = self.wrapper.cursor()
        datetimes = [i for i, c in enumerate(query.columns) if c.column.type == "datetime"]
        booleans = [i for i, c in enumerate(query.columns) if c.column.type == "boolean"]
        try:
            cur.execute(sql, params)
            while batch := cur.fetchmany(fetch):
                if datetimes:
                    batch = [_sqlite_datetimes(r, datetimes) for r in batch]
                if booleans:
                    batch = [_sqlite_booleans(r, booleans) for r in batch]
                yield from batch
        finally:
            if not self.closed:
                cur.close()

    def _copy_rows(self, query: ExportQuery) -> Iterator[Row]:
        sql, params = query.copy_sql(binary=True)
        with self.wrapper.connection.cursor() as cur, cur.copy(sql, params) as copy:
            copy.set_types([PG_TYPES[c.column.type] for c in query.columns])
            yield from copy.rows()

    def copy_csv(
        self, query: ExportQuery, *, excel_safe: bool = False
    ) -> Iterator[tuple[bytes, int]]:
        """PostgreSQL only: (CSV bytes without the header, rows in them) straight from COPY."""
        if self.vendor != "postgresql":
            raise NotImplementedError("COPY needs PostgreSQL")
        sql, params = query.copy_sql(excel_safe=excel_safe)
        buffer = bytearray()
        rows = 0
        with self.wrapper.connection.cursor() as cur, cur.copy(sql, params) as copy:
            # The server sends one message per row, ending in "\n" (the protocol promises
            # it); a newline inside a quoted value is never the last byte, so only the row ends
            # become the CRLF that Python's csv module writes.
            for row in copy:
                buffer += row[:-1]
                buffer += b"\r\n"
                rows += 1
                if len(buffer) >= COPY_CHUNK_BYTES:
                    yield bytes(buffer), rows
                    buffer.clear()
                    rows = 0
        if buffer:
            yield bytes(buffer), rows

    def sqlite_csv(
        self, query: ExportQuery, *, fetch: int = FETCH_ROWS
    ) -> Iterator[tuple[bytes, int]]:
        """SQLite only: (CSV bytes without the header, rows in them), the CSV writer's bytes
        formatted a column at a time by Arrow (engine/writers/csv_arrow.py); a batch holding a
        value that path leaves alone goes through the Python writer instead."""
        if self.vendor != "sqlite":
            raise NotImplementedError("this path reads SQLite's stored text")
        columns = [c.column for c in query.columns]
        arrow = ArrowCsv(columns)
        datetimes = [i for i, c in enumerate(columns) if c.type == "datetime"]
        sql, params = query.sql()
        cur = self.wrapper.cursor()
        try:
            cur.execute(sql, params)
            while batch := cur.fetchmany(fetch):
                body = arrow.body(batch)
                if body is None:
                    typed = [_sqlite_datetimes(r, datetimes) for r in batch]
                    lines = CsvWriter().stream(columns, typed, WriterOptions())
                    body = b"".join(islice(lines, 1, None))  # all but the header
                yield body, len(batch)
        finally:
            if not self.closed:
                cur.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.wrapper.close()
        finally:
            self.wrapper.dec_thread_sharing()

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_snapshot(alias: str = "default") -> Snapshot:
    return Snapshot(alias)


def _sqlite_booleans(row: Row, positions: list[int]) -> Row:
    """SQLite holds booleans as 0 and 1."""
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = bool(values[i])
    return tuple(values)


def _sqlite_datetimes(row: Row, positions: list[int]) -> Row:
    """SQLite holds naive UTC times as text."""
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = datetime.fromisoformat(values[i]).replace(tzinfo=UTC)
    return tuple(values)
