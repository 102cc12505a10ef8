"""Small HTTP helpers without Django."""

import re
import unicodedata
from urllib.parse import quote


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """RFC 6266: a quoted ASCII `filename`, plus `filename*` in UTF-8 when the name is not ASCII."""
    kind = "attachment" if attachment else "inline"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\]', "_", ascii_name) or "download"
    header = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
