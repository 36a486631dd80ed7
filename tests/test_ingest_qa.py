"""A demanding user's inputs to ``kb ingest``: odd but valid files are read, bad ones are a
one-line error naming file and line, and an interrupted build leaves nothing behind.

Every input here is invented and written by the test; no third-party text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.formats import detect_format, read_papers
from ingest.listings import ListingEntry, render_listing
from ingest.pipeline import collect_inputs, ingest_paths
from kb.cli import cli
from kb.errors import BadInputError, ParseError
from kb.records import Appearance, Claim, Paper, paper_id_for
from kb.store import Store, staged


def _snapshot_record(i: int, **extra: object) -> str:
    record = {
        "id": f"2301.{i:05d}",
        "submitter": "Ada Lovelace",
        "authors": "Ada Lovelace and Alan Turing",
        "title": f"Invented paper {i}",
        "abstract": "Loss falls as a power law in model size.",
        "categories": "cs.LG stat.ML",
        "versions": [{"version": "v1", "created": "Mon, 2 Jan 2023 18:59:59 GMT"}],
        "update_date": "2023-01-04",
    }
    record.update(extra)
    return json.dumps(record)


def test_jsonl_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.jsonl"
    lines = [_snapshot_record(1), _snapshot_record(2)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    assert detect_format(path) == "arxiv-jsonl"
    assert [e.paper.paper_id for e in read_papers(path)] == ["arxiv:2301.00001", "arxiv:2301.00002"]
    alone = tmp_path / "bom_line.jsonl"  # a BOM alone on the first line, then a record
    alone.write_bytes(b"\xef\xbb\xbf\n" + lines[0].encode() + b"\n")
    (entry,) = read_papers(alone)
    assert entry.appearance.line == 2


def test_snapshot_whose_first_record_is_longer_than_the_detection_head(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_text(_snapshot_record(1, abstract="word " * 40_000) + "\n", encoding="utf-8")
    assert path.stat().st_size > 65536
    assert detect_format(path) == "arxiv-jsonl"
    (entry,) = read_papers(path)
    assert entry.appearance.format == "arxiv-jsonl"
    assert len(entry.paper.abstract) == len("word " * 40_000) - 1


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("categories", 5, "'categories': 5 is a JSON number; expected a string or a list"),
        ("abstract", ["a", "b"], "'abstract': ['a', 'b'] is a JSON array; expected a string"),
        ("authors", {"n": 2}, "'authors': {'n': 2} is a JSON object; expected a string or"),
        ("title", None, "record 2 has no title"),
    ],
)
def test_jsonl_field_of_the_wrong_type_is_a_parse_error(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = tmp_path / "typed.jsonl"
    path.write_text(
        json.dumps({"title": "T", "abstract": "A"}) + "\n"
        + json.dumps({"title": "T2", "abstract": "A", field: value}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(ParseError) as err:
        read_papers(path)
    assert str(err.value).startswith(f"{path}:2: ")
    assert expected in str(err.value)


def test_cli_wrong_type_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "cats.jsonl"
    path.write_text(json.dumps({"title": "T", "abstract": "A", "categories": 5}) + "\n")
    db = tmp_path / "kb.duckdb"
    result = CliRunner().invoke(cli, ["-q", "ingest", str(path), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"{path}:1: column 'categories'" in result.output
    assert not db.exists()


def test_unreadable_folder_is_an_error_not_silently_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, where chmod 000 does not stop reading: make listing it fail.
    locked = tmp_path / "corpus" / "locked"
    locked.mkdir(parents=True)
    (locked / "papers.csv").write_text("title,abstract\nT,A\n")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(BadInputError, match=r"locked: cannot read this folder: Permission denied"):
        collect_inputs([tmp_path / "corpus"])


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_staging_copies_of_killed_builds_are_removed(tmp_path: Path) -> None:
    import fcntl

    db = tmp_path / "kb.duckdb"
    with staged(db) as s:
        s.upsert([Paper(paper_id="a", title="first")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.duckdb"]  # lock file gone too
    dead = _dead_pid()
    abandoned = [  # a killed build: its lock file is there but nobody holds it
        tmp_path / f".kb.duckdb.building-{dead}-0a1b2c",
        tmp_path / f".kb.duckdb.building-{dead}-0a1b2c.wal",
        tmp_path / f".kb.duckdb.building-{dead}-0a1b2c.lock",
        tmp_path / f".kb.duckdb.building-{dead}-9f8e7d.lock",  # killed before it copied
    ]
    # A live build on another host or in another pid namespace: its pid means nothing here
    # (it is dead here), but it holds its lock. The old pid rule deleted its copy.
    elsewhere = [
        tmp_path / f".kb.duckdb.building-{dead}-77aa88",
        tmp_path / f".kb.duckdb.building-{dead}-77aa88.lock",
    ]
    legacy = tmp_path / f".kb.duckdb.building-{dead}"  # pid-only name, touched just now
    other_dead = _dead_pid()  # not dead + 1: on a busy machine that pid may be alive
    while other_dead == dead:
        other_dead = _dead_pid()
    stale = tmp_path / f".kb.duckdb.building-{other_dead}"  # pid-only, idle for two days
    other = tmp_path / f".other.duckdb.building-{dead}-0a1b2c"  # another store's copy
    for path in [*abandoned, *elsewhere, legacy, stale, other]:
        path.write_bytes(b"partial copy")
    os.utime(stale, (0, 0))
    holder = open(elsewhere[1], "rb")  # noqa: SIM115  (held across the build below)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with staged(db) as s:
            s.upsert([Paper(paper_id="b", title="second")])
    finally:
        holder.close()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["kb.duckdb", *(p.name for p in elsewhere), legacy.name, other.name])
    with Store(db, read_only=True) as s:
        assert s.count(Paper) == 2


def test_two_staged_builds_in_one_process_keep_each_others_copies(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with staged(db) as outer:
        outer.upsert([Paper(paper_id="a", title="first")])
        with staged(tmp_path / "kb.duckdb") as inner:  # its cleaner must spare outer's copy
            inner.upsert([Paper(paper_id="b", title="second")])
        assert outer.count(Paper) == 1
    with Store(db, read_only=True) as s:
        assert [p.paper_id for p in s.select(Paper)] == ["a"]  # the last swap wins


TITLE = "Invented Scaling Laws for Cross-Format Tests"
ABSTRACT = (
    "We fit a power law to the loss of invented models. Loss falls as a power law in model size."
)


def _feed(summary: str = ABSTRACT, title: str = TITLE.upper() + ".") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
        "<entry>\n<id>http://arxiv.org/abs/2501.00042v2</id>\n"
        "<published>2025-01-05T00:00:00Z</published>\n"
        f"<title>{title}</title>\n<summary>{summary}</summary>\n"
        "<author><name>Ada Lovelace</name></author>\n</entry>\n</feed>\n"
    )


@pytest.fixture
def cross(tmp_path: Path) -> dict[str, Path]:
    """The same invented paper on a listing page (title only, with upvotes) and in a feed."""
    listing = tmp_path / "page.txt"
    entry = ListingEntry(title=TITLE, abstract=ABSTRACT, n_authors=1, raw_date="Jan 9", upvotes=7)
    other = ListingEntry(title="Another Invented Paper", abstract="Nothing scales here at all.")
    listing.write_text(render_listing([entry, other]), encoding="utf-8")
    feed = tmp_path / "feed.xml"
    feed.write_text(_feed(), encoding="utf-8")
    return {"listing": listing, "feed": feed}


def _contents(store: Store) -> tuple[list[Paper], list[Appearance], list[Claim]]:
    return store.select(Paper), store.select(Appearance), store.select(Claim)


@pytest.mark.parametrize("order", [["listing", "feed"], ["feed", "listing"], ["both"]])
def test_a_paper_from_a_listing_and_a_feed_is_one_paper(
    cross: dict[str, Path], order: list[str]
) -> None:
    results = []
    for first in (order, ["listing", "feed"]):  # compare with the reference order
        store = Store(":memory:")
        for step in first:
            paths = list(cross.values()) if step == "both" else [cross[step]]
            ingest_paths(store, paths, workers=1)
        results.append(_contents(store))
        papers, appearances, claims = results[-1]
        assert len(papers) == 2
        paper = store.get(Paper, "arxiv:2501.00042")
        assert paper is not None
        assert paper.title == TITLE.upper() + "."  # the arXiv record's values win
        assert (paper.upvotes, paper.authors) == (7, ["Ada Lovelace"])  # the listing fills gaps
        assert sorted(a.format for a in appearances if a.paper_id == paper.paper_id) == [
            "atom",
            "listing",
        ]
        assert {c.paper_id for c in claims} == {paper.paper_id}
        assert paper.extractor_version is not None
        again = ingest_paths(store, list(cross.values()), workers=1)
        assert (again.new_papers, again.updated_papers, again.papers_labelled) == (0, 0, 0)
        assert _contents(store) == results[-1]
    assert results[0] == results[1]


def test_cli_reports_the_merged_paper_as_updated_not_new(
    tmp_path: Path, cross: dict[str, Path]
) -> None:
    db = str(tmp_path / "kb.duckdb")
    runner = CliRunner()
    first = runner.invoke(cli, ["-q", "ingest", str(cross["listing"]), "--db", db])
    assert "2 distinct papers: 2 new" in first.output, first.output
    second = runner.invoke(cli, ["-q", "ingest", str(cross["feed"]), "--db", db])
    assert "1 distinct papers: 0 new, 1 updated, 0 unchanged" in second.output, second.output
    stats = json.loads(runner.invoke(cli, ["stats", "--json", "--db", db]).output)
    assert (stats["papers"], stats["listing_entries"]) == (2, 3)


def test_an_abstract_that_arrives_later_is_read_by_the_extractor(
    tmp_path: Path, store: Store
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(_feed(summary=""), encoding="utf-8")  # an entry with no abstract
    table = tmp_path / "papers.csv"
    table.write_text(f'title,abstract,arxiv_id\n{TITLE},"{ABSTRACT}",2501.00042\n')
    ingest_paths(store, [feed], workers=1)
    assert store.count(Claim) == 0
    report = ingest_paths(store, [table], workers=1)
    assert (report.updated_papers, report.papers_labelled) == (1, 1)
    assert store.count(Claim, "paper_id = ?", ["arxiv:2501.00042"]) >= 1
    paper = store.get(Paper, "arxiv:2501.00042")
    assert paper is not None
    assert paper.studies_scaling_law


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_separated_by_semicolons_or_tabs_is_read(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "export.csv"
    rows = [["Title", "Abstract", "Published"], ["Invented, with a comma", "A; B", "2023-01-01"]]
    out = io.StringIO()
    csv.writer(out, delimiter=sep).writerows(rows)  # quotes 'A; B' in a ';' file
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    (entry,) = read_papers(path)
    assert (entry.paper.title, entry.paper.abstract) == ("Invented, with a comma", "A; B")
    assert entry.paper.published is not None


def test_csv_column_named_twice_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("title,abstract,Title\nFirst,A,Second\n")
    with pytest.raises(ParseError, match=r"twice.csv:1: CSV header names column\(s\) title more"):
        read_papers(path)


def test_csv_quote_never_closed_says_so(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('title,abstract\n"Open quote,abs\nNext,abs\nLast,abs\n')
    with pytest.raises(ParseError, match=r"quote.csv:2: .*runs from line 2 to line 4: a quote"):
        read_papers(path)


def test_entries_that_lose_data_in_a_merge_are_warned_about(tmp_path: Path, store: Store) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(_feed(summary=""), encoding="utf-8")
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text(
        _snapshot_record(42, id="2501.00042", title="A Retitled Version") + "\n", encoding="utf-8"
    )
    report = ingest_paths(store, [feed, snapshot], extract=False)
    assert report.warnings == [
        f"{feed}:3: <entry> 1 has an empty <summary> (abstract)",
        f"{snapshot}:1: arxiv:2501.00042 is titled 'A Retitled Version' here but "
        f"'{TITLE.upper()}.' elsewhere; one paper, keeping the title '{TITLE.upper()}.'",
    ]
    assert store.count(Appearance, "paper_id = ?", ["arxiv:2501.00042"]) == 2


def test_a_store_holding_both_rows_already_is_mended_by_the_listing_alone(
    cross: dict[str, Path], store: Store
) -> None:
    # A store built before this merge existed: the listing's paper and the feed's, apart.
    for path in cross.values():
        for entry in read_papers(path):
            store.upsert([entry.paper, entry.appearance])
    title_only = paper_id_for(TITLE)
    assert store.get(Paper, title_only) is not None
    report = ingest_paths(store, [cross["listing"]], workers=1)
    assert store.get(Paper, title_only) is None
    assert store.count(Paper) == 2
    assert store.count(Appearance, "paper_id = ?", ["arxiv:2501.00042"]) == 2
    assert report.updated_papers == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_feed(title="Caf&eacute; laws"), r"feed.xml:6: not well-formed XML at column 10 "
         r"\(undefined entity\); expected an arXiv API Atom feed \(HTML entities"),
        (_feed()[:150], r"feed.xml:\d: not well-formed XML at column \d+ \(\w+[ \w]*\); "
         r"expected an arXiv API Atom feed \(truncated file\?\)"),
        ("title,abstract\nA,B\n", r"feed.xml:1: not well-formed XML at column 0 \(syntax error\)"),
    ],
)  # fmt: skip
def test_bad_xml_says_what_expat_found(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match=expected):
        read_papers(path, fmt="atom")


def test_atom_feed_with_a_byte_order_mark_and_latin1_declaration(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    text = _feed(title="Caf\u00e9 Laws").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    path.write_bytes(text.encode("latin-1"))
    (entry,) = read_papers(path)
    assert entry.paper.title == "Caf\u00e9 Laws"
    path.write_bytes(b"\xef\xbb\xbf" + _feed().encode())
    (entry,) = read_papers(path)
    assert entry.paper.paper_id == "arxiv:2501.00042"


def test_cli_names_the_files_it_skips(tmp_path: Path) -> None:
    """'1 files of no input format skipped' left the user to guess which file."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "papers.csv").write_text("title,abstract\nA Paper,Loss falls with size.\n")
    (folder / "NOTES.md").write_text("# notes\n")
    out = CliRunner().invoke(
        cli, ["-q", "ingest", str(folder), "--no-extract", "--db", str(tmp_path / "kb.duckdb")]
    )
    assert out.exit_code == 0, out.output
    assert f"1 file of no input format skipped: {folder / 'NOTES.md'}" in out.output


