"""The atomic write (kb.plotfile.atomic_file) and the project files that go through it: a
failed write leaves the old file as it was and no temporary file beside it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest.claims.rescue import RescueMeta, RescueModel
from kb import plotfile
from kb.errors import KBError
from kb.keyword import KeywordIndex
from kb.keyword_cache import save_keyword_index
from kb.match import MatchRule
from kb.query_adapter import AdapterMeta, QueryAdapter
from kb.translation import TermTranslation, TranslationMeta

ROOT = Path(__file__).resolve().parent.parent


def _jsonl(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks._jsonl import write_jsonl

    write_jsonl(path, [{"a": 1}])


WRITERS: dict[str, Callable[[Path], None]] = {
    "weak_match.json": lambda p: MatchRule(encoder="e", dim=4, threshold=0.5).save(p),
    "term_translation.json": lambda p: TermTranslation(
        meta=TranslationMeta(method="m", trained_on="t", top_k=1, floor=0.0, min_queries=1),
        table={"a": {"b": 1.0}},
    ).save(p),
    "query_adapter.npz": lambda p: QueryAdapter(
        AdapterMeta(encoder="e", dim=4, rank=1, trained_on="t"), np.ones((4, 1)), np.ones((1, 4))
    ).save(p),
    "claims_rescue.npz": lambda p: RescueModel(
        RescueMeta(encoder="e", dim=4, intercept=0.0, threshold=0.5, trained_on="t"), np.ones(4)
    ).save(p),
    "kb.duckdb.keyword.npz": lambda p: save_keyword_index(
        p, KeywordIndex({"title": ["scaling laws"], "abstract": ["loss falls"]}), "d" * 64
    ),
    "pool.jsonl": _jsonl,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_project_files_are_written_atomically(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / name
    WRITERS[name](target)  # writes
    assert target.stat().st_size > 0
    target.write_bytes(b"old")

    def _fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plotfile.os, "replace", _fail)
    with pytest.raises(KBError, match=rf"{name}: cannot write the .*: No space left on device"):
        WRITERS[name](target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_atomic_file_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "x.npz"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="half"), plotfile.atomic_file(target) as fh:
        fh.write(b"new, half")
        raise ValueError("half written")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_atomic_file_gives_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "rule.json"
    MatchRule(encoder="e", dim=4, threshold=0.5).save(target)
    assert target.stat().st_mode & 0o777 == 0o666 & ~plotfile._UMASK
