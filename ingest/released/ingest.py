"""Find dataset folders and write their points into the store (inside the caller's transaction)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.released.adapter import ADAPTER_VERSION, Adapter
from ingest.released.base import FloatArray, Frame
from kb.errors import BadInputError
from kb.records import Point
from kb.store import Store

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
DIGEST_KEY = "dataset_digest:{}"
DEFAULT_METRIC_KEY = "dataset_default_metric:{}"


class DatasetReport(BaseModel):
    """What one ``ingest_datasets`` call did."""

    model_config = ConfigDict(extra="forbid")

    ingested: dict[str, int] = Field(default_factory=dict, description="dataset -> points")
    unchanged: list[str] = Field(default_factory=list, description="skipped: same content")
    seconds: float = 0.0

    @property
    def n_points(self) -> int:
        """Points written by this call."""
        return sum(self.ingested.values())


def find_dataset_folders(path: str | Path) -> list[Path]:
    """Folders holding a MANIFEST.md: ``path`` itself if it has one, else any below it."""
    root = Path(path)
    if (root / "MANIFEST.md").is_file():
        return [root]
    if not root.is_dir():
        return []
    found = sorted({p.parent for p in root.rglob("MANIFEST.md")})
    # A folder inside another dataset folder is part of that dataset, not a new one.
    return [f for f in found if not any(o != f and o in f.parents for o in found)]


def folder_digest(folder: Path) -> str:
    """A content digest of every file in ``folder`` (names and bytes) and the adapter version."""
    h = hashlib.sha256(ADAPTER_VERSION.encode())
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def ingest_datasets(
    store: Store,
    folders: Sequence[str | Path],
    *,
    on_progress: Progress | None = None,
    adapters: dict[str, Adapter] | None = None,
) -> DatasetReport:
    """Read each folder with the adapter of its name and replace that dataset's points.

    Does not open a transaction: the caller wraps one, so a ``BadInputError`` in any folder
    leaves the store as it was. A folder whose content digest is unchanged since the last
    ingest is skipped.

    Raises:
        BadInputError: no adapter for a folder, no MANIFEST.md, or a bad value in a file.
    """
    from ingest.released import ADAPTERS

    registry = ADAPTERS if adapters is None else adapters
    start = time.perf_counter()
    report = DatasetReport()
    total = len(folders)
    for done, raw in enumerate(folders, start=1):
        folder = Path(raw)
        adapter = registry.get(folder.name)
        if adapter is None:
            raise BadInputError(
                f"{folder}: no dataset adapter is named '{folder.name}'; "
                f"known: {', '.join(sorted(registry))}"
            )
        if not (folder / "MANIFEST.md").is_file():
            raise BadInputError(f"{folder}: no MANIFEST.md; not a dataset folder")
        digest = folder_digest(folder)
        key = DIGEST_KEY.format(adapter.name)
        if store.get_meta(key) == digest and store.count(Point, "dataset = ?", [adapter.name]):
            report.unchanged.append(adapter.name)
        else:
            frames = adapter.read(folder)
            n = write_frames(store, adapter.name, frames)
            store.upsert([adapter.dataset(folder, n)])
            store.set_meta(key, digest)
            store.set_meta(DEFAULT_METRIC_KEY.format(adapter.name), adapter.default_metric)
            report.ingested[adapter.name] = n
            logger.info("%s: %d points", adapter.name, n)
        if on_progress:
            on_progress(done, total)
    report.seconds = time.perf_counter() - start
    return report


def _nullable(values: FloatArray) -> pa.Array:
    return pa.array(values, mask=np.isnan(values), type=pa.float64())


# The point id is kb.records.stable_id(dataset, file, row, metric[, sub]) computed by DuckDB
# (the same sha256 over the same '\x1f'-joined text; tests check the two agree).
POINT_ID_SQL = (
    "substr(sha256(concat_ws(chr(31), dataset, source_file, source_row::VARCHAR, metric)"
    " || CASE WHEN _sub = '' THEN '' ELSE chr(31) || _sub END), 1, 16)"
)


def _table(dataset: str, frame: Frame) -> pa.Table:
    """A frame as an Arrow table: the Point columns but ``point_id``, plus ``_sub``."""
    n = len(frame)
    step = frame.step
    k = len(frame.derived)
    offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32) if k else np.zeros(n + 1, np.int32)
    columns = {
        "dataset": pa.array(np.full(n, dataset, object), pa.string()),
        "run_key": pa.array(frame.run_key, pa.string()),
        "n_params": _nullable(frame.n_params),
        "n_params_kind": pa.array(frame.n_params_kind, pa.string()),
        "n_tokens": _nullable(frame.n_tokens),
        "compute_flops": _nullable(frame.compute_flops),
        "compute_method": pa.array(frame.compute_method, pa.string()),
        "metric": pa.array(frame.metric, pa.string()),
        "value": pa.array(frame.value, pa.float64()),
        "unit": pa.array(frame.unit, pa.string()),
        "step": pa.array(
            np.nan_to_num(step, nan=0).astype(np.int64), mask=np.isnan(step), type=pa.int64()
        ),
        "derived": pa.ListArray.from_arrays(
            pa.array(offsets), pa.array(frame.derived * n, pa.string())
        ),
        "source_file": pa.array(np.full(n, frame.source_file, object), pa.string()),
        "source_row": pa.array(frame.source_row, pa.int32()),
        "extras": pa.array(frame.extras, pa.string()),
        "_sub": pa.array(frame.sub, pa.string()),
    }
    if ["point_id", *list(columns)[:-1]] != list(Point.model_fields):
        raise RuntimeError("points columns drifted from kb.records.Point")  # a bug, not input
    return pa.table(columns)


def write_frames(store: Store, dataset: str, frames: Sequence[Frame]) -> int:
    """Make the points of ``dataset`` exactly ``frames``; returns their number.

    Runs inside the caller's transaction. Points identical to the stored ones are left
    untouched; vanished or changed ones are replaced.

    Raises:
        BadInputError: two points of the dataset would share an id (one metric twice in a row).
    """
    tables = [_table(dataset, f) for f in frames if len(f)]
    for frame, tbl in zip([f for f in frames if len(f)], tables, strict=True):
        _validate_first(frame, tbl)
    # DuckDB draws a progress bar on stdout for queries over ~2 s; it would corrupt --json.
    store.con.execute("SET enable_progress_bar = false")
    if not tables:
        store.con.execute("DELETE FROM points WHERE dataset = ?", [dataset])
        return 0
    fields = list(Point.model_fields)
    cols = ", ".join(fields)
    store.con.register("_kb_points_raw", pa.concat_tables(tables))
    try:
        store.con.execute(
            "CREATE OR REPLACE TEMP TABLE _kb_points_new AS "
            f"SELECT {POINT_ID_SQL} AS point_id, * EXCLUDE (_sub) FROM _kb_points_raw"
        )
    finally:
        store.con.unregister("_kb_points_raw")
    try:
        dup = store.con.execute(
            "SELECT any_value(source_file), any_value(source_row), any_value(metric) "
            "FROM _kb_points_new GROUP BY point_id HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
        if dup:
            file, row, metric = dup[0]
            raise BadInputError(
                f"{dataset}/{file}: row {row}: two points of metric '{metric}'; the adapter "
                "emits one metric twice for a row"
            )
        if store.count(Point, "dataset = ?", [dataset]):
            # Keep identical points untouched (deleting and re-inserting a primary key costs
            # an index rebuild); drop the ones that vanished or changed, insert the rest.
            same = " AND ".join(f"p.{f} IS NOT DISTINCT FROM n.{f}" for f in fields)
            store.con.execute(
                "DELETE FROM points p WHERE p.dataset = ? AND NOT EXISTS "
                f"(SELECT 1 FROM _kb_points_new n WHERE {same})",
                [dataset],
            )
            store.con.execute(
                f"INSERT INTO points ({cols}) SELECT {cols} FROM _kb_points_new n "
                "WHERE NOT EXISTS (SELECT 1 FROM points p WHERE p.point_id = n.point_id)"
            )
        else:
            store.con.execute(f"INSERT INTO points ({cols}) SELECT {cols} FROM _kb_points_new")
        n = store.con.execute("SELECT count(*) FROM _kb_points_new").fetchall()[0][0]
    finally:
        store.con.execute("DROP TABLE IF EXISTS _kb_points_new")
    return int(n)


def _validate_first(frame: Frame, tbl: pa.Table) -> None:
    """Validate a frame's first point as a ``Point`` (schema drift shows at once)."""
    row = {k: v[0] for k, v in tbl.slice(0, 1).to_pydict().items()}
    row["extras"] = json.loads(row["extras"])
    row["point_id"] = "unchecked"
    del row["_sub"]
    try:
        Point.model_validate(row)
    except ValidationError as err:
        raise BadInputError(
            f"{row['dataset']}/{frame.source_file}: row {row['source_row']}: not a valid point: "
            f"{err}"
        ) from err
