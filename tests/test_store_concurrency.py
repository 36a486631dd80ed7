"""Several processes on one store: the app and CLI readers beside writers, two writers at once,
and stores the user may not write (a chmod 444 file, a read-only folder)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.store
from kb.cli import cli
from kb.errors import KBError
from kb.index import index_path
from kb.records import Paper
from kb.store import Store, staged


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kb.duckdb"
    with staged(path) as s:
        s.upsert([Paper(paper_id="a", title="first")])
    return path


def _ids(path: Path) -> list[str]:
    with Store(path, read_only=True) as s:
        return [p.paper_id for p in s.select(Paper)]


def test_two_writers_at_once_keep_both_writes(db: Path) -> None:
    """Two `kb ingest` (or an ingest and a `kb fit` storing its fit) at once: each staged a copy
    of the old file and the last swap won, so the other's papers were lost with exit status 0.
    The second writer now waits for the first and copies its result."""
    first_in = threading.Event()
    second_in = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_in.wait(10)
            with staged(db) as s:
                second_in.set()
                s.upsert([Paper(paper_id="c", title="third")])
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=second)
    thread.start()
    with staged(db) as s:
        first_in.set()
        # Without a writer lock the second writer copies the old file now, and swaps last.
        assert not second_in.wait(1.5)
        s.upsert([Paper(paper_id="b", title="second")])
    thread.join(30)
    assert not errors
    assert _ids(db) == ["a", "b", "c"]
    assert sorted(p.name for p in db.parent.iterdir()) == ["kb.duckdb"]  # lock file removed


def test_a_writer_waits_and_says_for_whom(
    db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(kb.store, "WRITER_WAIT_SECONDS", 0.5)
    errors: list[BaseException] = []

    def other_writer() -> None:  # another thread waits like another process
        try:
            with staged(db):
                errors.append(AssertionError("entered while another writer held the store"))
        except KBError as err:
            errors.append(err)

    with staged(db) as s:
        s.upsert([Paper(paper_id="b", title="second")])
        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(10)
    assert len(errors) == 1
    assert re.search(r"another kb command is still writing.*PID \d+", str(errors[0]))
    assert "waiting for another kb command writing it" in caplog.text
    assert _ids(db) == ["a", "b"]


def test_a_staged_inside_another_in_one_thread_does_not_wait_for_itself(db: Path) -> None:
    """It waited WRITER_WAIT_SECONDS for its own lock, then failed (the last swap wins, as
    tests/test_ingest_qa.py expects of two builds in one process)."""
    with staged(db) as outer:
        outer.upsert([Paper(paper_id="b", title="second")])
        with staged(db) as inner:
            inner.upsert([Paper(paper_id="c", title="third")])
    assert _ids(db) == ["a", "b"]


@pytest.fixture
def foreign_writer(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another program (a DuckDB shell, a notebook) holding the store open for writing."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
        "time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "open"
    yield proc
    proc.kill()
    proc.wait()


def test_a_lock_held_by_another_program_names_it(
    db: Path, foreign_writer: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb.store, "LOCK_WAIT_SECONDS", 0.3)
    result = CliRunner().invoke(cli, ["stats", "--db", str(db)])
    assert result.exit_code == 1
    assert f"locked by another program writing it (PID {foreign_writer.pid}: " in result.output
    assert "import duckdb" in result.output  # its command line
    assert "Traceback" not in result.output
    # A writer must not swap a new file in under it: what that program writes would be lost.
    before = db.read_bytes()
    refused = rf"PID {foreign_writer.pid}.*nothing was written"
    with pytest.raises(KBError, match=refused), staged(db):
        pytest.fail("staged a copy of a file another program is writing")
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["kb.duckdb"]


def test_a_brief_lock_is_waited_out(db: Path) -> None:
    """A build's CHECKPOINT holds the file's lock for a moment; a reader opening then failed."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
        "time.sleep(1); con.close()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "open"
    assert _ids(db) == ["a"]
    proc.wait()


def _read_only(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """What a user who may not write ``path`` sees (the tests may run as root, who may)."""
    real = kb.store.os.access

    def access(p: object, mode: int) -> bool:
        return False if Path(str(p)) == path and mode & kb.store.os.W_OK else real(p, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(kb.store.os, "access", access)


@pytest.mark.parametrize("which", ["folder", "file"])
def test_a_read_only_store_is_a_clear_error_for_writers(
    db: Path, which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer in a read-only folder died with a PermissionError traceback from shutil.copy2;
    a chmod 444 file was reported as 'Permission denied' on the working copy's name."""
    _read_only(monkeypatch, db.parent if which == "folder" else db)
    why = "its folder .* is read-only" if which == "folder" else "the file is read-only"
    with pytest.raises(KBError, match=rf"cannot write the knowledge base \({why}\)"), staged(db):
        pytest.fail("staged a copy of a read-only store")
    result = CliRunner().invoke(cli, ["fit", "toy", "--law", "power_law", "--db", str(db)])
    assert result.exit_code == 1
    assert "cannot write the knowledge base" in result.output
    assert "--no-save" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in db.parent.iterdir()) == ["kb.duckdb"]
    assert _ids(db) == ["a"]  # reads still work


def test_describe_process_names_another_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import pwd

    me = os.getpid()
    mine = kb.store.describe_process(me)
    assert mine.startswith(f"PID {me}: ")
    assert "pytest" in mine or "python" in mine  # the command line
    owner = pwd.getpwuid(os.getuid()).pw_name
    monkeypatch.setattr(kb.store.os, "getuid", lambda: os.geteuid() + 1)  # as someone else sees it
    assert kb.store.describe_process(me).startswith(f"PID {me} of user {owner}: ")
    assert kb.store.describe_process(2**22 + 7, "gone") == f"PID {2**22 + 7}: gone"


def test_describe_process_keeps_to_one_line() -> None:
    long = "python -c '\nimport duckdb\n" + "x = 1; " * 60 + "'"
    text = kb.store.describe_process(2**22 + 7, long)
    assert "\n" not in text
    assert text.startswith(f"PID {2**22 + 7}: python -c ' import duckdb x = 1;")
    assert len(text) < 200
    assert text.endswith("…")


def test_a_symlinked_store_is_written_through_the_link(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store reached through a symbolic link (data/kb.duckdb -> a shared disk): the swap
    replaced the link with a copy, so the store it named never got the write, and a writer
    through the link and one on the file held different writer locks. A link in a read-only
    folder was refused though the store it names is writable."""
    links = tmp_path / "links"
    links.mkdir()
    link = links / "kb.duckdb"
    link.symlink_to(db)
    _read_only(monkeypatch, links)  # the link's folder: nothing is built there
    with staged(link) as s:
        s.upsert([Paper(paper_id="b", title="second")])
    assert link.is_symlink()
    assert _ids(db) == ["a", "b"]
    assert sorted(p.name for p in links.iterdir()) == ["kb.duckdb"]
    assert kb.store.store_file(link) == kb.store.store_file(db) == db
    # Readers through the link look for the search index where a writer through it builds it.
    assert index_path(link) == index_path(db) == db.with_name("kb.duckdb.faiss")
