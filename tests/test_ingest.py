"""The ingest pipeline and ``kb ingest``: merging, idempotence, all-or-nothing, errors."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.pipeline import STAGES, collect_inputs, ingest_paths
from kb.cli import cli
from kb.errors import ParseError
from kb.query import list_papers, stats
from kb.records import Appearance, Paper, paper_id_for
from kb.store import Store
from tests.conftest import FIXTURES

LISTINGS = FIXTURES / "listings"
FORMATS = FIXTURES / "formats"
GOOD = ["blocks_plain.txt", "blocks_meta.txt", "blocks_yearless.txt", "compact.txt"]
TINY = paper_id_for("Scaling Laws for Tiny Test Models")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder of good listings and tables, a released-dataset folder and a stray README."""
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    for name in GOOD[:2]:
        shutil.copy(LISTINGS / name, root / name)
    for name in GOOD[2:]:
        shutil.copy(LISTINGS / name, root / "sub" / name)
    shutil.copy(FORMATS / "papers.csv", root / "sub" / "papers.csv")
    shutil.copytree(FIXTURES / "datasets" / "epoch_chinchilla", root / "epoch_chinchilla")
    (root / "README.md").write_text("# notes\n", encoding="utf-8")
    return root


def snapshot(store: Store) -> tuple[list[Paper], list[Appearance]]:
    return store.select(Paper), store.select(Appearance)


def test_collect_inputs_walks_folders_and_sets_aside_datasets(corpus: Path) -> None:
    files, folders, skipped = collect_inputs([corpus])
    assert [f.name for f in files] == [*sorted(GOOD[:2]), *sorted([*GOOD[2:], "papers.csv"])]
    assert folders == [(corpus / "epoch_chinchilla").resolve()]
    assert skipped == [(corpus / "README.md").resolve()]


def test_ingest_merges_duplicates_and_keeps_every_appearance(store: Store, corpus: Path) -> None:
    report = ingest_paths(store, [corpus])
    # 3 + 3 + 3 + 3 listing entries + 2 CSV rows; the tiny paper is in all five files.
    assert report.entries == 14
    assert [f.entries for f in report.files] == [3, 3, 3, 3, 2]
    assert report.datasets == {"epoch_chinchilla": 4}
    assert report.laws >= 20
    assert store.count(Appearance) == 14
    distinct = {a.paper_id for a in store.select(Appearance)}
    assert store.count(Paper) == len(distinct) == report.new_papers == 9
    tiny = store.get(Paper, TINY)
    assert tiny is not None
    # filled from other appearances: author count and upvotes from blocks_meta, date too,
    # the authors list from the CSV; no appearance's value is invented.
    assert (tiny.n_authors, tiny.upvotes, tiny.published) == (4, 2, dt.date(2025, 5, 12))
    assert tiny.authors == ["Ada Lovelace", "Alan Turing"]
    assert store.count(Appearance, "paper_id = ?", [TINY]) == 6
    counts = stats(store)
    assert (counts["listing_entries"], counts["papers"], counts["listing_files"]) == (14, 9, 5)


def test_reingest_changes_nothing(store: Store, corpus: Path) -> None:
    ingest_paths(store, [corpus])
    before = snapshot(store)
    again = ingest_paths(store, [corpus])
    assert (again.new_papers, again.updated_papers, again.unchanged_papers) == (0, 0, 9)
    assert snapshot(store) == before


def test_order_of_files_fills_but_does_not_overwrite(store: Store) -> None:
    ingest_paths(store, [LISTINGS / "blocks_plain.txt"])
    assert store.get(Paper, TINY).published is None  # type: ignore[union-attr]
    report = ingest_paths(store, [LISTINGS / "blocks_meta.txt"])
    assert report.updated_papers == 1
    assert store.get(Paper, TINY).published == dt.date(2025, 5, 12)  # type: ignore[union-attr]


def test_failed_ingest_leaves_store_unchanged(store: Store, corpus: Path) -> None:
    ingest_paths(store, [LISTINGS / "blocks_plain.txt"])
    before = snapshot(store)
    # The good files sort before the bad one, so they are written before the failure.
    shutil.copy(LISTINGS / "truncated.txt", corpus / "zz_truncated.txt")
    with pytest.raises(ParseError, match=r"zz_truncated.txt:6: "):
        ingest_paths(store, [corpus])
    assert snapshot(store) == before


def test_cli_ingest_then_stats_and_papers(tmp_path: Path, corpus: Path) -> None:
    db = str(tmp_path / "kb.duckdb")
    runner = CliRunner()
    result = runner.invoke(cli, ["-q", "ingest", str(corpus), "--db", db])
    assert result.exit_code == 0, result.output
    assert "5 files, 14 entries, 9 distinct papers: 9 new, 0 updated, 0 unchanged" in result.output
    assert "1 datasets read (4 points), 0 unchanged" in result.output
    result = runner.invoke(cli, ["stats", "--json", "--db", db])
    counts = json.loads(result.output)
    assert (counts["listing_entries"], counts["papers"]) == (14, 9)
    again = runner.invoke(cli, ["-q", "ingest", str(corpus), "--db", db])
    assert "0 new, 0 updated, 9 unchanged" in again.output
    rows = [
        json.loads(x)
        for x in runner.invoke(cli, ["papers", "--json", "--db", db]).output.splitlines()
    ]
    tiny = next(r for r in rows if r["paper_id"] == TINY)
    assert tiny["published"] == "2025-05-12"
    assert len(tiny["appearances"]) == 6
    assert {"paper_id", "title", "abstract", "n_authors", "published", "upvotes"} <= tiny.keys()


