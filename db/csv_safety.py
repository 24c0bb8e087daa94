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
from itertools import repeat
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
    if len(columns) == 1:
        name = columns[0]
        table = [(row.get(name),) for row in rows]
    else:
        pick = itemgetter(*columns)
        try:
            table = list(map(pick, rows))
        except KeyError:  # a row without some column: an empty cell
            table = [tuple(map(row.get, columns)) for row in rows]
    write_csv_rows(table, out, columns)


def write_csv_rows(rows: Iterable[Sequence[Any]], out: IO[str], columns: Sequence[str]) -> None:
    """As :func:`write_csv`, each row given as its values in ``columns`` order."""
    rows = list(rows)
    if rows and set(map(len, rows)) != {len(columns)}:
        raise ValueError(f"every row needs {len(columns)} values")
    # (Not zip(*rows) to turn them into columns: that makes one iterator per
    # row for the garbage collector to watch.)
    write_csv_columns([list(map(itemgetter(i), rows)) for i in range(len(columns))], out,
                      columns)


def write_csv_columns(data: Sequence[Sequence[Any]], out: IO[str],
                      columns: Sequence[str]) -> None:
    """As :func:`write_csv_rows`, the values given column by column: ``data[i]``
    holds column i's value of every row, rows in order."""
    if len(data) != len(columns) or len(set(map(len, data))) > 1:
        raise ValueError("give one list of values per column, all of the same length")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_text(str(c)) for c in columns])
    if not data or not data[0]:
        return
    # Column by column: one look at a column's types picks the cheapest way
    # that gives every cell exactly what cell() and the csv writer give it.
    fields = [_column_fields(values) for values in data] if len(columns) > 1 else [None]
    if None in fields:
        writer.writerows(zip(*[_cells(values) for values in data]))
    else:
        out.write("\n".join(map(",".join, zip(*fields))))
        out.write("\n")


# Columns of one of these types (and None) are written through a table of their
# distinct values when there are few: most columns of a clinic-wide report
# (dates, counts, statuses, flags) hold a few hundred values over many rows.
# Not float or bool, whose values can be equal across types (1 == 1.0 == True).
_TABLED = frozenset({str, int, date, tuple})
_FEW_DISTINCT = 4  # at most one distinct value in this many rows


def _column_fields(values: Sequence[Any]) -> list[str] | None:
    """The csv writer's text for each cell of one column (see :func:`_fields`)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) == 1 and kinds <= _TABLED:
        try:
            distinct = set(values)
        except TypeError:  # a tuple holding a list
            distinct = None
        if distinct is not None and len(distinct) * _FEW_DISTINCT <= len(values):
            table = {v: _field_text(cell(v)) for v in distinct}
            return list(map(table.__getitem__, values))
    return _fields(_cells(values))


def _field_text(value: Any) -> str:
    """What the csv writer writes for one cell() value (QUOTE_MINIMAL, ",", '"')."""
    # cell() leaves numbers, whose str() is what the writer writes, and text
    # without a CR (whose quoting differs between Python versions).
    text = str(value)
    if any(q in text for q in _QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text


# What cell() does to a list or tuple of text: _text() of the joined items.
_TEXT_LISTS = frozenset({list, tuple})


def _cells(values: Sequence[Any]) -> Sequence[Any]:
    """``cell(v)`` for every value of one column, or the column itself when
    the csv module already writes each of them as cell() would."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    if kinds == {str}:
        return values if _inert(values) else [_text(v) for v in values]
    if kinds <= _TEXT_LISTS and all(type(item) is str for v in values for item in v):
        return _cells([LIST_SEPARATOR.join(v) for v in values])
    return [v if type(v) in _AS_IS else cell(v) for v in values]


def _inert(texts: Sequence[str]) -> bool:
    """True when _text() would leave every one of ``texts`` as it is."""
    # map() over C methods and one search of the joined column: a test per
    # cell in Python took longer than writing the file.
    return (not any(map(str.startswith, texts, repeat(FORMULA_STARTS)))
            and "\r" not in "".join(texts))


# What the csv writer (QUOTE_MINIMAL, "," and '"', "\n" line ends) quotes.
_QUOTED = (",", '"', "\n")


def _fields(values: Sequence[Any]) -> list[str] | None:
    """The csv writer's text for each cell of one column, or None when this
    column is not one of the plain cases below (the csv writer then writes
    the whole file).

    Writing a clinic-wide report through the csv writer took as long as
    reading its rows from the database; joining ready-made fields does not.
    Only for tables of two or more columns (the writer quotes an empty field
    when it is a row's only one) and for text without a CR (whose quoting
    depends on the Python version; _text() leaves none).
    """
    kinds = set(map(type, values))
    if kinds == {str}:
        joined = "".join(values)
        if "\r" in joined:
            return None
        if not any(q in joined for q in _QUOTED):
            return values if isinstance(values, list) else list(values)
        return ['"' + v.replace('"', '""') + '"' if "," in v or '"' in v or "\n" in v else v
                for v in values]
    if kinds == {int}:
        return list(map(str, values))
    if kinds == {date}:
        return list(map(date.isoformat, values))
    if kinds <= {date, type(None)} or kinds <= {int, type(None)}:
        return ["" if v is None else str(v) for v in values]
    return None
