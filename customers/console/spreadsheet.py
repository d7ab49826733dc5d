"""CSV files the console writes, made safe to open in a spreadsheet (CSV injection).

Every cell is quoted, so a separator inside a value stays inside its cell for
any reader that honours quotes. A cell a spreadsheet would run as a formula gets
a leading `'`; so does every piece of a cell that a spreadsheet set to another
list separator would split off (`x;=cmd|' /C calc'!A0` opened where `;`
separates cells becomes `x` and `=cmd...`): the piece becomes `x;'=cmd...`.
"""

import csv
import re
from typing import Any, Protocol

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Where a cell starts or a spreadsheet in some locale may split one: the cell's start,
# a comma, a semicolon (locales with a decimal comma), a tab or a line break; then
# spaces or quotes it would trim; then a formula's first character.
_FORMULA_PIECE = re.compile(r"(^|[,;\t\r\n])([ \"]*)(?=[=+\-@\t\r])")


def safe_cell(value: Any) -> str:
    """The cell as text that no spreadsheet, in any list-separator locale, runs."""
    text = "" if value is None else str(value)
    return _FORMULA_PIECE.sub(r"\1\2'", text)


class _Writable(Protocol):
    def write(self, line: str, /) -> Any: ...


def writer(out: _Writable) -> Any:
    """A csv.writer quoting every cell; pair it with safe_cell for the values."""
    return csv.writer(out, quoting=csv.QUOTE_ALL)
