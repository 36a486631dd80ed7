"""Building blocks of the dataset adapters: tables, checked numbers and the common point schema.

An adapter reads the files of one folder of ``../shared/datasets`` into :class:`Frame` objects:
the columns of :class:`kb.records.Point` (minus ``point_id`` and ``dataset``, which the writer
adds) held as numpy arrays, so that hundreds of thousands of points are built without one
pydantic object each. Every check raises :class:`kb.errors.BadInputError` naming the file, the
1-based data row (the header is not counted; the file line is the row plus one) and the column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from kb.errors import BadInputError

FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]  # strings or None, one per point

# What n_params counts. 'total' includes embeddings; 'non_embedding' as in Kaplan et al.;
# 'non_embedding_plus_head' adds the output layer (Porian et al.'s 'standard');
# 'effective' is a FLOP-equivalent count (Porian et al.'s 'attention').
PARAM_KINDS = ("total", "non_embedding", "non_embedding_plus_head", "effective", "unknown")

_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBtT]?)\s*$")
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def where(file: str, row: int, column: str, header_lines: int = 1) -> str:
    """The location prefix of every error: file, data row, file line and column."""
    return f"{file}: row {row} (line {row + header_lines}), column '{column}'"


class Table:
    """One CSV file of a dataset folder, read with pyarrow, with checked column access.

    Args:
        folder: the dataset folder.
        name: the file's path relative to ``folder`` (how errors name it).
        required: columns that must be present; a missing one raises ``BadInputError``.
    """

    def __init__(self, folder: Path, name: str, required: Sequence[str] = ()):
        self.name = f"{folder.name}/{name}"
        path = folder / name
        if not path.is_file():
            raise BadInputError(f"{self.name}: file not found; the adapter expects it in {folder}")
        try:
            self.data: Any = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24),
                convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
            )
        except pa.ArrowInvalid as err:
            raise BadInputError(f"{self.name}: not a readable CSV file: {err}") from err
        self.columns: list[str] = list(self.data.column_names)
        self.n_rows: int = int(self.data.num_rows)
        self.require(required)

    def require(self, columns: Sequence[str]) -> None:
        """Raise ``BadInputError`` naming the first of ``columns`` that the file lacks."""
        for col in columns:
            if col not in self.columns:
                raise BadInputError(
                    f"{self.name}: row 0 (line 1, the header), column '{col}': missing; "
                    f"expected the columns {', '.join(repr(c) for c in columns)}"
                )

    def num(self, column: str) -> FloatArray:
        """The column as float64 (NaN where empty); text that is not a number raises."""
        self.require([column])
        col = self.data.column(column)
        if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            return np.asarray(
                col.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), float
            )
        if pa.types.is_null(col.type):
            return np.full(self.n_rows, np.nan)
        if pa.types.is_boolean(col.type):
            return np.asarray(
                col.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), float
            )
        return self._parse(column, col.to_pylist(), _plain_number)

    def count(self, column: str) -> FloatArray:
        """A count written with an optional k/M/B/T suffix ('2.8B', '125m', '64B') as a float."""
        self.require([column])
        col = self.data.column(column)
        if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            return self.num(column)
        return self._parse(column, col.to_pylist(), parse_count)

    def text(self, column: str) -> list[str | None]:
        """The column as strings (None where empty)."""
        self.require([column])
        return [None if v is None else str(v) for v in self.data.column(column).to_pylist()]

    def records(self, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Rows as dicts of the given columns, NaN and empty cells as None (for extras)."""
        cols = {c: self.data.column(c).to_pylist() for c in columns if c in self.columns}
        out: list[dict[str, Any]] = [{} for _ in range(self.n_rows)]
        for name, values in cols.items():
            for rec, v in zip(out, values, strict=True):
                rec[name] = None if isinstance(v, float) and not math.isfinite(v) else v
        return out

    def _parse(
        self, column: str, values: list[Any], parse: Callable[[str], float | None]
    ) -> FloatArray:
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            parsed = parse(str(v))
            if parsed is None:
                raise BadInputError(
                    f"{where(self.name, i + 1, column)}: cannot read {v!r} as a number"
                    " (expected digits with an optional k/M/B/T suffix, e.g. '2.8B')"
                )
            out[i] = parsed
        return out


