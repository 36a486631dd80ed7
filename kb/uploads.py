"""User-uploaded scaling data (the app's refit page): a CSV in our column names → ``Point``s.

Columns (header names exactly; at least one of the three scale columns, and ``value``):

- ``n_params``: model size, parameters (> 0)
- ``n_tokens``: training tokens (> 0)
- ``compute_flops``: training compute, FLOP (> 0)
- ``value``: the measured metric (finite; > 0 for log-space fits of a loss)
- optional: ``metric`` (default ``loss``), ``unit`` (default ``unknown``), ``run_key``,
  ``step`` (a whole number). Any other column is kept in ``extras``.

Cells may be separated by commas, semicolons or tabs (read off the header row); with semicolons
a decimal comma (``3,42``, as spreadsheets in many locales write) is read as a decimal point.

Bad input raises ``BadInputError`` naming the file, the row (1-based, header = row 1) and column.
"""

from __future__ import annotations

import csv
import io
import logging
import math

from kb.csvtext import header_delimiter
from kb.errors import BadInputError
from kb.records import Point, stable_id

logger = logging.getLogger(__name__)

__all__ = ["MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS", "SCALE_COLUMNS", "parse_upload", "template_csv"]

MAX_UPLOAD_BYTES = 5_000_000
MAX_UPLOAD_ROWS = 50_000
SCALE_COLUMNS = ("n_params", "n_tokens", "compute_flops")
_KNOWN = (*SCALE_COLUMNS, "value", "metric", "unit", "run_key", "step")


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
        raise BadInputError(
            f"{where}: {text!r} is not a number "
            "(write plain numbers such as 7e10; units go in the column name, not the cell)"
        ) from None
    if not math.isfinite(value):
        raise BadInputError(f"{where}: {text!r} is not a finite number")
    if positive and value <= 0:
        raise BadInputError(f"{where}: {value:g} must be > 0")
    return value


def parse_upload(data: bytes, *, name: str = "upload.csv", dataset: str = "upload") -> list[Point]:
    """Validate an uploaded CSV and return its rows as points of dataset ``dataset``.

    Raises:
        BadInputError: too large, not UTF-8 text, missing columns, or a bad cell (row, column).
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInputError(
            f"{name}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInputError(
            f"{name}: not UTF-8 text (byte {err.start}); save it as UTF-8 CSV"
        ) from None
    delimiter = header_delimiter(text, ("value",))
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    comma = delimiter == ";"
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise BadInputError(
            f"{name}: empty file; expected a header row, e.g. {template_csv().splitlines()[0]}"
        )
    reader.fieldnames = header
    if "value" not in header:
        raise BadInputError(f"{name}: no 'value' column; columns found: {', '.join(header)}")
    if not set(SCALE_COLUMNS) & set(header):
        raise BadInputError(
            f"{name}: needs at least one of {', '.join(SCALE_COLUMNS)}; columns found: "
            f"{', '.join(header)}"
        )
    points: list[Point] = []
    for row_no, row in enumerate(reader, start=2):
        if None in row:
            raise BadInputError(f"{name}: row {row_no} has more cells than the header")
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
