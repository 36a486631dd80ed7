"""The embedding journal (kb.embed_journal): vectors saved durably while ``kb index`` encodes,
read back by the next build after a kill. The kill itself is in tests/test_interrupts.py."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kb.embed import BATCH, EmbedCache
from kb.embed_journal import EmbedJournal, journal_folder
from kb.index import build_index
from kb.records import Paper, paper_id_for
from kb.store import Store, staged


class Counting:
    """A deterministic encoder that counts the texts it was given."""

    name, dim = "counting-test", 8

    def __init__(self, fail_at_call: int | None = None) -> None:
        self.texts = 0
        self.calls = 0
        self.fail_at_call = fail_at_call

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_at_call:
            raise MemoryError("the model ran out of memory")  # stands in for a hard stop
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, sum(t.encode()) % self.dim] = 1.0
        return out


def _texts(n: int) -> list[str]:
    return [f"text number {i}" for i in range(n)]


def _cached(store: Store) -> int:
    row = store.cursor().execute("SELECT count(*) FROM embeddings").fetchone()
    return int(row[0]) if row else 0


def test_the_folder_is_beside_the_store_but_not_a_companion_file(tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "kb.duckdb")
    assert folder == tmp_path / ".kb.duckdb.embed-journal"
    assert not folder.name.startswith("kb.duckdb.")  # kb.store.companion_files would copy it


def test_the_folder_of_a_linked_store_is_beside_the_file_it_names(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "kb.duckdb").touch()
    (tmp_path / "link.duckdb").symlink_to(tmp_path / "real" / "kb.duckdb")
    assert (
        journal_folder(tmp_path / "link.duckdb") == tmp_path / "real" / ".kb.duckdb.embed-journal"
    )


def test_chunks_are_written_every_n_texts_and_read_back_after_the_run_dies(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    journal = EmbedJournal(folder, flush_texts=2 * BATCH, flush_seconds=3600)
    encoder = Counting(fail_at_call=6)  # five batches encoded, then a hard failure
    with Store(tmp_path / "a.duckdb") as store, pytest.raises(MemoryError):
        EmbedCache(store, encoder, journal).embed(_texts(10 * BATCH))
    # Two chunks by count (4 batches), and the fifth batch saved on the way out.
    assert [len(np.load(p)["shas"]) for p in journal.chunks()] == [2 * BATCH, 2 * BATCH, BATCH]
    assert journal.n_saved == 5 * BATCH
    assert not list(folder.glob("*.tmp"))

    # The store it wrote into is gone (a staged copy dropped); a fresh one reads the journal.
    with Store(tmp_path / "b.duckdb") as store:
        again = EmbedJournal(folder)
        assert again.recover(store) == 5 * BATCH
        second = Counting()
        vectors = EmbedCache(store, second, again).embed(_texts(10 * BATCH))
        assert second.texts == 5 * BATCH  # only the rest
    assert np.array_equal(vectors, Counting().encode(_texts(10 * BATCH)))


def test_a_chunk_is_written_after_flush_seconds_whatever_the_count(tmp_path: Path) -> None:
    journal = EmbedJournal(tmp_path / "j", flush_texts=10**9, flush_seconds=0.0)
    with Store(":memory:") as store:
        EmbedCache(store, Counting(), journal).embed(_texts(3 * BATCH))
    assert len(journal.chunks()) == 3  # one per batch: each was "due"


def test_a_successful_embed_saves_its_tail_before_returning(tmp_path: Path) -> None:
    """The FAISS build after embedding can take minutes at scale; a kill then keeps the tail."""
    journal = EmbedJournal(tmp_path / "j", flush_texts=10**9, flush_seconds=3600)
    with Store(":memory:") as store:
        EmbedCache(store, Counting(), journal).embed(_texts(BATCH + 5))
    assert journal.n_saved == BATCH + 5
    assert len(journal.chunks()) == 1


def test_a_half_written_chunk_is_never_read_and_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    journal = EmbedJournal(folder, flush_texts=1)
    journal.append("m", ["a" * 64], np.ones((1, 4), dtype=np.float32))
    whole = journal.chunks()[0]
    half = folder / (whole.name[: -len(".npz")] + "-x.npz.tmp")
    half.write_bytes(whole.read_bytes()[:100])  # what a kill mid-write leaves
    with Store(":memory:") as store:
        assert EmbedJournal(folder).recover(store) == 1
    assert not half.exists()


def test_an_unreadable_chunk_is_named_deleted_and_the_rest_recovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "j"
    journal = EmbedJournal(folder, flush_texts=1)
    journal.append("m", ["a" * 64], np.ones((1, 4), dtype=np.float32))
    journal.append("m", ["b" * 64], np.ones((1, 4), dtype=np.float32))
    bad, good = journal.chunks()
    bad.write_bytes(b"PK\x03\x04 not a whole zip")  # a damaged disk block
    with Store(":memory:") as store, caplog.at_level(logging.WARNING):
        assert EmbedJournal(folder).recover(store) == 1
    assert f"{bad}: unreadable embedding journal chunk" in caplog.text
    assert journal.chunks() == [good]


def test_a_chunk_whose_shapes_disagree_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    np.savez(folder / "1-1-1.npz", model=np.array("m"), dim=np.array(4),
             shas=np.array(["a" * 64, "b" * 64], dtype="S64"),
             vectors=np.ones((1, 4), dtype=np.float32))  # fmt: skip
    with Store(":memory:") as store:
        assert EmbedJournal(folder).recover(store) == 0
        assert _cached(store) == 0


def test_clear_deletes_only_the_chunks_it_read_or_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    ours = EmbedJournal(folder, flush_texts=1)
    ours.append("m", ["a" * 64], np.ones((1, 4), dtype=np.float32))
    theirs = EmbedJournal(folder, flush_texts=1)  # another build, started after ours swapped
    theirs.append("m", ["b" * 64], np.ones((1, 4), dtype=np.float32))
    ours.clear()
    assert len(theirs.chunks()) == 1
    theirs.clear()
    assert not folder.exists()


def _papers(path: Path, n: int) -> Path:
    with Store(path) as store:
        store.upsert(
            Paper(
                paper_id=paper_id_for(f"Paper {i}"),
                title=f"Paper {i}",
                abstract=f"Loss falls as a power law {i}. Larger models {i} need fewer tokens.",
            )
            for i in range(n)
        )
    return path


def test_a_build_after_a_killed_one_encodes_only_what_the_journal_lacks(tmp_path: Path) -> None:
    db = _papers(tmp_path / "kb.duckdb", 100)
    (tmp_path / "clean").mkdir()
    clean = _papers(tmp_path / "clean" / "kb.duckdb", 100)
    with Store(clean) as store:
        build_index(store, model=Counting())

    folder = journal_folder(db)
    with pytest.raises(MemoryError), staged(db) as store:  # the copy is dropped, as by a kill
        build_index(store, store.path, model=Counting(fail_at_call=3),
                    journal=EmbedJournal(folder, flush_texts=BATCH))  # fmt: skip
    with Store(db, read_only=True) as store:
        assert _cached(store) == 0  # the store is as it was
    saved = sum(len(np.load(p)["shas"]) for p in EmbedJournal(folder).chunks())
    assert saved == 2 * BATCH

    encoder = Counting()
    journal = EmbedJournal(folder)
    with staged(db) as store:
        report = build_index(store, store.path, model=encoder, journal=journal)
    journal.clear()
    assert report.n_recovered == saved
    assert encoder.texts == report.n_embedded + report.n_terms_embedded
    with Store(clean, read_only=True) as a, Store(db, read_only=True) as b:
        total = _cached(a)
        assert _cached(b) == total == saved + encoder.texts
    assert not folder.exists()


def test_a_journal_that_cannot_be_written_warns_and_the_embedding_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the journal folder would go")
    journal = EmbedJournal(blocked / "j", flush_texts=BATCH)
    with Store(":memory:") as store, caplog.at_level(logging.WARNING):
        vectors = EmbedCache(store, Counting(), journal).embed(_texts(3 * BATCH))
        assert _cached(store) == 3 * BATCH
    assert vectors.shape == (3 * BATCH, Counting.dim)
    assert journal.broken is not None
    assert journal.n_saved == 0
    assert caplog.text.count("embedding journal: cannot write") == 1