SHARED_TITLE = "Invented Scaling Laws Shared by Two Records"


@pytest.mark.parametrize(
    "order",
    [["listing", "snapshot"], ["snapshot", "listing"], ["reversed", "listing"], ["all"]],
)
def test_a_title_of_two_arxiv_papers_merges_into_the_lowest_id_with_a_warning(
    tmp_path: Path, order: list[str]
) -> None:
    listing = tmp_path / "page.txt"
    entry = ListingEntry(title=SHARED_TITLE.lower(), abstract=ABSTRACT, upvotes=3, raw_date="Jan 9",
                         n_authors=2)  # fmt: skip
    listing.write_text(render_listing([entry]), encoding="utf-8")
    records = [_snapshot_record(i, title=SHARED_TITLE + "!") for i in (2, 1)]
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text("\n".join(records) + "\n", encoding="utf-8")
    flipped = tmp_path / "flipped.jsonl"  # the same two records, the other way round
    flipped.write_text("\n".join(reversed(records)) + "\n", encoding="utf-8")
    paths = {"listing": [listing], "snapshot": [snapshot], "reversed": [flipped],
             "all": [listing, snapshot]}  # fmt: skip
    store = Store(":memory:")
    warnings: list[str] = []
    for step in order:
        warnings += ingest_paths(store, paths[step], extract=False).warnings
    papers = {p.paper_id: p for p in store.select(Paper)}
    assert sorted(papers) == ["arxiv:2301.00001", "arxiv:2301.00002"]
    assert papers["arxiv:2301.00001"].upvotes == 3  # the listing's entry went to the lowest id
    assert papers["arxiv:2301.00002"].upvotes is None
    formats = {a.paper_id: [] for a in store.select(Appearance)}
    for a in store.select(Appearance):
        formats[a.paper_id].append(a.format)
    assert sorted(formats["arxiv:2301.00001"]) == ["arxiv-jsonl", "listing"]
    named = [w for w in warnings if "arxiv:2301.00001, arxiv:2301.00002" in w]
    assert named, warnings
    assert "merged into arxiv:2301.00001" in named[0]


