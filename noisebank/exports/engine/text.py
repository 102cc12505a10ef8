"""What a spreadsheet would take for a formula, and the one way an export may alter that text.

Exports give back text exactly as stored. The one exception is asked for by name: CSV's
`excel_safe` option (OWASP "CSV injection"), for files to be opened in Excel, puts a single quote
before text that starts with one of FORMULA_START, so Excel and LibreOffice show it as text
instead of running it. It alters the values (a reader gets the quote too), so it is never a
default on its own and the manifest records it. Numbers are not text: a negative number stays
a number. XLSX needs no such thing: a string cell is never evaluated as a formula.
"""

FORMULA_START = frozenset("=+-@\t\r")


def excel_safe(value: str | None) -> str | None:
    if value and value[0] in FORMULA_START:
        return "'" + value
    return value
