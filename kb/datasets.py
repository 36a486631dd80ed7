"""Read-side access to released datasets and their points (written by ``ingest.released``).

A dataset is one folder of ``../shared/datasets`` (name = folder name); its points share one
schema (:class:`kb.records.Point`). Each dataset has a default metric, the one a law is usually
fitted to (e.g. ``loss`` for ``epoch_chinchilla``); the ingest step records it in the store's
meta table, so this module needs no knowledge of the adapters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kb.errors import NotFoundError, did_you_mean
from kb.records import Dataset, Point
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_METRIC_KEY",
    "dataset_hint",
    "default_metric",
    "get_dataset",
    "list_datasets",
    "metric_counts",
    "metrics",
    "point_value",
    "points",
    "unknown_dataset",
    "x_axes",
]

# Must match ingest.released.DEFAULT_METRIC_KEY (tests/test_datasets.py checks).
DEFAULT_METRIC_KEY = "dataset_default_metric:{}"


def list_datasets(store: Store) -> list[Dataset]:
    """Every ingested dataset, ordered by name."""
    return store.select(Dataset)


def get_dataset(store: Store, name: str) -> Dataset:
    """The dataset called ``name``.

    Raises:
        NotFoundError: no such dataset (:func:`unknown_dataset`'s message).
    """
    found = store.get(Dataset, name)
    if found is None:
        raise unknown_dataset(store, name)
    return found


def unknown_dataset(store: Store, name: str, known: Sequence[str] | None = None) -> NotFoundError:
    """The error for a dataset name the store does not hold (see :func:`dataset_hint`)."""
    names = list(known) if known is not None else [d.name for d in store.select(Dataset)]
    return NotFoundError(f"no dataset {name!r}; {dataset_hint(name, names)}")


def dataset_hint(name: str, known: Sequence[str]) -> str:
    """What to do about an unknown dataset ``name``: the close ones among ``known`` as a
    suggestion and how to list them, or how to ingest some when there are none."""
    if not known:
        return "this knowledge base holds none; ingest them with `kb ingest ../shared/datasets`"
    return f"{did_you_mean(name, known)}list them with `kb datasets`"


def metric_counts(store: Store, name: str) -> dict[str, int]:
    """Metric name -> number of points, for one dataset (ordered by metric name)."""
    get_dataset(store, name)
    rows = (
        store.cursor()
        .execute(
            "SELECT metric, count(*) FROM points WHERE dataset = ? GROUP BY metric ORDER BY metric",
            [name],
        )
        .fetchall()
    )
    return {str(m): int(n) for m, n in rows}


def metrics(store: Store, name: str) -> list[str]:
    """The metric names of a dataset, sorted."""
    return list(metric_counts(store, name))


def default_metric(store: Store, name: str) -> str:
    """The metric a law is fitted to by default for this dataset.

    The adapter's choice recorded at ingest; if absent (an older store), the metric with the
    most points.

    Raises:
        NotFoundError: no such dataset, or it has no points.
    """
    recorded = store.get_meta(DEFAULT_METRIC_KEY.format(name))
    counts = metric_counts(store, name)
    if recorded and recorded in counts:
        return recorded
    if not counts:
        raise NotFoundError(f"dataset '{name}' has no points; re-run `kb ingest`")
    return max(counts, key=lambda m: (counts[m], m))


def points(
    store: Store, name: str, *, metric: str | None = None, limit: int | None = None
) -> list[Point]:
    """Points of one metric of a dataset, in source order (file, row).

    Args:
        metric: the metric name; None means :func:`default_metric`. ``'*'`` means every metric.
        limit: at most this many points.

    Raises:
        NotFoundError: unknown dataset or metric (the message lists the metrics).
    """
    chosen = default_metric(store, name) if metric is None else metric
    if chosen == "*":
        get_dataset(store, name)
        where, params = "dataset = ?", [name]
    else:
        known = metrics(store, name)
        if chosen not in known:
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            raise NotFoundError(f"dataset '{name}' has no metric '{chosen}' (metrics: {shown})")
        where, params = "dataset = ? AND metric = ?", [name, chosen]
    return store.select(
        Point, where, params, order_by="source_file, source_row, metric, point_id", limit=limit
    )


SCALE_AXES = ("compute_flops", "n_params", "n_tokens")


def point_value(p: Point, name: str) -> float | None:
    """A point's value of column ``name`` (a field or a numeric ``extras`` key), or None; a
    missing ``n_tokens`` or ``compute_flops`` is derived through C = 6ND when the other two are
    known."""
    if name == "n_tokens" and p.n_tokens is None and p.compute_flops and p.n_params:
        return p.compute_flops / (6.0 * p.n_params)
    if name == "compute_flops" and p.compute_flops is None and p.n_params and p.n_tokens:
        return 6.0 * p.n_params * p.n_tokens
    value = getattr(p, name, None) if name in Point.model_fields else p.extras.get(name)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def x_axes(pts: list[Point]) -> list[str]:
    """Columns a single-input law can be fitted against: the scale columns, then every numeric
    ``extras`` key that all points carry (e.g. ``train_set_size`` for caballero2022_bnsl, whose
    points have no N, D or C). Scale columns come first, those every point has before the rest.
    """

    def complete(name: str) -> bool:
        return bool(pts) and all(point_value(p, name) is not None for p in pts)

    shared = set.intersection(*(set(p.extras) for p in pts)) if pts else set()
    extra = sorted(k for k in shared if k not in SCALE_AXES and complete(k))
    full = [a for a in SCALE_AXES if complete(a)]
    return full + extra + [a for a in SCALE_AXES if a not in full]
