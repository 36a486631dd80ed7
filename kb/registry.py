"""The registry of reported laws: ``data/laws.toml`` loaded, validated and synced into the store.

The registry is a curated TOML file of facts (numbers, formulas, locations in the paper), one
``[[laws]]`` table per law. :func:`load_registry` validates every entry into
:class:`kb.records.ReportedLaw` and checks what pydantic cannot: known form names, arXiv ids,
unique ids, intervals that bracket a parameter, and compute-optimal exponents that agree with the
fitted ones (``a = β/(α+β)``, ``b = α/(α+β)``, ``a + b = 1``). :func:`sync_registry` makes the
``laws`` table equal to the file and records the file's digest in ``_meta`` so that callers can
tell when the table is stale (:func:`registry_is_stale`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb.claims import resolve_paper_id
from kb.errors import BadInputError, NotFoundError, ParseError
from kb.records import (
    Point,
    ReportedLaw,
    normalize_arxiv_id,
    normalize_title,
    paper_id_for,
)
from kb.store import Store

__all__ = [
    "DATASET_POINTS",
    "DEFAULT_REGISTRY",
    "DIGEST_KEY",
    "EXPONENT_TOLERANCE",
    "FIT_RUNS",
    "FIT_RUNS_SOURCE",
    "LAW_FORMS",
    "check_fit_runs",
    "current_laws",
    "fitted_on_other_points",
    "get_law",
    "law_fit_runs",
    "law_metric",
    "law_paper_id",
    "law_paper_ids",
    "law_points",
    "law_setting",
    "laws_beside_refit",
    "laws_for_dataset",
    "laws_for_metric",
    "laws_for_paper",
    "laws_for_setting",
    "list_laws",
    "load_registry",
    "paper_laws",
    "paper_points",
    "registry_digest",
    "registry_is_stale",
    "registry_path",
    "reported_value",
    "run_points",
    "stale_laws_notice",
    "sync_registry",
    "validate_entry",
]

logger = logging.getLogger(__name__)

#: The curated file shipped with the project; ``$KB_REGISTRY`` overrides it.
DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "data" / "laws.toml"
#: ``_meta`` key holding the sha256 of the registry file last synced.
DIGEST_KEY = "registry_digest"
#: Law forms a registry entry may name: the forms ``kb.laws`` can refit.
LAW_FORMS: tuple[str, ...] = (
    "power_law", "power_law_plus_constant", "chinchilla", "chinchilla_tied", "kaplan_nd",
    "broken_power_law", "log_linear", "sigmoid_log", "data_constrained", "compute_optimal",
)  # fmt: skip
#: How far a reported a or b may sit from the value implied by the fitted exponents. Papers
#: round α and β to two digits but derive a, b from the unrounded ones (Chinchilla: 0.46 vs
#: 0.28/0.62 = 0.452), so an exact check would reject faithful entries.
EXPONENT_TOLERANCE = 0.01


def registry_path() -> Path:
    """The registry file: ``$KB_REGISTRY`` if set, else ``data/laws.toml`` of the project."""
    env = os.environ.get("KB_REGISTRY")
    return Path(env) if env else DEFAULT_REGISTRY


def registry_digest(path: str | os.PathLike[str] | None = None) -> str:
    """sha256 of the registry file's bytes (what ``_meta`` stores after a sync)."""
    file = Path(path) if path is not None else registry_path()
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as err:
        raise BadInputError(f"{file}: cannot read the law registry: {err.strerror}") from err


def load_registry(path: str | os.PathLike[str] | None = None) -> list[ReportedLaw]:
    """Read and validate the registry; returns the laws in file order.

    Raises:
        ParseError: the file is not valid TOML, or has no ``[[laws]]`` array of tables.
        BadInputError: an entry fails validation; the message names the file, the line of the
            entry, its ``law_id`` and the field, and says what was expected.
    """
    file = Path(path) if path is not None else registry_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise BadInputError(f"{file}: cannot read the law registry: {err.strerror}") from err
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ParseError(f"{file}: not valid TOML: {err}") from err
    entries = doc.get("laws")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ParseError(f"{file}: expected an array of tables [[laws]], one per law")
    laws: list[ReportedLaw] = []
    seen: dict[str, int] = {}
    lines = _law_id_lines(text)
    for number, entry in enumerate(entries, start=1):
        where = _where(file, lines, entry, number)
        law = validate_entry(entry, where)
        if law.law_id in seen:
            raise BadInputError(
                f"{where}: law_id '{law.law_id}' is used twice (first by entry {seen[law.law_id]});"
                " every law needs its own id"
            )
        seen[law.law_id] = number
        laws.append(law)
    logger.debug("loaded %d laws from %s", len(laws), file)
    return laws


