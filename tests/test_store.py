"""The store: schema matches the record models, upserts are idempotent, rollbacks are total."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.errors import KBError
from kb.records import Paper, Point, paper_id_for
from kb.store import MIGRATIONS, MODELS, Store, staged


def test_every_table_matches_its_model(store: Store) -> None:
    for model in MODELS:
        cols = [
            r[0]
            for r in store.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [model.table],
            ).fetchall()
        ]
        assert cols == list(model.model_fields), model.table


def test_upsert_is_idempotent_and_round_trips(store: Store) -> None:
    paper = Paper(
        paper_id=paper_id_for("A  Title"),
        title="A  Title",
        abstract=" some\ntext ",
        authors=["A. B."],
        published=dt.date(2024, 5, 1),
    )
    point = Point(
        point_id="p1", dataset="d", metric="loss", value=2.5, unit="nats/token",
        source_file="f.csv", source_row=1, extras={"lr": 0.001, "tags": ["x"]},
    )  # fmt: skip
    for _ in range(2):
        store.upsert([paper, point])
    assert store.count(Paper) == 1
    assert store.select(Paper) == [paper]
    assert store.select(Point) == [point]
    assert paper.title == "A Title"
    assert paper.abstract == "some text"


def test_failed_transaction_changes_nothing(store: Store) -> None:
    store.upsert([Paper(paper_id="a", title="kept")])
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert([Paper(paper_id="b", title="lost"), Paper(paper_id="a", title="changed")])
        raise RuntimeError("boom")
    assert [p.title for p in store.select(Paper)] == ["kept"]


def test_staged_swaps_only_on_success(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with staged(db) as s:
        s.upsert([Paper(paper_id="a", title="first")])
    with pytest.raises(RuntimeError), staged(db) as s:
        s.upsert([Paper(paper_id="b", title="second")])
        raise RuntimeError("boom")
    with Store(db, read_only=True) as s:
        assert [p.paper_id for p in s.select(Paper)] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.duckdb"]


def test_reader_keeps_serving_during_a_build(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with staged(db) as s:
        s.upsert([Paper(paper_id="a", title="first")])
    reader = Store(db, read_only=True)
    with staged(db) as s:
        s.upsert([Paper(paper_id="b", title="second")])
    assert reader.count(Paper) == 1  # the old file, still open
    reader.close()
    with Store(db, read_only=True) as fresh:
        assert fresh.count(Paper) == 2


def test_read_only_store_must_exist(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="no knowledge base"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    Store(db).close()
    with Store(db) as s:
        assert s.schema_version == len(MIGRATIONS)


def test_duckdb_prints_no_progress_bar_of_its_own(tmp_path: Path) -> None:
    """DuckDB drew '100% ▕███▏' on stdout for any statement over 2 s (a 100k-paper
    ``kb ingest``), under -q too, and before ``--json``'s first object. It turns its bar off
    by itself under pytest (PYTEST_* variables), so this looks from a process without them."""
    script = f"""
from kb.store import Store
setting = "SELECT current_setting('enable_progress_bar')"
for path in (":memory:", {str(tmp_path / "kb.duckdb")!r}):
    with Store(path) as store:
        print(store.con.execute(setting).fetchone(), store.cursor().execute(setting).fetchone())
        with store.transaction():
            print(store.cursor().execute(setting).fetchone())
with Store({str(tmp_path / "kb.duckdb")!r}, read_only=True) as store:
    print(store.cursor().execute(setting).fetchone())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n") == [
        "(False,) (False,)",
        "(False,)",
        "(False,) (False,)",
        "(False,)",
        "(False,)",
        "",
    ]
