"""``Store.select(validate=False)``: records built without validators equal the validated ones.

The fast read path (``model_construct``) must hand back exactly what ``model_validate`` would:
same values AND same Python types (an ``int`` where the model holds a ``float`` compares equal
but serialises differently), for every record kind, on the seed store and on hand-made rows
that exercise every column type (dates, datetimes, JSON dicts and lists, NULL lists, Literals).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kb.records import (
    Appearance,
    Claim,
    Dataset,
    Exponent,
    FitRecord,
    Paper,
    Point,
    Record,
    ReportedLaw,
    paper_id_for,
)
from kb.scoreboard import Score
from kb.store import MODELS, Store

KINDS: tuple[type[Record], ...] = (*MODELS, Score)


def _typed(value: Any) -> Any:
    """``value`` with the type of every leaf spelled out, so 1 and 1.0 differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(_typed(v) for v in value)]
    return (type(value).__name__, value)


def _assert_same(store: Store, model: type[Record]) -> int:
    slow = store.select(model)
    fast = store.select(model, validate=False)
    assert fast == slow, model.__name__
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b)
        assert a.model_fields_set == b.model_fields_set
        assert a.model_dump_json() == b.model_dump_json()
        assert _typed(dict(a)) == _typed(dict(b)), f"{model.__name__} {a!r}"
    return len(fast)


def _fixture_rows() -> list[Record]:
    """One or two rows per record kind, covering every column type the store maps."""
    pid = paper_id_for("Invented Fixture Paper", "2401.00001")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    return [
        Paper(paper_id=pid, arxiv_id="2401.00001", title="Invented  Fixture\nPaper",
              abstract="We fit a law.  It holds.", authors=["A. One", "B. Two"], n_authors=2,
              published=dt.date(2024, 1, 1), upvotes=3, organization="Org",
              categories=["cs.LG", "stat.ML"], studies_scaling_law=True, domain="language",
              extractor_version="v1"),
        Paper(paper_id=paper_id_for("Bare"), title="Bare"),  # NULL lists, dates, flags
        Appearance(paper_id=pid, source="/x/l.txt", position=1, line=2, format="listing",
                   raw_date="Jan 1"),
        Claim(claim_id="c1", paper_id=pid, response="loss", variables=["model_size", "data_size"],
              form="power_law", direction="improves", evidence="We fit a law.", span_start=0,
              span_end=13, extractor_version="v1"),
        Claim(claim_id="c2", paper_id=pid, response="loss", variables=[], form="other",
              direction="unspecified", evidence="It holds.", span_start=14, span_end=23,
              extractor_version="v1"),
        Exponent(exponent_id="e1", paper_id=pid, value=0.34, variable="model_size",
                 text="0.34", span_start=0, span_end=4, extractor_version="v1"),
        Exponent(exponent_id="e2", paper_id=pid, claim_id="c1", symbol="alpha", value=1.0,
                 variable="data_size", text="1", span_start=5, span_end=6,
                 extractor_version="v1"),
        Dataset(name="d", path="/x/d", adapter_version="1", source_paths=["a.csv", "b.csv"],
                n_points=2, caveats="none"),
        Dataset(name="e", path="/x/e", adapter_version="1"),
        Point(point_id="p1", dataset="d", metric="loss", value=2.0, unit="nats/token",
              source_file="a.csv", source_row=1, n_params=1e9, n_tokens=2e10, step=7,
              derived=["compute_flops"], compute_flops=1.2e20,
              extras={"lr": 0.001, "arch": "dense", "layers": 12, "nested": {"x": [1, 2.5]}}),
        Point(point_id="p2", dataset="d", metric="loss", value=3.0, unit="nats/token",
              source_file="a.csv", source_row=2),
        ReportedLaw(law_id="l1", arxiv_id="2203.15556", title="T", year=2022, name="n",
                    formula="L = E + A/N^a", params={"E": 1.69, "A": 406.4, "alpha": 1.0},
                    intervals={"alpha": [0.3, 0.4]}, derived={"a": 0.5},
                    conventions={"N": "non-embedding"}, source="eq. 2", verified=True),
        FitRecord(fit_id="f1", dataset="d", law="chinchilla", recipe="r",
                  options={"delta": 0.001, "drop": [1, 2], "flag": True},
                  params={"E": 2.0, "A": 1.5}, intervals={"E": [1.0, 3.0]},
                  derived={"a": 0.5}, objective=0.25, n_points=2, n_starts=4, n_converged=3,
                  seed=0, holdout={"axis": "compute", "fraction": 0.2}, version="1",
                  created_at=when),
        FitRecord(fit_id="f2", dataset="d", law="chinchilla", recipe="r", params={"E": 2.0},
                  objective=1.0, n_points=2, n_starts=1, n_converged=1, seed=1, version="1",
                  created_at=when),
        Score(score_id="s1", dataset="d", metric="loss", law="chinchilla", recipe="r",
              holdout_axis="compute", holdout_fraction=0.2, n_train=1, n_test=1, rmse=0.1,
              status="ok", version="1", created_at=when),
        Score(score_id="s2", dataset="d", metric="loss", law="chinchilla", recipe="r",
              holdout_axis="compute", holdout_fraction=0.5, status="failed", message="no fit",
              version="1", created_at=when),
    ]  # fmt: skip


def test_construct_equals_validate_on_fixture_rows(tmp_path: Path) -> None:
    rows = _fixture_rows()
    with Store(tmp_path / "kb.duckdb") as store:
        store.upsert(rows)
    with Store(tmp_path / "kb.duckdb", read_only=True) as store:
        counts = {m.__name__: _assert_same(store, m) for m in KINDS}
    assert all(counts.values()), counts  # every kind had rows to compare


@pytest.mark.slow
def test_construct_equals_validate_on_seed_store(shared: Path, tmp_path: Path) -> None:
    from ingest.pipeline import ingest_paths
    from ingest.released.ingest import ingest_datasets
    from kb.registry import sync_registry

    db = tmp_path / "seed.duckdb"
    with Store(db) as store:
        ingest_paths(store, [shared / "seeds"], extract=True)
        with store.transaction():
            ingest_datasets(store, sorted(p for p in (shared / "datasets").iterdir() if p.is_dir()))
        sync_registry(store)
    with Store(db, read_only=True) as store:
        counts = {m.__name__: _assert_same(store, m) for m in KINDS}
    for kind in ("Paper", "Appearance", "Claim", "Exponent", "Dataset", "Point", "ReportedLaw"):
        assert counts[kind] > 0, counts


def test_select_where_order_limit_pass_through(store: Store) -> None:
    store.upsert(_fixture_rows())
    fast = store.select(Claim, "paper_id = ?", [_fixture_rows()[0].paper_id],  # type: ignore[attr-defined]
                        order_by="claim_id DESC", limit=1, validate=False)  # fmt: skip
    assert [c.claim_id for c in fast] == ["c2"]