def _law_id_lines(text: str) -> dict[str, int]:
    """Line number of each ``law_id = ...`` line of the registry text, by the id (the first
    line when an id is repeated). One pass over the text: looking each entry's line up by
    scanning the file again cost O(entries x lines), a third of a registry sync."""
    lines: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        key, _, value = line.partition("=")
        if key.strip() == "law_id":
            lines.setdefault(value.strip().strip("\"'"), lineno)
    return lines


def _where(file: Path, lines: Mapping[str, int], entry: Mapping[str, Any], number: int) -> str:
    """``file:line: law 'id'`` for messages; the line is that of the entry's ``law_id``
    (``lines``: :func:`_law_id_lines` of the file's text)."""
    law_id = entry.get("law_id")
    if not isinstance(law_id, str):
        return f"{file}: entry {number} (no law_id)"
    lineno = lines.get(law_id)
    if lineno is not None:
        return f"{file}:{lineno}: law '{law_id}'"
    return f"{file}: entry {number}, law '{law_id}'"


def validate_entry(entry: Mapping[str, Any], where: str = "registry entry") -> ReportedLaw:
    """One registry entry as a ReportedLaw, with every check; ``where`` prefixes error messages.

    Raises:
        BadInputError: naming ``where``, the field and what was expected.
    """
    try:
        law = ReportedLaw.model_validate(dict(entry))
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "entry"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise BadInputError(f"{where}: field '{field}': {first['msg']}{more}") from err
    _check_law(law, where)
    return law


def _check_law(law: ReportedLaw, where: str) -> None:
    """The checks pydantic's types cannot express."""
    if normalize_arxiv_id(law.arxiv_id) != law.arxiv_id:
        raise BadInputError(
            f"{where}: field 'arxiv_id': '{law.arxiv_id}' is not a bare arXiv id "
            "(expected e.g. '2203.15556', no prefix or version)"
        )
    if law.form is not None and law.form not in LAW_FORMS:
        raise BadInputError(
            f"{where}: field 'form': unknown form '{law.form}'; expected one of "
            f"{', '.join(LAW_FORMS)} (or leave it out when no form fits)"
        )
    for name in ("name", "formula", "source"):
        if not getattr(law, name).strip():
            raise BadInputError(f"{where}: field '{name}' is empty")
    if not law.params and (law.verified or not law.notes.strip()):
        raise BadInputError(
            f"{where}: field 'params' is empty; a law without values must have verified = false "
            "and notes saying why no values are recorded"
        )
    if not law.verified and not law.notes.strip():
        raise BadInputError(
            f"{where}: field 'notes': an unverified law must say what was not checked"
        )
    for key, value in [*law.params.items(), *law.derived.items()]:
        if not math.isfinite(value):
            raise BadInputError(f"{where}: '{key}' = {value}: expected a finite number")
    setting = law.conventions.get("setting")
    if setting is not None:
        try:
            parsed = json.loads(setting)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not parsed:
            raise BadInputError(
                f"{where}: field 'conventions.setting': expected a JSON object of the setting's "
                f'text extras, e.g. \'{{"dataset": "rw"}}\', got {setting!r}'
            )
    chosen = law.conventions.get("dataset_points")
    if chosen is not None and chosen not in DATASET_POINTS:
        raise BadInputError(
            f"{where}: field 'conventions.dataset_points': expected one of "
            f"{', '.join(repr(k) for k in DATASET_POINTS)}, got {chosen!r}"
        )
    _check_fit_runs(law, where)
    _check_intervals(law, where)
    _check_derived(law, where)


