"""Compute-optimal exponents refit from released optima, one fit per experimental setting.

Some datasets release the compute-optimal points themselves (Porian et al. 2024,
arXiv:2406.19146: ``n_opt`` and ``n_tokens_opt`` per compute budget under 15 settings). Fitting
``N_opt = k·C^a`` to each setting separately gives our own values of a (and b) with bootstrap
intervals, which ``kb compare`` puts next to the papers'. Settings are never pooled: a setting
is the set of text-valued ``extras`` a point carries (dataset, warmup, decay, param_count...).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kb.datasets import unknown_dataset
from kb.errors import BadInputError, KBError, NotFoundError
from kb.records import Dataset, FitRecord, Point, stable_id
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "OPTIMUM_METRICS",
    "fit_optima",
    "last_points",
    "matching",
    "optima_datasets",
    "points_where",
    "pooled_fields",
    "select_setting",
    "setting_choices",
    "setting_label",
    "setting_of",
    "settings",
]

# Metrics that are compute-optimal sizes, and the exponent a fit of each gives.
OPTIMUM_METRICS: dict[str, str] = {"n_opt": "a", "n_tokens_opt": "b"}
MIN_POINTS = 4
Progress = Callable[[int, int], None]


# A marker's colour in a figure the points were read from (Epoch's reading of Hoffmann et al.'s
# Figure 4 keeps each marker's fill, '#faebdd'): how a value was read, not a setting of the run.
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def setting_of(point: Point) -> dict[str, str]:
    """The text-valued extras of a point: the experimental setting it belongs to (a figure
    marker's colour code, '#rrggbb', is not one)."""
    return {
        k: v
        for k, v in sorted(point.extras.items())
        if isinstance(v, str) and not _COLOUR.fullmatch(v)
    }


def matching(points: Sequence[Point], where: Mapping[str, str]) -> list[Point]:
    """The points whose text extras hold every ``field = value`` of ``where`` (maybe none).

    Read off the extras themselves, not ``setting_of``: a field the user names is matched
    whatever it is (``--where color=#faebdd`` too), though a colour is no setting.
    """
    return [
        p
        for p in points
        if all(isinstance(got := p.extras.get(k), str) and got == v for k, v in where.items())
    ]


def last_points(points: Sequence[Point]) -> list[Point]:
    """Each run's last point (highest step, then most tokens), in the input order.

    A run logged along its schedule (Bhagia et al.'s ladder: about 100 evaluations per run) is
    one (N, D) point of a law fitted to final checkpoints; its intermediate evaluations are
    earlier in a schedule set for the final D, so they sit above a run trained to that D.
    Points without a ``run_key`` are kept.
    """
    best: dict[str, Point] = {}
    for p in points:
        if p.run_key is None:
            continue
        rank = (p.step if p.step is not None else -1, p.n_tokens or 0.0)
        old = best.get(p.run_key)
        if old is None or rank > (old.step if old.step is not None else -1, old.n_tokens or 0.0):
            best[p.run_key] = p
    keep = {id(p) for p in best.values()}
    return [p for p in points if p.run_key is None or id(p) in keep]


def points_where(
    points: Sequence[Point], where: Mapping[str, str], *, dataset: str = "the data"
) -> list[Point]:
    """The points whose text-valued extras hold every ``field = value`` of ``where``.

    A subset match that may pool several settings (Gadre et al.'s runs each carry their own
    ``name``; ``train_dataset = rpj`` picks the 35 RedPajama runs).

    Raises:
        BadInputError: no point matches; the message lists the values each field has.
    """
    got = matching(points, where)
    if got:
        return got
    parts = []
    for field in where:
        values = sorted({str(v) for p in points if isinstance(v := p.extras.get(field), str)})
        shown = ", ".join(values[:MAX_LISTED]) + (" ..." if len(values) > MAX_LISTED else "")
        parts.append(f"{field}: {shown}" if values else f"{field}: no point has it")
    raise BadInputError(
        f"no point of {dataset} has {json.dumps(dict(where), sort_keys=True)}; " + "; ".join(parts)
    )


def pooled_fields(points: Sequence[Point], most: int = 60) -> dict[str, list[str]]:
    """Text extras whose values split ``points`` into groups a scaling fit should not pool.

    Three training sets (Gadre et al.), forty downstream tasks (Cherti et al.): a fit through
    them pools them. Not flagged: fields naming each run (one point per value), and fields that
    label a scale (a model config, an architecture, a sample count: some numeric column is
    constant within each group and differs between them), which a scaling fit spans by design.
    """
    groups: dict[str, dict[str, list[Point]]] = {}
    for p in points:
        for k, v in setting_of(p).items():
            groups.setdefault(k, {}).setdefault(v, []).append(p)
    return {
        k: sorted(g)
        for k, g in sorted(groups.items())
        if 1 < len(g) <= most and min(map(len, g.values())) > 1 and not _labels_a_scale(g)
    }


def _numbers(p: Point) -> dict[str, float]:
    out = {c: v for c in ("n_params", "n_tokens", "compute_flops") if (v := getattr(p, c))}
    out.update(
        (k, float(v)) for k, v in p.extras.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )  # fmt: skip
    return out


def _labels_a_scale(groups: Mapping[str, Sequence[Point]]) -> bool:
    """Some numeric column is one value within each group and not the same across groups."""
    per_group = [[_numbers(p) for p in members] for members in groups.values()]
    columns = set.intersection(*(set(rows[0]) for rows in per_group))
    for column in columns:
        values = []
        for rows in per_group:
            seen = {r.get(column) for r in rows}
            if len(seen) != 1:
                break
            values.append(seen.pop())
        else:
            if len(set(values)) > 1:
                return True
    return False


def setting_label(setting: dict[str, Any]) -> str:
    """A short label: the 'setting' value (if any), then the other values in brackets."""
    # File names (the source a row came from) say nothing about the setting itself.
    rest = [str(v) for k, v in setting.items() if k != "setting" and "/" not in str(v)]
    head = str(setting.get("setting", ""))
    if head and rest:
        return f"{head} [{', '.join(rest)}]"
    return head or ", ".join(rest)


def settings(points: Sequence[Point]) -> dict[str, list[Point]]:
    """Points grouped by setting (key: the setting as sorted JSON)."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(json.dumps(setting_of(p), sort_keys=True), []).append(p)
    return groups


def setting_choices(points: Sequence[Point]) -> dict[str, str]:
    """Label -> setting key (sorted JSON) for each setting of ``points``, in first-seen order.

    Labels are ``setting_label``'s; a label two settings share is replaced by their keys.
    """
    keys = list(settings(points))
    labels = [setting_label(json.loads(k)) for k in keys]
    return {
        (label if labels.count(label) == 1 else key): key
        for label, key in zip(labels, keys, strict=True)
    }


MAX_LISTED = 20


def select_setting(
    points: Sequence[Point], wanted: str, *, dataset: str = "the data"
) -> tuple[dict[str, str], list[Point]]:
    """The points of one setting, and that setting (dict of its text extras).

    ``wanted`` is a setting's label (``setting_label``) or its JSON: the full sorted-JSON key, or
    a JSON object that matches exactly one setting on the keys it gives, e.g.
    ``{"dataset": "rw", "setting": "Reproducing Kaplan et al."}``.

    Raises:
        BadInputError: the points carry no setting (no text-valued extras), ``wanted`` names no
            setting (the message lists the labels), or its JSON matches several.
    """
    groups = settings(points)
    if list(groups) in ([], ["{}"]):
        raise BadInputError(
            f"{dataset} has no experimental settings (no text-valued extra of its points names "
            "one; a figure colour does not); drop --setting"
        )
    choices = setting_choices(points)
    if wanted in choices:
        key = choices[wanted]
        return json.loads(key), groups[key]
    try:
        asked = json.loads(wanted)
    except ValueError:
        asked = None
    if isinstance(asked, dict) and asked:
        found = [k for k in groups if all(json.loads(k).get(f) == str(v) for f, v in asked.items())]
        if len(found) == 1:
            return json.loads(found[0]), groups[found[0]]
        if len(found) > 1:
            shown = "; ".join(lab for lab, k in choices.items() if k in found)
            raise BadInputError(
                f"setting {wanted} matches {len(found)} settings of {dataset} ({shown}); "
                "give more of its fields"
            )
    labels = list(choices)
    listed = "; ".join(labels[:MAX_LISTED])
    more = f"; ... ({len(labels)} in all)" if len(labels) > MAX_LISTED else ""
    raise BadInputError(
        f"{dataset} has no setting {wanted!r}; its {len(labels)} settings are: {listed}{more}"
    )


def optima_datasets(store: Store) -> list[str]:
    """Datasets that have at least one compute-optimal metric (n_opt, n_tokens_opt)."""
    rows = (
        store.cursor()
        .execute(
            f"SELECT DISTINCT dataset FROM {Point.table} WHERE metric IN (SELECT unnest(?)) "
            "ORDER BY dataset",
            [list(OPTIMUM_METRICS)],
        )
        .fetchall()
    )
    return [str(r[0]) for r in rows]


def _usable(points: Sequence[Point]) -> list[Point]:
    return [p for p in points if p.compute_flops and p.compute_flops > 0 and p.value > 0]


def fit_optima(
    store: Store,
    dataset: str | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> list[FitRecord]:
    """Fit ``compute_optimal`` to each setting's optima; the records are returned, not saved.

    Each record's ``options`` carry the ``setting`` (dict) and the ``exponent`` it gives ('a'
    for n_opt, 'b' for n_tokens_opt); its ``fit_id`` includes the setting. Settings with fewer
    than ``MIN_POINTS`` usable optima are skipped (logged); a setting whose fit fails is logged
    and skipped, so one bad setting does not lose the others.

    Raises:
        NotFoundError: ``dataset`` does not exist or has no optimum metric.
    """
    from kb.fit import fit_points

    names = optima_datasets(store)
    if dataset is not None:
        if store.get(Dataset, dataset) is None:
            raise unknown_dataset(store, dataset)
        if dataset not in names:
            raise NotFoundError(
                f"dataset {dataset!r} has no compute-optimal metric "
                f"({', '.join(OPTIMUM_METRICS)}); nothing to refit"
            )
        names = [dataset]
    jobs: list[tuple[str, str, str, list[Point]]] = []
    for name in names:
        for metric in OPTIMUM_METRICS:
            pts = store.select(Point, "dataset = ? AND metric = ?", [name, metric])
            for key, group in settings(_usable(pts)).items():
                if len({p.compute_flops for p in group}) < MIN_POINTS:
                    logger.info("optima: %s %s %s: too few budgets, skipped", name, metric, key)
                    continue
                jobs.append((name, metric, key, group))
    out: list[FitRecord] = []
    for done, (name, metric, key, group) in enumerate(jobs, start=1):
        try:
            result = fit_points(group, law="compute_optimal", n_boot=n_boot, seed=seed)
        except KBError as err:
            logger.warning("optima: %s %s %s: fit failed: %s", name, metric, key, err)
            continue
        rec = result.to_record(name, metric=metric)
        options: dict[str, Any] = {
            **rec.options, "setting": json.loads(key), "exponent": OPTIMUM_METRICS[metric],
        }  # fmt: skip
        out.append(
            rec.model_copy(update={"options": options, "fit_id": stable_id(rec.fit_id, key)})
        )
        if on_progress is not None:
            on_progress(done, len(jobs))
    return out