@pytest.mark.parametrize(
    ("arxiv_title", "listing_title"),
    [
        ("Scaling: Laws (for) Models_v2?", "scaling laws for models v2"),  # keyed by DuckDB
        ("Eﬃcient Scaling of Naïve Models", "EFFICIENT scaling of naïve models"),  # by Python
    ],
)
def test_the_title_map_keys_titles_as_paper_id_for_does(
    tmp_path: Path, arxiv_title: str, listing_title: str
) -> None:
    assert paper_id_for(arxiv_title) == paper_id_for(listing_title)
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text(_snapshot_record(7, title=arxiv_title) + "\n", encoding="utf-8")
    listing = tmp_path / "page.txt"
    listing.write_text(render_listing([ListingEntry(title=listing_title, abstract=ABSTRACT)]))
    store = Store(":memory:")
    ingest_paths(store, [snapshot], extract=False)
    report = ingest_paths(store, [listing], extract=False)  # the map is built from the store
    assert [p.paper_id for p in store.select(Paper)] == ["arxiv:2301.00007"]
    assert report.new_papers == 0
    assert {a.paper_id for a in store.select(Appearance)} == {"arxiv:2301.00007"}


def test_one_big_file_reports_progress_within_it(tmp_path: Path) -> None:
    from ingest import pipeline

    path = tmp_path / "snapshot.jsonl"
    n = 3 * pipeline.BATCH_SIZE + 7
    path.write_text("".join(_snapshot_record(i) + "\n" for i in range(n)), encoding="utf-8")
    size = path.stat().st_size
    calls: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "listings":
            calls.append((done, total))

    ingest_paths(Store(":memory:"), [path], extract=False, on_progress=progress)
    assert {t for _, t in calls} == {size}
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert len({d for d in done if 0 < d < size}) == 3  # one step per batch before the end
    assert done[-1] == size