def _check_fit_runs(law: ReportedLaw, where: str) -> None:
    """``conventions.fit_runs`` is a JSON array of distinct run names, and has its source."""
    text = law.conventions.get(FIT_RUNS)
    source = law.conventions.get(FIT_RUNS_SOURCE)
    if text is None:
        if source is not None:
            raise BadInputError(
                f"{where}: field 'conventions.{FIT_RUNS_SOURCE}' without "
                f"'conventions.{FIT_RUNS}': name the runs the paper fitted, or drop the source"
            )
        return
    try:
        runs = json.loads(text)
    except ValueError:
        runs = None
    if (
        not isinstance(runs, list)
        or not runs
        or not all(isinstance(r, str) and r.strip() for r in runs)
    ):
        raise BadInputError(
            f"{where}: field 'conventions.{FIT_RUNS}': expected a JSON array of the run names "
            f"the paper fitted (the run_key `kb points DATASET` prints), e.g. "
            f"'[\"c4_original-d=96_l=8_h=4-1.0\"]', got {text!r}"
        )
    twice = sorted({r for r in runs if runs.count(r) > 1})
    if twice:
        raise BadInputError(
            f"{where}: field 'conventions.{FIT_RUNS}': run {twice[0]!r} is named twice"
        )
    if not (source or "").strip():
        raise BadInputError(
            f"{where}: field 'conventions.{FIT_RUNS_SOURCE}' is missing: say where the selection "
            "of runs comes from (the paper's text, table or code, with the exact place)"
        )
    if law.dataset is None:
        raise BadInputError(
            f"{where}: field 'conventions.{FIT_RUNS}' names runs of a dataset, but the law has "
            "no 'dataset'"
        )


def _check_intervals(law: ReportedLaw, where: str) -> None:
    for key, bounds in law.intervals.items():
        if key not in law.params and key not in law.derived:
            raise BadInputError(
                f"{where}: field 'intervals.{key}': no parameter or derived value named '{key}'"
            )
        if len(bounds) != 2 or not bounds[0] <= bounds[1]:
            raise BadInputError(
                f"{where}: field 'intervals.{key}': expected [low, high] with low <= high, "
                f"got {bounds}"
            )


def _check_derived(law: ReportedLaw, where: str) -> None:
    a, b = law.derived.get("a"), law.derived.get("b")
    if a is not None and b is not None and abs(a + b - 1.0) > EXPONENT_TOLERANCE:
        raise BadInputError(
            f"{where}: field 'derived': a + b = {a + b:.4g}, expected 1 (N_opt·D_opt ∝ C) "
            f"within {EXPONENT_TOLERANCE}"
        )
    alpha, beta = law.params.get("alpha"), law.params.get("beta")
    if alpha is None or beta is None:
        return
    if law.form not in ("chinchilla", "chinchilla_tied", "data_constrained"):
        return
    implied = {"a": beta / (alpha + beta), "b": alpha / (alpha + beta)}
    for key, value in implied.items():
        given = law.derived.get(key)
        if given is not None and abs(given - value) > EXPONENT_TOLERANCE:
            formula = "beta/(alpha+beta)" if key == "a" else "alpha/(alpha+beta)"
            raise BadInputError(
                f"{where}: field 'derived.{key}' = {given} but {formula} = {value:.4f} "
                f"(tolerance {EXPONENT_TOLERANCE})"
            )


# -- the store ----------------------------------------------------------------------------------


def sync_registry(store: Store, path: str | os.PathLike[str] | None = None) -> int:
    """Make the ``laws`` table equal to the registry file; returns the number of laws.

    Upserts every law, deletes laws no longer in the file and records the file's digest in
    ``_meta``. A law's ``conventions.fit_runs`` is checked against its dataset's stored points
    (:func:`check_fit_runs`): a run the dataset lacks is logged as a warning.
    Opens no transaction of its own: call it inside ``store.transaction()`` (the
    ingest pipeline does) so a bad file leaves the table untouched.
    """
    file = Path(path) if path is not None else registry_path()
    laws = load_registry(file)
    # A warning, not a refusal: a partial copy of a dataset (a test fixture, an older release)
    # must still ingest; `kb audit` then gives the same message as that law's refit error.
    for problem in check_fit_runs(store, laws, file):
        logger.warning("%s (kb audit cannot refit the paper's runs)", problem)
    keep = {law.law_id for law in laws}
    stale = [r[0] for r in store.con.execute("SELECT law_id FROM laws").fetchall()]
    for law_id in stale:
        if law_id not in keep:
            store.delete(ReportedLaw, "law_id = ?", [law_id])
    store.upsert(laws)
    store.set_meta(DIGEST_KEY, registry_digest(file))
    logger.info("synced %d laws from %s", len(laws), file)
    return len(laws)


