"""Ingest caps DuckDB's memory: a big transaction's uncommitted rows go to temporary files
beside the store instead of RAM, and a failed ingest still leaves the store as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ingest.pipeline
from ingest.pipeline import _bytes, ingest_paths
from kb.errors import ParseError
from kb.records import Paper
from kb.store import Store


def _limit(store: Store) -> str:
    row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def _snapshot(path: Path, n: int, *, bad_last: bool = False) -> Path:
    words = "loss falls as a power law in compute and data " * 20
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            record = {
                "id": f"2301.{i:05d}",
                "title": f"Scaling paper number {i}",
                "abstract": f"{words} {i}",
                "authors": "A. Author, B. Author",
                "update_date": "2023-01-02",
            }
            fh.write(json.dumps(record) + "\n")
        if bad_last:
            fh.write('{"id": "2301.99999", "title": \n')
    return path


def test_ingest_lowers_the_memory_limit_then_puts_it_back(tmp_path: Path) -> None:
    src = _snapshot(tmp_path / "snap.jsonl", 3)
    during: list[str] = []
    with Store(tmp_path / "kb.duckdb") as store:
        before = _limit(store)

        def note(*_: object) -> None:
            during.append(_limit(store))

        def note_in(other: Store) -> None:
            during.append(_limit(other))

        ingest_paths(
            store, [src], extract=False, on_progress=lambda *_: during.append(_limit(store))
        )
        assert during
        assert set(during) == {"488.2 MiB"}  # INGEST_MEMORY_LIMIT_MB
        assert _bytes("488.2 MiB") < 512e6
        assert _limit(store) == before
        store.con.execute("SET memory_limit = '100MB'")  # a lower limit is kept
        during.clear()
        ingest_paths(
            store, [src], extract=False, on_progress=lambda *_: during.append(_limit(store))
        )
        assert set(during) == {"95.3 MiB"}
        assert _limit(store) == "95.3 MiB"
    with Store(":memory:") as memory:  # no file to put temporary files beside: left alone
        before = _limit(memory)
        ingest_paths(
            memory, [src], extract=False, on_progress=lambda *_: during.append(_limit(memory))
        )
        assert during[-1] == before


def test_ingest_beyond_the_limit_spills_and_stays_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest.pipeline, "INGEST_MEMORY_LIMIT_MB", 32)
    db = tmp_path / "kb.duckdb"
    spilled: list[int] = []

    def progress(store: Store) -> None:
        row = store.con.execute(
            "SELECT sum(temporary_storage_bytes) FROM duckdb_memory()"
        ).fetchone()
        spilled.append(int(row[0]) if row and row[0] else 0)

    with Store(db) as store:
        ingest_paths(store, [_snapshot(tmp_path / "small.jsonl", 5)], extract=False)
        bad = _snapshot(tmp_path / "bad.jsonl", 25_000, bad_last=True)
        with pytest.raises(ParseError, match=r"bad.jsonl:25001: not a JSON object"):
            ingest_paths(store, [bad], extract=False, on_progress=lambda *_: progress(store))
        assert max(spilled) > 0  # the uncommitted rows went to disk, then were rolled back
        assert store.count(Paper) == 5
        good = _snapshot(tmp_path / "good.jsonl", 25_000)
        ingest_paths(store, [good], extract=False)
        assert store.count(Paper) == 25_000
    assert not list(tmp_path.glob("*.tmp"))  # DuckDB removed its temporary files