def _plain_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_count(text: str) -> float | None:
    """'2.8B' -> 2.8e9, '125m' -> 1.25e8, '64B' -> 6.4e10, '7' -> 7.0; None if not a count."""
    match = _COUNT.match(text)
    if not match:
        return None
    return float(match.group(1)) * _SCALE[match.group(2).lower()]


@dataclass(frozen=True)
class Size:
    """A size column (N, D or C) in base units, with where it came from for error messages.

    Args:
        values: parameters, tokens or FLOP per row (NaN = not given).
        column: source column (or columns) it was read or derived from.
        required: a NaN is an error (else the point simply has no such size).
        zero_ok: a zero is a real value of the source (e.g. the step-0 checkpoint) but no
            usable size: it is stored as missing (the raw value stays in extras).
    """

    values: FloatArray
    column: str
    required: bool = True
    zero_ok: bool = False


@dataclass(frozen=True)
class Metric:
    """A measured column: ``column`` in the file becomes points named ``name`` in ``unit``.

    ``required``: an empty cell is an error (else a sparse table: no point for that row).
    ``extras``: further columns that belong to this metric only (e.g. its interval bounds).
    """

    column: str
    name: str
    unit: str
    required: bool = False
    extras: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Frame:
    """Points of one source file in the common schema, one array per ``Point`` field."""

    source_file: str
    source_row: NDArray[np.int64]
    sub: ObjArray
    metric: ObjArray
    value: FloatArray
    unit: ObjArray
    run_key: ObjArray
    n_params: FloatArray
    n_params_kind: ObjArray
    n_tokens: FloatArray
    compute_flops: FloatArray
    compute_method: ObjArray
    step: FloatArray
    derived: list[str]
    extras: ObjArray

    def __len__(self) -> int:
        return len(self.metric)


def _checked_size(
    size: Size | None, file: str, n: int, what: str, rows: NDArray[np.int64], header: int
) -> FloatArray:
    if size is None:
        return np.full(n, np.nan)
    vals = np.array(size.values, dtype=float, copy=True)
    if len(vals) != n:
        raise ValueError(f"{file}: {what} has {len(vals)} values for {n} rows")  # adapter bug
    bad = np.isinf(vals) | (vals < 0) | ((vals == 0) & (not size.zero_ok))
    if size.required:
        bad |= np.isnan(vals)
    if bad.any():
        i = int(np.argmax(bad))
        v = vals[i]
        problem = "is empty or NaN" if np.isnan(v) else f"is {float(v):g}"
        raise BadInputError(
            f"{where(file, int(rows[i]), size.column, header)}: {what} {problem}; expected a "
            "positive, "
            f"finite number of {_UNITS[what]}"
        )
    if size.zero_ok:
        vals[vals == 0] = np.nan
    return vals


_UNITS = {"n_params": "parameters", "n_tokens": "tokens", "compute_flops": "FLOP"}


def _per_row(value: str | Sequence[str | None] | None, n: int) -> list[str | None]:
    if value is None or isinstance(value, str):
        return [value] * n
    return list(value)