def registry_is_stale(store: Store, path: str | os.PathLike[str] | None = None) -> bool:
    """True when the ``laws`` table is empty or was synced from a different registry file."""
    if store.count(ReportedLaw) == 0:
        return True
    return store.get_meta(DIGEST_KEY) != registry_digest(path)


def stale_laws_notice(store: Store, path: str | os.PathLike[str] | None = None) -> str | None:
    """One line for a reader of the stored laws (``kb compare``, ``kb audit``, the app) when
    they are not those of the registry file now: it was edited (or ``$KB_REGISTRY`` points to
    another file) since ``kb laws --sync`` or ``kb ingest`` stored them. None when they are, or
    when the store recorded no registry digest (never synced: nothing to compare with). Reads
    only; never syncs."""
    stored = store.get_meta(DIGEST_KEY)
    if stored is None:
        return None
    file = Path(path) if path is not None else registry_path()
    try:
        if stored == registry_digest(file):
            return None
    except BadInputError as err:
        return f"the stored laws could not be checked against the registry: {err}"
    return (
        f"the laws stored in {store.path} are not those of {file} (it changed since they were "
        "stored); the stored ones are used: run `kb laws --sync` to store the file's"
    )


def list_laws(store: Store) -> list[ReportedLaw]:
    """Every law in the store, ordered by law_id."""
    return store.select(ReportedLaw)


def current_laws(
    store: Store, path: str | os.PathLike[str] | None = None
) -> tuple[list[ReportedLaw], bool]:
    """The registry's laws without writing the store: the ``laws`` table when it is current,
    else the registry file's laws, read and validated in memory (``store`` may be read-only).

    Returns the laws ordered by law_id, and True when they came from the file because the
    table is stale (:func:`registry_is_stale`; ``kb ingest`` or ``kb laws --sync`` store them).
    """
    if not registry_is_stale(store, path):
        return list_laws(store), False
    return sorted(load_registry(path), key=lambda law: law.law_id), True


def laws_for_paper(
    store: Store, paper_id: str, laws: Iterable[ReportedLaw] | None = None
) -> list[ReportedLaw]:
    """Laws reported by one paper, among ``laws`` (default: the store's ``laws`` table).

    ``paper_id`` is ``arxiv:<id>`` (a bare arXiv id is accepted too) or a corpus paper's
    ``t:<hash>`` id, matched through the normalised title of the laws' papers.

    Raises:
        BadInputError: ``paper_id`` is neither form.
    """
    arxiv_id = normalize_arxiv_id(paper_id)
    if arxiv_id is not None:
        if laws is not None:
            return [law for law in laws if law.arxiv_id == arxiv_id]
        return store.select(ReportedLaw, "arxiv_id = ?", [arxiv_id])
    if paper_id.startswith("t:"):
        pool = list_laws(store) if laws is None else laws
        return [law for law in pool if paper_id_for(law.title) == paper_id]
    raise BadInputError(
        f"'{paper_id}' is not a paper id; expected 'arxiv:<id>' "
        "(e.g. arxiv:2203.15556) or 't:<hash>'"
    )


def paper_laws(
    store: Store, paper: str, laws: Iterable[ReportedLaw] | None = None
) -> tuple[str, list[ReportedLaw]]:
    """The laws (among ``laws``, default the store's) of the paper ``paper`` names, and that
    paper's id (``arxiv:<id>`` or ``t:<hash>``) to name it by.

    ``paper`` is read as ``kb claims --paper`` reads it (:func:`kb.claims.resolve_paper_id`:
    a paper id, an arXiv id in any form, a whole title), and also names a paper the registry
    holds but the knowledge base lacks, by its arXiv id in any form, its whole title or the
    ``t:<hash>`` of it. An arXiv id names a paper whatever holds it: with no law of it, the
    list is empty.

    Raises:
        NotFoundError: ``paper`` is not an arXiv id and names no paper of the knowledge base
            or the registry (the message ``kb claims --paper`` gives).
    """
    pool = list_laws(store) if laws is None else list(laws)
    text = paper.strip()
    arxiv_id = normalize_arxiv_id(text) if text.split() == [text] else None
    if arxiv_id is not None:
        found = [law for law in pool if law.arxiv_id == arxiv_id]
    else:
        title_id = text if text.startswith("t:") else paper_id_for(text)
        found = [law for law in pool if paper_id_for(law.title) == title_id]
        if not normalize_title(text):  # only punctuation: no title to match
            found = []
    if found:
        return (f"arxiv:{arxiv_id}" if arxiv_id else title_id), found
    try:
        paper_id = resolve_paper_id(store, text)
    except NotFoundError:
        if arxiv_id is not None:
            return f"arxiv:{arxiv_id}", []
        raise
    papers = law_paper_ids(store, pool)
    return paper_id, [law for law in pool if papers[law.law_id] == paper_id]


