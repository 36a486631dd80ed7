"""User-uploaded scaling data (the app's refit page): a CSV in our column names → ``Point``s.

Columns (header names in any case; at least one of the three scale columns, and ``value``):

- ``n_params``: model size, parameters (> 0)
- ``n_tokens``: training tokens (> 0)
- ``compute_flops``: training compute, FLOP (> 0)
- ``value``: the measured metric (finite; > 0 for log-space fits of a loss)
- optional: ``metric`` (default ``loss``), ``unit`` (default ``unknown``), ``run_key``,
  ``step`` (a whole number). Any other column is kept in ``extras``.

Cells may be separated by commas, semicolons or tabs (read off the header row); with semicolons
a decimal comma (``3,42``, as spreadsheets in many locales write) is read as a decimal point.

Rows of only empty cells are skipped; rows are numbered as the file's lines (header = row 1).
Bad input raises ``BadInputError`` naming the file, the row and column: a cell that is no
number, a row of too many or too few cells, a quote never closed, a column named twice, a
file that is no UTF-8 text (named for what it is: UTF-16, a spreadsheet, an image).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO

from kb.csvtext import header_delimiter
from kb.errors import BadInputError
from kb.records import Point, stable_id
from kb.textfile import not_text

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_ROWS",
    "SCALE_COLUMNS",
    "parse_upload",
    "read_upload",
    "template_csv",
]

MAX_UPLOAD_BYTES = 5_000_000
MAX_UPLOAD_ROWS = 50_000
SCALE_COLUMNS = ("n_params", "n_tokens", "compute_flops")
_KNOWN = (*SCALE_COLUMNS, "value", "metric", "unit", "run_key", "step")
_THOUSANDS = re.compile(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d*)?")


def template_csv() -> str:
    """A small example file in the expected layout (invented numbers, Chinchilla-like shape)."""
    rows = [
        "n_params,n_tokens,compute_flops,value,metric,unit,run_key",
        "7.0e7,1.4e9,5.88e17,3.42,val_loss,nats/token,run-70M",
        "1.6e8,3.2e9,3.07e18,3.11,val_loss,nats/token,run-160M",
        "4.0e8,8.0e9,1.92e19,2.86,val_loss,nats/token,run-400M",
        "1.0e9,2.0e10,1.2e20,2.65,val_loss,nats/token,run-1B",
    ]
    return "\n".join(rows) + "\n"


def _number(
    raw: str, row: int, column: str, *, positive: bool, name: str, decimal_comma: bool = False
) -> float | None:
    text = raw.strip()
    if text == "":
        return None
    where = f"{name}: row {row}, column {column!r}"
    try:
        value = float(text.replace(",", ".") if decimal_comma and "." not in text else text)
    except ValueError:
        if _THOUSANDS.fullmatch(text):
            raise BadInputError(
                f"{where}: {text!r} is not a number: write it without thousands separators "
                f"({text.replace(',', '').replace(' ', '')} or in scientific notation)"
            ) from None
        raise BadInputError(
            f"{where}: {text!r} is not a number "
            "(write plain numbers such as 7e10; units go in the column name, not the cell)"
        ) from None
    if not math.isfinite(value):
        raise BadInputError(f"{where}: {text!r} is not a finite number")
    if positive and value <= 0:
        raise BadInputError(f"{where}: {value:g} must be > 0")
    return value


def _column(raw: str) -> str:
    """A header cell: our column names whatever their case (``Value``, ``N_Params``), any
    other name as written (it goes to ``extras``)."""
    name = raw.strip()
    return name.lower() if name.lower() in _KNOWN else name


def _breaks(cell: object) -> int:
    """Line breaks inside a cell (a quoted newline), ``\r\n`` counted once."""
    if isinstance(cell, list):  # the cells beyond the header's width
        return sum(_breaks(c) for c in cell)
    text = cell if isinstance(cell, str) else ""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _rows(
    reader: csv.DictReader[str], name: str, width: int
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, cells) of every data row, numbered as the file's lines (header = row 1;
    a row with a quoted newline is numbered by its first line). A row of only empty cells (a
    spreadsheet's trailing ``,,,``) is skipped; a row of too many or too few cells is a
    ``BadInputError`` naming the row, and saying so when a quote was never closed (the
    row ran to the end of the file; it was reported as an empty 'value')."""
    while True:
        before = reader.line_num  # the previous row's last line
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise BadInputError(f"{name}: row {reader.line_num}: bad CSV: {err}") from None
        row_no = max(before + 1, reader.line_num - sum(_breaks(v) for v in row.values()))
        extra = row.get(None) or []  # DictReader's restkey
        cells = sum(k is not None and v is not None for k, v in row.items()) + len(extra)
        if cells != width and reader.line_num > row_no:
            raise BadInputError(
                f'{name}: row {row_no}: a quote (") opened in this row is never closed (the '
                f"row runs to row {reader.line_num}); expected one row per line"
            )
        if cells > width:
            raise BadInputError(
                f"{name}: row {row_no} has more cells than the header ({cells} vs {width}): an "
                "unquoted comma, or a thousands separator (write 70000000 or 7e7, not "
                "70,000,000)?"
            )
        if cells < width:
            raise BadInputError(
                f"{name}: row {row_no} has {cells} cells, the header {width}; expected one "
                "cell per column (leave a cell empty, not out)"
            )
        if not any((v or "").strip() for v in row.values()):
            continue
        yield row_no, row


