"""CSV that a spreadsheet cannot turn into a formula.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by Excel and LibreOffice; a leading ``'`` keeps it
text. Numbers stay numbers (a change of -5 is written as -5), so only strings
are touched. Every CSV the project writes goes through :func:`write_csv`.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = ";"
# Types the csv module already writes correctly: "" for None, str() of a
# number, ISO text of a date (a datetime is not in the set: cell() writes it
# with a "T").
_AS_IS = frozenset({int, float, type(None), date})


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _text(value: str) -> str:
    """Neutralised text whose carriage returns are line feeds.

    The csv module (with our ``\n`` line ends) leaves a bare CR unquoted and a
    spreadsheet starts a new row there, so "x\r=1+1" would put a live formula
    at the start of the next row; a line feed is quoted and stays in its cell.
    """
    if value.startswith(FORMULA_STARTS):  # neutralise() without its type check: hot path
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def cell(value: Any) -> Any:
    """One value as a CSV cell: empty for None, true/false, ISO dates, lists
    joined with ';', text neutralised, numbers as they are."""
    # Exact type checks first: this runs for every cell of a clinic-wide export.
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is int or kind is float:
        return value
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        # Only the start of the whole cell matters to a spreadsheet.
        return _text(LIST_SEPARATOR.join(
            "" if v is None else v.isoformat() if isinstance(v, (date, datetime)) else str(v)
            for v in value))
    if isinstance(value, (int, float)):
        return value
    return _text(str(value))


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str],
              columns: Sequence[str] | None = None) -> None:
    """Rows as CSV with a header; columns default to the first row's keys.

    With no rows and no columns nothing at all is written.
    """
    rows = list(rows)
    if columns is None:
        if not rows:
            return
        columns = list(rows[0].keys())
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_text(str(c)) for c in columns])
    if len(columns) == 1:
        writer.writerows([cell(row.get(columns[0]))] for row in rows)
        return
    pick = itemgetter(*columns)
    for row in rows:
        try:
            values = pick(row)
        except KeyError:  # a row without some column: an empty cell
            values = [row.get(c) for c in columns]
        # The csv module already writes None as empty, numbers and dates as
        # we want them; only the other types go through cell().
        writer.writerow([v if type(v) in _AS_IS else cell(v) for v in values])