def laws_for_dataset(store: Store, name: str) -> list[ReportedLaw]:
    """Laws fitted on one of our datasets (by folder name, e.g. ``epoch_chinchilla``)."""
    return store.select(ReportedLaw, "dataset = ?", [name])


def law_setting(law: ReportedLaw) -> dict[str, str] | None:
    """The experimental setting a law was fitted on (``conventions.setting``, JSON), or None."""
    value = _convention_json(law, "setting")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _convention_json(law: ReportedLaw, key: str) -> Any:
    """The JSON value of ``conventions[key]``, or None when absent, empty or not JSON (logged:
    the registry's load checks these fields, so only a hand-made law gets here)."""
    text = law.conventions.get(key)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        logger.warning("law %s: conventions.%s is not JSON: %r", law.law_id, key, text)
        return None


# Which of a dataset's points a law was fitted to (``conventions.dataset_points``); absent: all.
DATASET_POINTS = {
    "last_per_run": "each run's last logged point (its final checkpoint), not intermediate ones",
}


# The runs a paper fitted, where it fitted fewer than the dataset releases (Gadre et al.: 5 of the
# 34-35 runs of a training set): ``conventions.fit_runs``, a JSON array of run names (each
# point's ``run_key``), and ``conventions.fit_runs_source``, where that selection is stated. A
# list of runs and not a ``--where`` filter: ``--where`` ANDs text fields, and a paper's runs
# (four sizes at one multiplier plus one size at another) are no conjunction of them.
FIT_RUNS = "fit_runs"
FIT_RUNS_SOURCE = "fit_runs_source"


def law_fit_runs(law: ReportedLaw) -> tuple[str, ...] | None:
    """The runs the law's paper fitted (``conventions.fit_runs``), or None: every run."""
    runs = _convention_json(law, FIT_RUNS)
    return tuple(str(r) for r in runs) if isinstance(runs, list) and runs else None


def paper_points(
    law: ReportedLaw, points: Sequence[Point], *, where: str | None = None
) -> list[Point]:
    """The ``points`` of the runs the law's paper fitted; all of them when it names none.

    ``points`` are those a refit of the law reads (its metric, setting and points); ``where``
    prefixes the message (default: the law's id).

    Raises:
        BadInputError: a named run has no point among ``points`` (the message lists them, and
            some of the run names the points have).
    """
    runs = law_fit_runs(law)
    if runs is None:
        return list(points)
    return run_points(points, runs, dataset=law.dataset or "", where=where or f"law '{law.law_id}'")


def run_points(
    points: Sequence[Point], runs: Sequence[str], *, dataset: str, where: str
) -> list[Point]:
    """The ``points`` whose ``run_key`` is one of ``runs`` (a law's ``conventions.fit_runs``).

    Raises:
        BadInputError: a named run has no point among ``points``; prefixed by ``where``.
    """
    keys = {p.run_key for p in points if p.run_key is not None}
    missing = [r for r in runs if r not in keys]
    if missing:
        shown = ", ".join(repr(r) for r in missing[:3]) + (" ..." if len(missing) > 3 else "")
        have = sorted(keys)
        named = (
            "its points have no run names (run_key)"
            if not have
            else f"its {len(have)} runs include " + ", ".join(repr(k) for k in have[:3])
        )
        raise BadInputError(
            f"{where}: field 'conventions.{FIT_RUNS}': {len(missing)} of its {len(runs)} runs "
            f"are not among the points of dataset {dataset!r} the law is refitted on (its "
            f"metric and setting): {shown}; {named}; expected run names as `kb points "
            f"{dataset}` prints them (run_key)"
        )
    wanted = set(runs)
    return [p for p in points if p.run_key in wanted]