def test_progress_reports_every_stage_in_order(store: Store, corpus: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    ingest_paths(store, [corpus], on_progress=lambda s, d, t: calls.append((s, d, t)))
    stages = [c[0] for c in calls]
    assert sorted(set(stages), key=STAGES.index) == list(STAGES)
    assert stages == sorted(stages, key=STAGES.index)
    last = {stage: (done, total) for stage, done, total in calls}
    read_bytes = sum(p.stat().st_size for p in collect_inputs([corpus])[0])  # 5 files
    assert last == {"listings": (read_bytes, read_bytes), "datasets": (1, 1), "claims": (9, 9)}


def test_cli_ingest_shows_one_bar_per_stage(tmp_path: Path, corpus: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", str(corpus), "--db", str(tmp_path / "kb.duckdb")])
    assert result.exit_code == 0, result.output
    for label in ("Reading listings", "Reading datasets", "Extracting claims"):
        assert label in result.stderr


def test_cli_bad_input_is_a_clean_error_and_db_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["-q", "ingest", str(LISTINGS / "compact.txt"), "--db", str(db)]
        ).exit_code
        == 0
    )
    with Store(db) as s:
        before = snapshot(s)
    result = runner.invoke(
        cli,
        [
            "-q",
            "ingest",
            str(LISTINGS / "blocks_meta.txt"),
            str(LISTINGS / "bad_meta_wrong_place.txt"),
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 1
    assert "bad_meta_wrong_place.txt:3: metadata line" in result.output
    assert "Traceback" not in result.output
    with Store(db) as s:
        assert snapshot(s) == before


def test_cli_format_option(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.duckdb")
    src = tmp_path / "feed.dat"
    src.write_bytes((FORMATS / "arxiv_api.xml").read_bytes())
    runner = CliRunner()
    bad = runner.invoke(cli, ["-q", "ingest", "--format", "csv", str(src), "--db", db])
    assert bad.exit_code == 1
    assert "feed.dat:1: CSV header lacks column" in bad.output
    ok = runner.invoke(cli, ["-q", "ingest", "--format", "atom", str(src), "--db", db, "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["files"][0]["format"] == "atom"
    with Store(db) as s:
        assert [p["paper_id"] for p in list_papers(s)] == ["arxiv:2001.08361", "arxiv:2203.15556"]


def test_real_seeds_ingest_counts_and_is_idempotent(store: Store, shared: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    report = ingest_paths(
        store, [shared / "seeds"], on_progress=lambda s, d, t: calls.append((s, d, t))
    )
    assert (report.entries, report.papers_seen, report.new_papers) == (377, 270, 270)
    listings = [c[1:] for c in calls if c[0] == "listings"]
    sizes = [p.stat().st_size for p in sorted((shared / "seeds").iterdir())]
    assert len(sizes) == 5
    # bytes read of all five pages: after each page's batch, and again as each page ends
    assert listings == [(sum(sizes[: i + 1]), sum(sizes)) for i in range(5) for _ in range(2)]
    # stages come in order, and the extractor's count ends at every paper it labelled
    assert [c[0] for c in calls] == sorted((c[0] for c in calls), key=STAGES.index)
    assert calls[-1] == ("claims", 270, 270)
    counts = stats(store)
    assert (counts["listing_entries"], counts["listing_files"], counts["papers"]) == (377, 5, 270)
    # "Superposition Yields Robust Neural Scaling" is in all five pages; only 001 gives a year.
    sup = store.get(Paper, paper_id_for("Superposition Yields Robust Neural Scaling"))
    assert sup is not None
    assert (sup.published, sup.n_authors) == (dt.date(2025, 5, 15), 3)
    before = snapshot(store)
    again = ingest_paths(store, [shared / "seeds"])
    assert (again.new_papers, again.updated_papers, again.unchanged_papers) == (0, 0, 270)
    assert snapshot(store) == before


def test_reread_file_without_a_paper_removes_the_paper_nothing_lists(tmp_path: Path) -> None:
    # A title edited in a user's file gives the paper a new id; re-ingesting must not leave the
    # old row behind (found by search, counted twice). A paper another file lists stays.
    mine, other = tmp_path / "mine.txt", tmp_path / "other.txt"
    abstract = "We find that loss follows a power law in model size, L propto N^{-0.076}."
    mine.write_text(
        f"Scaling Laws for Old Titles\n\n{abstract}\n\n"
        f"Scaling Laws for Tiny Test Models\n\n{abstract}\n",
        encoding="utf-8",
    )
    other.write_text(f"Scaling Laws for Tiny Test Models\n\n{abstract}\n", encoding="utf-8")
    db = tmp_path / "kb.duckdb"
    with Store(db) as store:
        ingest_paths(store, [mine, other])
        old = paper_id_for("Scaling Laws for Old Titles")
        assert store.count(Paper, "paper_id = ?", [old]) == 1
        assert store.cursor().execute(
            "SELECT count(*) FROM exponents WHERE paper_id = ?", [old]
        ).fetchone() == (1,)
    mine.write_text(f"Scaling Laws for New Titles\n\n{abstract}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-q", "ingest", str(mine), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"1 papers removed: no input lists them any more ({old})" in result.output
    with Store(db, read_only=True) as store:
        ids = {p.paper_id for p in store.select(Paper)}
        assert ids == {paper_id_for("Scaling Laws for New Titles"), TINY}
        for table in ("claims", "exponents"):
            row = (
                store.cursor()
                .execute(f"SELECT count(*) FROM {table} WHERE paper_id = ?", [old])
                .fetchone()
            )
            assert row == (0,), table
    # Re-reading the same file again removes nothing and says nothing about it.
    again = CliRunner().invoke(cli, ["-q", "ingest", str(mine), "--db", str(db), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["removed_papers"] == []