def _too_large(name: str, size: int | None) -> BadInputError:
    limit = f"the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit"
    if size is None:  # a stream read no further than the limit
        return BadInputError(f"{name}: more than {MAX_UPLOAD_BYTES / 1e6:.0f} MB, over {limit}")
    return BadInputError(f"{name}: {size / 1e6:.1f} MB is over {limit}")


def read_upload(stream: BinaryIO, name: str) -> bytes:
    """An upload's bytes from ``stream`` (a file, stdin) for ``parse_upload``; a file over
    ``MAX_UPLOAD_BYTES`` is refused after reading one byte more than the limit, not all of it.

    Raises:
        BadInputError: over the limit (with the file's size when ``stream`` is a regular file).
    """
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) <= MAX_UPLOAD_BYTES:
        return bytes(data)
    size: int | None = None
    try:
        info = os.fstat(stream.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError, io.UnsupportedOperation):  # no file behind it (a test's bytes)
        pass
    raise _too_large(name, size)


def parse_upload(data: bytes, *, name: str = "upload.csv", dataset: str = "upload") -> list[Point]:
    """Validate an uploaded CSV and return its rows as points of dataset ``dataset``.

    Raises:
        BadInputError: too large, not UTF-8 text, missing columns, or a bad cell (row, column).
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(name, len(data))
    found = not_text(data[:64])
    if found is not None:  # a spreadsheet, an image, a UTF-16 export: say which
        raise BadInputError(f"{name}: {found[0]}, not UTF-8 text; save it as UTF-8 CSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise BadInputError(
            f"{name}: row {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
            f"{err.start}); save it as UTF-8 CSV"
        ) from None
    delimiter = header_delimiter(text, ("value",))
    # newline="": csv splits rows itself, at \r (old Mac files) too, which raised csv.Error.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    comma = delimiter == ";"
    try:
        fieldnames = reader.fieldnames
    except csv.Error as err:
        raise BadInputError(f"{name}: row 1: bad CSV header: {err}") from None
    header = [_column(h) for h in (fieldnames or [])]
    if not header:
        raise BadInputError(
            f"{name}: empty file; expected a header row, e.g. {template_csv().splitlines()[0]}"
        )
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:  # DictReader kept the last of them without a word
        raise BadInputError(
            f"{name}: row 1: column(s) {', '.join(twice)} named more than once (our column "
            "names are case-insensitive); expected each column once"
        )
    reader.fieldnames = header
    if "value" not in header:
        raise BadInputError(
            f"{name}: no 'value' column; columns found: {', '.join(header)}; expected the "
            "measured metric (a loss, an error rate) in a column named 'value', the scales in "
            f"{', '.join(SCALE_COLUMNS)} (the template names them)"
        )
    if not set(SCALE_COLUMNS) & set(header):
        raise BadInputError(
            f"{name}: needs at least one of {', '.join(SCALE_COLUMNS)}; columns found: "
            f"{', '.join(header)}"
        )
    points: list[Point] = []
    rows = _rows(reader, name, len(header))
    for row_no, row in rows:
        if len(points) >= MAX_UPLOAD_ROWS:
            raise BadInputError(f"{name}: more than {MAX_UPLOAD_ROWS} rows; upload a sample")
        value = _number(
            row["value"] or "", row_no, "value", positive=False, name=name, decimal_comma=comma
        )
        if value is None:
            raise BadInputError(
                f"{name}: row {row_no}, column 'value': empty; every row needs a value"
            )
        scales = {
            c: _number(row.get(c) or "", row_no, c, positive=True, name=name, decimal_comma=comma)
            for c in SCALE_COLUMNS
        }
        step = _number(row.get("step") or "", row_no, "step", positive=False, name=name)
        if step is not None and step != int(step):
            raise BadInputError(
                f"{name}: row {row_no}, column 'step': {step:g} is not a whole number"
            )
        points.append(
            Point(
                point_id=stable_id(dataset, name, str(row_no)),
                dataset=dataset,
                run_key=(row.get("run_key") or "").strip() or None,
                n_params=scales["n_params"],
                n_params_kind="unknown" if scales["n_params"] is not None else None,
                n_tokens=scales["n_tokens"],
                compute_flops=scales["compute_flops"],
                compute_method="as uploaded" if scales["compute_flops"] is not None else None,
                metric=(row.get("metric") or "").strip() or "loss",
                value=value,
                unit=(row.get("unit") or "").strip() or "unknown",
                step=None if step is None else int(step),
                source_file=name,
                source_row=row_no,
                extras={k: v for k, v in row.items() if k not in _KNOWN and v not in (None, "")},
            )
        )
    if not points:
        raise BadInputError(f"{name}: a header but no data rows")
    return points
