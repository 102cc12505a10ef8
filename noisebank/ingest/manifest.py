"""CSV manifests: one row per audio file, its name in a `file` column, metadata in the others.

Columns are the metadata fields of noisebank.ingest.forms (or their aliases, e.g. the export's
`class` and `recording_date`). A manifest with an unknown column or no file column is refused
as a whole (a typo in a header would otherwise drop a field from every row); a row with bad
values only rejects its own file, later, when that file is taken in.
"""

import csv
import io
from dataclasses import dataclass, field

from noisebank.ingest.forms import FIELDS, canonical_field

FILE_COLUMNS = {"file", "filename", "file_name", "audio_file", "path"}
MAX_MANIFEST_BYTES = 5 * 1024 * 1024


class ManifestInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ManifestRow:
    line: int
    file: str
    metadata: dict[str, str] = field(default_factory=dict)


def read_manifest(raw: bytes) -> list[ManifestRow]:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"The manifest is larger than {MAX_MANIFEST_BYTES // 2**20} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ManifestInvalid(
            f"The manifest is not UTF-8 text (byte {e.start}); save it as CSV UTF-8."
        ) from e
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ManifestInvalid("The manifest is empty.") from None
    except csv.Error as e:
        raise ManifestInvalid(f"The manifest is not valid CSV ({e}).") from e
    names = [h.strip() for h in header]
    file_index = next(
        (i for i, n in enumerate(names) if n.lower().replace(" ", "_") in FILE_COLUMNS), None
    )
    if file_index is None:
        raise ManifestInvalid(
            "The manifest has no file column: name one column `file` (the audio file's name)."
        )
    unknown = [
        n for i, n in enumerate(names) if i != file_index and canonical_field(n) not in FIELDS
    ]
    if unknown:
        raise ManifestInvalid(
            f"Unknown manifest column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Known: file, {', '.join(FIELDS)}."
        )
    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                raise ManifestInvalid(f"Line {line} has more values than the header has columns.")
            values = values + [""] * (len(names) - len(values))
            name = values[file_index].strip()
            if not name:
                raise ManifestInvalid(f"Line {line} names no file.")
            if name in seen:
                raise ManifestInvalid(
                    f"Line {line} names {name!r} again (first on line {seen[name]})."
                )
            seen[name] = line
            metadata = {
                canonical_field(n): v.strip()
                for i, (n, v) in enumerate(zip(names, values, strict=True))
                if i != file_index and v.strip()
            }
            rows.append(ManifestRow(line, name, metadata))
    except csv.Error as e:
        where = f"line {reader.line_num}"
        raise ManifestInvalid(f"The manifest is not valid CSV ({where}: {e}).") from e
    if not rows:
        raise ManifestInvalid("The manifest has a header but no rows.")
    return rows
