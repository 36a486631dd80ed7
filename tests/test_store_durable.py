"""Store writes that survive a crash or a power cut.

- A staged copy and its companion files are flushed to disk (fsync) before they are renamed in,
  and the folder after the renames.
- Each swap writes one generation token into the store (``_meta``) and into its FAISS index
  file (a trailer), so an index swapped in with another store than the one beside it (a write
  killed between two renames) is named, however alike the two files are.
- ``Store.set_meta`` and ``Store.upsert`` write whole rows or nothing outside a transaction.

Papers are the invented ones of ``tests/test_search.py``.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import kb.store
from kb.errors import IndexMismatchError
from kb.index import build_index, current_index, index_path, open_index
from kb.keyword_cache import keyword_cache_path
from kb.records import Paper
from kb.search import Searcher
from kb.store import (
    GENERATION_KEY,
    TRAILER_BYTES,
    Store,
    generation_of,
    staged,
    stamp_generation,
)
from tests.conftest import ROOT
from tests.test_search import PAPERS, HashEmbedder


def _build(db: Path, embedder: HashEmbedder) -> None:
    """A staged build of the papers and their index (FAISS and keyword companions)."""
    with staged(db) as s:
        s.upsert(PAPERS)
        build_index(s, s.path, model=embedder)


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    _build(db, embedder)
    return db, embedder


def _generation(db: Path) -> str | None:
    with Store(db, read_only=True) as s:
        return s.get_meta(GENERATION_KEY)


# -- the generation token ---------------------------------------------------------------------
def test_a_swap_stamps_one_token_into_the_store_and_its_index(
    built: tuple[Path, HashEmbedder],
) -> None:
    db, embedder = built
    path = index_path(db)
    token, payload = generation_of(path)
    assert token is not None
    assert token == _generation(db)
    assert path.stat().st_size == payload + TRAILER_BYTES
    with Store(db, read_only=True) as s:
        assert s.get_meta("index_file_bytes") == str(payload)  # the length as written
        assert current_index(s, db, model=embedder) is not None  # `kb index`: up to date
        assert Searcher.open(s, db, model=embedder).search("tokenizer", mode="semantic")

    with staged(db) as s:  # a write that leaves the index alone still renews the token
        s.set_meta("note", "x")
    again, payload_again = generation_of(path)
    assert again not in (None, token)
    assert again == _generation(db)
    assert payload_again == payload  # the trailer is replaced, not appended again
    assert path.stat().st_size == payload + TRAILER_BYTES
    with Store(db, read_only=True) as s:
        assert current_index(s, db, model=embedder) is not None
        open_index(s, db, model=embedder)


def test_stamping_leaves_other_files_alone(tmp_path: Path) -> None:
    junk = tmp_path / "kb.duckdb.faiss"
    junk.write_bytes(b"not an index")
    assert not stamp_generation(junk, "0" * 32)
    assert junk.read_bytes() == b"not an index"
    other = tmp_path / "kb.duckdb.keyword.npz"
    other.write_bytes(b"PK")
    assert not stamp_generation(other, "0" * 32)
    assert other.read_bytes() == b"PK"
    with pytest.raises(ValueError, match="32 lower-case hex digits"):
        stamp_generation(junk, "short")


def test_an_index_and_store_without_tokens_work_as_before(tmp_path: Path) -> None:
    """Stores and indexes written before the token (or by a direct, unstaged build)."""
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        s.upsert(PAPERS)
        build_index(s, db, model=embedder)
        assert s.get_meta(GENERATION_KEY) is None
        assert generation_of(index_path(db))[0] is None
        assert current_index(s, db, model=embedder) is not None
        assert Searcher.open(s, db, model=embedder).search("tokenizer", mode="semantic")
    _build(db, embedder)  # the next staged write stamps both
    assert generation_of(index_path(db))[0] == _generation(db) is not None
    with Store(db) as s:  # a direct rebuild writes an unstamped index: the store's own
        build_index(s, db, rebuild=True, model=embedder)
        assert generation_of(index_path(db))[0] is None
        open_index(s, db, model=embedder)


def _other_model_same_width(db: Path) -> None:
    """Rebuild the index with another model of the same width: same size, same row count."""
    with staged(db) as s:
        build_index(s, s.path, rebuild=True, model=HashEmbedder(name="hash-other"))


def _fail_renames_after_the_index(monkeypatch: pytest.MonkeyPatch, db: Path) -> list[str]:
    """os.replace renames the index in, then fails (a full disk, EIO) for the next files."""
    real = os.replace
    done: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        if str(dst) in (str(db), str(keyword_cache_path(db))):
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)
        done.append(str(dst))

    monkeypatch.setattr(kb.store.os, "replace", replace)
    return done


# What the failed swap says: the store's name, the file that failed, what was replaced, the fix.
_CUT = (
    r"kb.duckdb: cannot swap the new version in \(kb.duckdb.keyword.npz: Input/output error\) "
    r"after replacing kb.duckdb.faiss: the store is as it was, but those files are the new "
    r"version's; once the cause is fixed, run `kb index --rebuild --db .*kb.duckdb` to rebuild"
)


def test_a_swap_that_fails_first_says_the_store_is_unchanged(
    built: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, embedder = built
    before = sorted((p.name, p.read_bytes()) for p in db.parent.iterdir() if p.is_file())
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst) == str(index_path(db)):
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(kb.store.os, "replace", replace)
    unchanged = (
        r"kb.duckdb: cannot swap the new version in \(kb.duckdb.faiss: Input/output error\); "
        r"the knowledge base is unchanged$"
    )
    with pytest.raises(kb.store.KBError, match=unchanged):
        _other_model_same_width(db)
    monkeypatch.undo()
    after = sorted((p.name, p.read_bytes()) for p in db.parent.iterdir() if p.is_file())
    assert after == before  # the staging copy removed too
    with Store(db, read_only=True) as s:
        open_index(s, db, model=embedder)


def test_a_swap_cut_after_the_index_is_named_not_searched(
    built: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, embedder = built
    size_before = index_path(db).stat().st_size
    done = _fail_renames_after_the_index(monkeypatch, db)
    with pytest.raises(kb.store.KBError, match=_CUT):
        _other_model_same_width(db)
    monkeypatch.undo()
    assert str(index_path(db)) in done  # the new index is in, the old store stayed
    assert not [p.name for p in db.parent.iterdir() if ".building-" in p.name]
    # The case the old header and length checks could not see: a look-alike file.
    assert index_path(db).stat().st_size == size_before
    with Store(db, read_only=True) as s:
        with pytest.raises(IndexMismatchError) as caught:
            open_index(s, db, model=embedder)
        assert current_index(s, db, model=embedder) is None  # `kb index` rebuilds it
    message = str(caught.value)
    assert f"{index_path(db)} was swapped in with another version of the knowledge base " in (
        message
    )
    assert f"than {db} " in message
    assert f"run `kb index --rebuild --db {db}`" in message
    assert "a write that replaces both was cut short" in message

    # Without the token the two look like a pair: the search would have used another model's
    # vectors for this one's queries.
    path = index_path(db)
    path.write_bytes(path.read_bytes()[:-TRAILER_BYTES])
    with Store(db, read_only=True) as s:
        open_index(s, db, model=embedder)


def test_the_fix_named_repairs_it(
    built: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, embedder = built
    _fail_renames_after_the_index(monkeypatch, db)
    with pytest.raises(kb.store.KBError, match=_CUT):
        _other_model_same_width(db)
    monkeypatch.undo()
    before = embedder.n_texts
    with staged(db) as s:  # what `kb index --rebuild` does
        report = build_index(s, s.path, rebuild=True, model=embedder)
    assert report.n_embedded == 0  # every vector was in the store's cache
    assert embedder.n_texts == before
    with Store(db, read_only=True) as s:
        hits = Searcher.open(s, db, model=embedder).search("robot grasping", mode="semantic")
    assert hits[0].title == "Robot Grasping with Many Demonstrations"
    assert not [p.name for p in db.parent.iterdir() if ".building-" in p.name]


# -- fsync ------------------------------------------------------------------------------------
def test_every_file_is_flushed_before_the_swap_and_the_folder_after(
    built: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = built
    real_fsync, real_replace = os.fsync, os.replace
    events: list[tuple[str, str]] = []

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(kb.store.os, "fsync", fsync)
    monkeypatch.setattr(kb.store.os, "replace", replace)
    with staged(db) as s:
        s.set_meta("note", "x")
        prefix = s.path
    monkeypatch.undo()
    swap = [i for i, (what, dst) in enumerate(events) if what == "replace" and dst == str(db)]
    assert len(swap) == 1
    flushed_before = {p for what, p in events[: swap[0]] if what == "fsync"}
    for name in ("", ".faiss", ".keyword.npz"):
        assert f"{prefix}{name}" in flushed_before, (name, events)
    assert events[-1] == ("fsync", str(db.parent))  # the renames themselves


def test_a_flush_that_fails_leaves_the_store_as_it_was(
    built: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = built
    before = sorted((p.name, p.read_bytes()) for p in db.parent.iterdir() if p.is_file())

    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(kb.store.os, "fsync", fsync)
    unchanged = r"cannot write the new version to disk .*Input/output error\); the knowledge base"
    with pytest.raises(kb.store.KBError, match=unchanged), staged(db) as s:
        s.set_meta("note", "x")
    monkeypatch.undo()
    after = sorted((p.name, p.read_bytes()) for p in db.parent.iterdir() if p.is_file())
    assert after == before


# -- set_meta and upsert: whole or not at all -------------------------------------------------
class _FailingInsert:
    """A DuckDB connection whose INSERTs fail, recording every statement it is given."""

    def __init__(self, con: Any, fail: bool = True):
        self._con = con
        self.fail = fail
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql.split()[0].upper())
        if self.fail and sql.lstrip().upper().startswith("INSERT"):
            raise RuntimeError("killed between the DELETE and the INSERT")
        # DuckDB finds ``batch`` (an Arrow table) among the locals of the frame calling it
        batch = sys._getframe(1).f_locals.get("batch")  # noqa: F841
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_set_meta_keeps_the_old_value_when_the_insert_fails(tmp_path: Path) -> None:
    with Store(tmp_path / "kb.duckdb") as s:
        s.set_meta("k", "old")
        real = s.con
        s.con = _FailingInsert(real)  # type: ignore[assignment]
        with pytest.raises(RuntimeError, match="killed between"):
            s.set_meta("k", "new")
        s.con = real
        assert s.get_meta("k") == "old"  # was None: the DELETE had committed on its own


def test_upsert_keeps_the_old_row_when_the_insert_fails(tmp_path: Path) -> None:
    with Store(tmp_path / "kb.duckdb") as s:
        s.upsert([Paper(paper_id="a", title="old")])
        real = s.con
        s.con = _FailingInsert(real)  # type: ignore[assignment]
        with pytest.raises(RuntimeError, match="killed between"):
            s.upsert([Paper(paper_id="a", title="new")])
        s.con = real
        assert [p.title for p in s.select(Paper)] == ["old"]


def test_inside_a_transaction_no_transaction_of_their_own(tmp_path: Path) -> None:
    with Store(tmp_path / "kb.duckdb") as s:
        proxy = _FailingInsert(s.con, fail=False)
        s.con = proxy  # type: ignore[assignment]
        with s.transaction():
            s.set_meta("k", "v")
            s.upsert([Paper(paper_id="a", title="t")])
        assert proxy.statements == ["BEGIN", "DELETE", "INSERT", "DELETE", "INSERT", "COMMIT"]
        proxy.statements.clear()
        s.set_meta("k", "w")
        assert proxy.statements == ["BEGIN", "DELETE", "INSERT", "COMMIT"]


# -- a real kill -9 in the swap window --------------------------------------------------------
_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path

    import kb.store
    from kb.index import build_index
    from kb.store import staged
    from tests.test_search import HashEmbedder

    db = Path(sys.argv[1])
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if str(dst) == f"{db}.faiss":  # the new index is in, the old store still there
            print("swapping", flush=True)
            time.sleep(60)

    kb.store.os.replace = replace
    with staged(db) as s:
        build_index(s, s.path, rebuild=True, model=HashEmbedder(name="hash-other"))
    """
)


def test_kill_9_between_the_renames_is_named_then_repaired(
    built: tuple[Path, HashEmbedder],
) -> None:
    """A real SIGKILL, sent once the child has renamed the new index in and before it renames
    the store (the child says so and waits: its os.replace is wrapped, nothing else)."""
    db, embedder = built
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "swapping\n", child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with Store(db, read_only=True) as s:
        with pytest.raises(IndexMismatchError, match=r"swapped in with another version .* run "
                           r"`kb index --rebuild --db "):  # fmt: skip
            Searcher.open(s, db, model=embedder)
        assert current_index(s, db, model=embedder) is None
    with staged(db) as s:  # `kb index --rebuild`; also removes the killed build's copy
        assert build_index(s, s.path, rebuild=True, model=embedder).n_embedded == 0
    with Store(db, read_only=True) as s:
        assert Searcher.open(s, db, model=embedder).search("inverse scaling")
    assert not [p.name for p in db.parent.iterdir() if ".building-" in p.name]
