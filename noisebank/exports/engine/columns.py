from dataclasses import dataclass
from typing import Literal

# What a row tuple holds in a column of that type (None is always allowed: a missing value):
#   text -> str, integer -> int, float -> float, boolean -> bool,
#   datetime -> an aware datetime in UTC.
ColumnType = Literal["text", "integer", "float", "boolean", "datetime"]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: ColumnType
    unit: str = ""
    description: str = ""