def check_fit_runs(
    store: Store, laws: Iterable[ReportedLaw], file: Path | None = None
) -> list[str]:
    """Problems of the laws' ``conventions.fit_runs`` against their datasets' points in ``store``.

    A named run must have points of the law's metric (the dataset's default when it names
    none) in the law's setting. Each problem names the file and line of the law (when ``file``
    is given), the runs the dataset lacks and what was expected. Laws whose dataset is not in
    the store are skipped (nothing to check yet). Empty when every selection is found.

    The points of every (dataset, metric) the laws need are read in one query (a query per
    law cost about 9 ms each at ingest: Gadre et al.'s six laws share one dataset).
    """
    from kb.datasets import default_metric

    checked = [law for law in laws if law_fit_runs(law) is not None and law.dataset is not None]
    if not checked:
        return []
    named = sorted({law.dataset for law in checked if law.dataset is not None})
    rows = store.cursor().execute(
        "SELECT DISTINCT dataset FROM points WHERE list_contains(?, dataset)", [named]
    )
    stored = {str(r[0]) for r in rows.fetchall()}
    defaults: dict[str, str] = {}
    wanted: list[tuple[ReportedLaw, tuple[str, str]]] = []
    for law in checked:
        assert law.dataset is not None
        if law.dataset not in stored:
            logger.debug("law %s: dataset %s not stored; fit_runs not checked", law.law_id,
                         law.dataset)  # fmt: skip
            continue
        metric = law_metric(law)
        if metric is None:
            if law.dataset not in defaults:
                defaults[law.dataset] = default_metric(store, law.dataset)
            metric = defaults[law.dataset]
        wanted.append((law, (law.dataset, metric)))
    pairs = sorted({pair for _, pair in wanted})
    by_pair: dict[tuple[str, str], list[Point]] = {pair: [] for pair in pairs}
    if pairs:
        where = " OR ".join(["(dataset = ? AND metric = ?)"] * len(pairs))
        for point in store.select(Point, where, [v for pair in pairs for v in pair]):
            by_pair[(point.dataset, point.metric)].append(point)
    lines = _law_id_lines(file.read_text(encoding="utf-8")) if file is not None and wanted else {}
    problems: list[str] = []
    for law, pair in wanted:
        points = by_pair[pair]
        setting = law_setting(law)
        if setting:
            from kb.optima import matching

            points = matching(points, setting)
        where_law = _where(file, lines, {"law_id": law.law_id}, 0) if file is not None else None
        try:
            paper_points(law, points, where=where_law)
        except BadInputError as err:
            problems.append(str(err))
    return problems


def law_points(law: ReportedLaw) -> str | None:
    """``conventions.dataset_points`` (a key of ``DATASET_POINTS``), or None for every point."""
    return law.conventions.get("dataset_points") or None


def law_metric(law: ReportedLaw) -> str | None:
    """The dataset metric a law was fitted to (``conventions.dataset_metric``), or None.

    None means the dataset's default metric (`kb datasets`); a dataset holding several (Bhagia
    et al.'s 111 task metrics, Cherti et al.'s per-task errors) needs the law to name its own.
    """
    return law.conventions.get("dataset_metric") or None


def fitted_on_other_points(laws: Iterable[ReportedLaw], points: Sequence[Point]) -> list[str]:
    """Notices for laws fitted to a selection of ``points`` the refit beside them did not make.

    Bhagia et al. fitted each run's final checkpoint (16 points); a refit of the ladder's
    logged evaluations (about 1,600 per metric) answers another question, and its parameters
    differ from theirs for that reason too. Gadre et al. fitted 5 named runs of a training set
    (``conventions.fit_runs``); a refit of other runs is noted likewise.
    """
    runs = {p.run_key for p in points if p.run_key is not None}
    notes = []
    for law in laws:
        if law_points(law) == "last_per_run" and len(runs) < len(points):
            notes.append(
                f"{law.law_id} was fitted to each run's final point ({len(runs)} runs here); "
                f"this refit uses all {len(points)} points, intermediate checkpoints included, "
                "so its values are not the paper's fit redone (`kb audit` refits the final points)"
            )
        paper_runs = law_fit_runs(law)
        if paper_runs is not None and runs != set(paper_runs):
            notes.append(
                f"{law.law_id} was fitted by its paper on {len(paper_runs)} named runs "
                f"(conventions.fit_runs: {', '.join(paper_runs[:2])}"
                f"{', ...' if len(paper_runs) > 2 else ''}); this refit uses {len(points)} points "
                f"of {len(runs)} runs, so its values are not the paper's fit redone (`kb fit` and "
                "`kb audit` fit the paper's runs unless told --all-points)"
            )
    return notes