def test_atom_entry_lines_and_a_large_feed_read_in_linear_time(tmp_path: Path) -> None:
    import time

    entry = (
        "<entry>\n<id>http://arxiv.org/abs/2501.{i:05d}v1</id>\n"
        "<title>Invented title {i}</title>\n<summary>" + "Loss falls. " * 80 + "</summary>\n"
        "</entry>\n"
    )
    head = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
    path = tmp_path / "feed.xml"
    path.write_text(head + "".join(entry.format(i=i) for i in range(6000)) + "</feed>\n")
    t0 = time.perf_counter()
    entries = read_papers(path)
    took = time.perf_counter() - t0
    assert [e.appearance.line for e in entries[:3]] == [3, 8, 13]
    assert entries[-1].appearance.line == 3 + 5 * 5999
    assert took < 20, f"{took:.1f} s for 6,000 entries: line numbers counted quadratically?"


def test_title_map_keys_computed_by_duckdb_equal_paper_id_for(tmp_path: Path) -> None:
    """The title map computes the keys of ASCII titles in SQL (a second spelling of
    normalize_title, for speed at 1M papers); they must be the ids paper_id_for gives."""
    import random
    import string

    from ingest.pipeline import _ArxivTitles

    rng = random.Random(0)
    titles = [
        "Scaling Laws for Neural Language Models",
        "Scaling Laws:  A Survey!",
        "under_score and (brackets) [2022]",
        "x^{2} \\propto N^{-0.076}; alpha=0.34",
        "ALL CAPS 123 -- and... dots?",
        "'quoted' \"double\" `tick` ~tilde~ |pipe| @at #hash $dollar %pc &amp *star +plus =eq",
        "Über Skalierung",  # not ASCII: hashed in Python, as before
        "\ufb01ne-tuning at scale",  # a ligature NFKC turns into "fi"
    ]
    alphabet = string.ascii_letters + string.digits + string.punctuation + " "
    titles += ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 60))) + "x"
               for _ in range(300)]  # fmt: skip
    papers = [Paper(paper_id=f"arxiv:2101.{i:05d}", arxiv_id=f"2101.{i:05d}", title=t)
              for i, t in enumerate(titles)]  # fmt: skip
    with Store(tmp_path / "kb.duckdb") as store:
        store.upsert(papers)
        titles_map = _ArxivTitles(store)
        titles_map.ensure()
        table = titles_map.TABLE  # a TEMP table: on the store's own connection
        got = store.con.execute(f"SELECT paper_id, title_id FROM {table}").fetchall()
        titles_map.close()
    stored = {p.paper_id: p.title for p in papers}
    assert len(got) == len(papers)
    assert {pid: tid for pid, tid in got} == {
        pid: paper_id_for(title) for pid, title in stored.items()
    }
