"""Stream the rows of one CSV file, checking encoding, header and shape.

The file is read line by line from a binary stream, so memory stays flat
whatever its size; every problem is reported into a shared ``Problems`` with
the file's name and the line where the record starts.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .fields import MAX_FIELD_CHARS
from .problems import Problems

_BOM = b"\xef\xbb\xbf"
# A physical line longer than this is not a clinic export; reading on would
# only fill memory. Generous: 8 columns of 10,000 four-byte characters fit.
MAX_LINE_BYTES = 1 << 20
# The same for one record spread over many lines by quoted line breaks: the
# csv module holds a record's values until its end, so a record of millions of
# short quoted values would fill memory one small line at a time.
MAX_RECORD_BYTES = 1 << 20
# No file has more than 7 columns; a record or header with more values than
# this is not a clinic export, however short its lines.
MAX_FIELDS = 64


@dataclass(frozen=True)
class FileSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


class _Stop(Exception):
    """Reading this file cannot go on; the problem is already recorded."""


class CsvFile:
    """Iterate ``(line, row)`` pairs; ``row`` maps every column of the spec to
    its stripped text ("" when the column is absent or empty).

    ``failed`` turns True when the file as a whole is unusable (encoding,
    header, binary data, broken quoting): its rows cannot be trusted, so
    references to them are not reported again as missing.
    """

    def __init__(self, spec: FileSpec, stream: BinaryIO, problems: Problems) -> None:
        self.spec = spec
        self.stream = stream
        self.problems = problems
        self.failed = False
        self.rows_done = 0
        self._lines_read = 0
        self._record_start = 1
        self._record_bytes = 0

    def _problem(self, line: int, column: str, message: str) -> None:
        self.problems.add(self.spec.name, line, column, message)

    def _fail(self, line: int, column: str, message: str) -> _Stop:
        self.failed = True
        self._problem(line, column, message)
        return _Stop()

    def _lines(self) -> Iterator[str]:
        while True:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self._lines_read += 1
            line = self._lines_read
            if line == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if len(raw) > MAX_LINE_BYTES:
                raise self._fail(line, "file", "this line is longer than 1 MB; the file does "
                                 "not look like a clinic export")
            self._record_bytes += len(raw)
            if self._record_bytes > MAX_RECORD_BYTES:
                raise self._fail(self._record_start, "file", "this record runs over more than "
                                 "1 MB of lines (is a closing quote missing?); the file does not "
                                 "look like a clinic export")
            if b"\x00" in raw:
                raise self._fail(line, "file", "contains binary data (a NUL byte); this does "
                                 "not look like a CSV text file")
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self._fail(
                    line, "file",
                    f"is not UTF-8 text (byte 0x{raw[exc.start]:02X} cannot be read); "
                    "save the file as 'CSV UTF-8' and try again") from None

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader = csv.reader(self._lines(), strict=True)
        try:
            yield from self._rows(reader)
        except _Stop:
            return
        except csv.Error as exc:
            line = self._lines_read
            if "field larger than field limit" in str(exc):
                self._fail(line, "file", f"a value is far longer than {MAX_FIELD_CHARS:,} "
                           "characters (is a closing quote missing?)")
            elif "unexpected end of data" in str(exc):
                self._fail(line, "file", 'a quoted value is never closed (a closing " is missing '
                           "before the end of the file)")
            else:
                self._fail(line, "file", 'a quote character is out of place; put quotes around '
                           'the whole value and double any quote inside it ("")')

    def _rows(self, reader) -> Iterator[tuple[int, dict[str, str]]]:
        header = next(reader, None)
        if header is None:
            raise self._fail(1, "file", "the file is empty; it needs at least the header row")
        if len(header) > MAX_FIELDS:
            raise self._fail(1, "header", f"has {len(header):,} columns; this file has at most "
                             f"{len(self.spec.columns)} (a file holds at most {MAX_FIELDS})")
        columns = self._check_header([h.strip() for h in header])
        width = len(columns)
        absent = {c: "" for c in self.spec.columns if c not in columns}
        while True:
            start = self._record_start = self._lines_read + 1
            self._record_bytes = 0
            record = next(reader, None)
            if record is None:
                return
            if len(record) > MAX_FIELDS:
                raise self._fail(start, "row", f"has {len(record):,} values; a row of this file "
                                 f"has {width} (the file does not look like a clinic export)")
            if not "".join(record).strip():
                continue  # blank lines and rows of bare commas carry nothing
            if len(record) != width:
                self._problem(start, "row", f"has {len(record)} values but the header has {width} "
                              "columns (a comma too many or too few?)")
                continue
            if max(map(len, record)) > MAX_FIELD_CHARS:
                for name, value in zip(columns, record):
                    if len(value) > MAX_FIELD_CHARS:
                        self._problem(start, name, f"is {len(value):,} characters long; at most "
                                      f"{MAX_FIELD_CHARS:,} are allowed")
                continue
            row = dict(zip(columns, map(str.strip, record)))
            if absent:
                row.update(absent)
            self.rows_done += 1
            yield start, row

    def _check_header(self, header: list[str]) -> list[str]:
        bad = False
        known = self.spec.columns
        columns = [h.lower() for h in header]
        seen: set[str] = set()
        for name, shown in zip(columns, header):
            if not name:
                self._problem(1, "header", "a column has no name; every column needs one of: "
                              + ", ".join(known))
                bad = True
            elif name not in known:
                self._problem(1, shown, "unknown column; the columns of this file are: "
                              + ", ".join(known))
                bad = True
            elif name in seen:
                self._problem(1, shown, "this column appears twice in the header")
                bad = True
            seen.add(name)
        for name in self.spec.required:
            if name not in seen:
                self._problem(1, name, "required column is missing from the header")
                bad = True
        if bad:
            self.failed = True
            raise _Stop()
        return columns