def build_frame(
    file: str,
    n_rows: int,
    metrics: Sequence[tuple[Metric, FloatArray]],
    *,
    extras: Sequence[dict[str, Any]],
    run_key: Sequence[str | None] | None = None,
    n_params: Size | None = None,
    n_params_kind: str | Sequence[str | None] | None = None,
    n_tokens: Size | None = None,
    compute: Size | None = None,
    compute_method: str | Sequence[str | None] | None = None,
    step: FloatArray | None = None,
    derived: Sequence[str] = (),
    metric_extras: Mapping[str, Sequence[dict[str, Any]]] | None = None,
    rows: NDArray[np.int64] | None = None,
    sub: Sequence[str] | None = None,
    header_lines: int = 1,
    extras_json: Sequence[str] | None = None,
) -> Frame:
    """Check a file's sizes and metric values and lay them out as points (one per metric cell).

    Args:
        file: "<folder>/<file>" as errors name it.
        n_rows: rows of the source arrays.
        metrics: each metric with its values per row (NaN = empty cell).
        extras: per row, the remaining columns (JSON-ready).
        metric_extras: per metric name, per row extras that belong to that metric only.
        rows: 1-based source row per array row (default 1..n_rows).
        sub: per array row, a distinguishing suffix of the point id when one source row
            yields several points of one metric (a logged list); '' otherwise.
        header_lines: lines before the first data row (0 for JSON lines), for messages.
        extras_json: the extras already as JSON text per row (then ``extras`` is only used
            for ``metric_extras`` merging).

    Raises:
        BadInputError: a required size or value is empty/NaN, a size is not positive, or a
            value is infinite; the message names file, row and column.
    """
    src_rows = np.arange(1, n_rows + 1, dtype=np.int64) if rows is None else rows
    N = _checked_size(n_params, file, n_rows, "n_params", src_rows, header_lines)
    D = _checked_size(n_tokens, file, n_rows, "n_tokens", src_rows, header_lines)
    C = _checked_size(compute, file, n_rows, "compute_flops", src_rows, header_lines)
    kinds = _objects(_per_row(n_params_kind, n_rows))
    kinds[np.isnan(N)] = None
    methods = _objects(_per_row(compute_method, n_rows))
    methods[np.isnan(C)] = None
    keys = _objects(list(run_key) if run_key is not None else [None] * n_rows)
    subs = _objects(list(sub) if sub is not None else [""] * n_rows)
    steps = np.full(n_rows, np.nan) if step is None else step
    if extras_json is None:
        extras_json = [json.dumps(e, sort_keys=True, default=_jsonable) for e in extras]
    row_json = _objects(extras_json)
    parts: list[tuple[Metric, FloatArray, NDArray[np.intp]]] = []
    for metric, values in metrics:
        vals = np.asarray(values, dtype=float)
        missing = np.isnan(vals)
        bad = np.isinf(vals) | (missing if metric.required else np.zeros(n_rows, bool))
        if bad.any():
            i = int(np.argmax(bad))
            raise BadInputError(
                f"{where(file, int(src_rows[i]), metric.column, header_lines)}: value is "
                f"{'empty or NaN' if missing[i] else format(float(vals[i]), 'g')}; "
                f"expected a finite number ({metric.unit})"
            )
        parts.append((metric, vals, np.flatnonzero(~missing)))

    def cat(arr: NDArray[Any]) -> NDArray[Any]:
        return np.concatenate([arr[idx] for _, _, idx in parts] or [arr[:0]])

    def own_json(metric: Metric, idx: NDArray[np.intp]) -> NDArray[np.object_]:
        own = (metric_extras or {}).get(metric.name)
        if own is None:
            return row_json[idx]
        return _objects(
            [json.dumps({**extras[i], **own[i]}, sort_keys=True, default=_jsonable) for i in idx]
        )

    return Frame(
        source_file=file.split("/", 1)[1],
        source_row=cat(src_rows),
        sub=cat(subs),
        metric=np.concatenate([np.full(len(idx), m.name, object) for m, _, idx in parts]
                              or [_objects([])]),
        value=np.concatenate([v[idx] for _, v, idx in parts] or [np.zeros(0)]),
        unit=np.concatenate([np.full(len(idx), m.unit, object) for m, _, idx in parts]
                            or [_objects([])]),
        run_key=cat(keys),
        n_params=cat(N),
        n_params_kind=cat(kinds),
        n_tokens=cat(D),
        compute_flops=cat(C),
        compute_method=cat(methods),
        step=cat(steps),
        derived=list(derived),
        extras=np.concatenate([own_json(m, idx) for m, _, idx in parts] or [_objects([])]),
    )  # fmt: skip


def _objects(values: Sequence[Any]) -> NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def clean_extras(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace non-finite floats (NaN, inf) by None so the extras are valid JSON."""
    for rec in records:
        for k, v in rec.items():
            if isinstance(v, float) and not math.isfinite(v):
                rec[k] = None
    return records