def laws_for_metric(laws: Iterable[ReportedLaw], metric: str | None) -> list[ReportedLaw]:
    """The laws that may stand beside a refit of ``metric``: those naming it or naming none.

    Bhagia et al.'s eight task laws name their task's bits-per-byte metric; beside a refit of
    the ladder's C4 loss (its default metric) none of them is a reported value.
    """
    return [law for law in laws if law_metric(law) in (None, metric)]


def laws_for_setting(
    laws: Iterable[ReportedLaw], setting: Mapping[str, str] | None
) -> list[ReportedLaw]:
    """The laws that describe ``setting`` (a point group's text extras; None: a pooled fit).

    A law naming a setting (``conventions.setting``) matches when each of its fields has that
    value in ``setting``; such a law never matches a pooled fit (``setting`` None). A law naming
    none matches any.
    """
    out = []
    for law in laws:
        own = law_setting(law)
        if own is None or (
            setting is not None and all(setting.get(k) == v for k, v in own.items())
        ):
            out.append(law)
    return out


def laws_beside_refit(
    store: Store,
    dataset: str,
    form: str,
    metric: str | None,
    group: Mapping[str, str] | None = None,
) -> list[ReportedLaw]:
    """The stored laws whose values may stand beside a refit of ``form`` to ``dataset``.

    Those fitted on the dataset with the same form, on the refit's ``metric`` (or naming none),
    and describing its point ``group`` (a setting, or ``--where`` fields; None: a pooled fit),
    as the Refit page and ``kb fit`` show them. Sorted by law id.
    """
    same_data = laws_for_setting(laws_for_dataset(store, dataset), group)
    laws = [law for law in laws_for_metric(same_data, metric) if law.form == form]
    return sorted(laws, key=lambda law: law.law_id)


def reported_value(law: ReportedLaw, name: str, metric: str | None = None) -> float | None:
    """What ``law`` reports for a refit's parameter or derived quantity ``name``, or None.

    A compute_optimal refit calls its exponent ``exponent``; the registry states it as ``a``
    (fitted to optimal model sizes, metric ``n_opt``) or ``b`` (``n_tokens_opt``).
    """
    from kb.optima import OPTIMUM_METRICS

    if name == "exponent" and metric in OPTIMUM_METRICS and "exponent" not in law.params:
        name = OPTIMUM_METRICS[metric]
    value = law.params.get(name, law.derived.get(name))
    return None if value is None else float(value)


def law_paper_id(store: Store, law: ReportedLaw) -> str | None:
    """The corpus paper a law belongs to, or None when that paper is not in the corpus.

    Matches ``arxiv:<id>`` first; seed papers listed without an arXiv id are matched on the
    normalised title (``paper_id_for(title)``).
    """
    return law_paper_ids(store, [law])[law.law_id]


def law_paper_ids(store: Store, laws: Iterable[ReportedLaw]) -> dict[str, str | None]:
    """:func:`law_paper_id` of each law, by law id, from one query over the papers' ids (a
    ``store.get`` per candidate read and validated two whole papers per law: 250 ms for the
    53 laws, paid by the first `kb search` that showed a year or used a registry filter)."""
    pool = list(laws)
    candidates = {law.law_id: (f"arxiv:{law.arxiv_id}", paper_id_for(law.title)) for law in pool}
    wanted = sorted({c for pair in candidates.values() for c in pair})
    rows = store.cursor().execute(
        "SELECT paper_id FROM papers WHERE list_contains(?::VARCHAR[], paper_id)", [wanted]
    )
    held = {str(r[0]) for r in rows.fetchall()}
    return {
        law_id: next((c for c in pair if c in held), None) for law_id, pair in candidates.items()
    }


def get_law(store: Store, law_id: str) -> ReportedLaw:
    """One law by id.

    Raises:
        NotFoundError: no such law; the message lists how to see the ids.
    """
    law = store.get(ReportedLaw, law_id)
    if law is None:
        raise NotFoundError(f"no law '{law_id}' in the registry; `kb laws` lists the law ids")
    return law
