"""A demanding user's inputs to ``kb search``, ``kb claims`` and ``kb exponents``.

Each bad input must give a one-line error naming it, a non-zero exit, no traceback and no
file left half-written. Papers here are invented for the tests; no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from kb.cli import cli
from kb.records import Claim, Paper, paper_id_for
from kb.store import Store
from tests.conftest import ONE_PAPER_TITLE

TITLE = ONE_PAPER_TITLE


@pytest.fixture
def db(one_paper_db: Path) -> Path:
    """A store with one paper and one claim (no search index): conftest's ``one_paper_db``."""
    return one_paper_db


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """A valid DuckDB file that is not a knowledge base."""
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line_error(result: Result, exit_code: int, *needles: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".building-" in p.name)


@pytest.mark.parametrize("command", ["claims", "exponents"])
def test_unknown_paper_id_is_an_error_not_an_empty_list(db: Path, command: str) -> None:
    result = _run(command, "--paper", "arxiv:0000.00000", "--db", str(db))
    _one_line_error(result, 1, "arxiv:0000.00000", "kb papers")


def test_known_paper_claims_keep_the_json_contract(db: Path) -> None:
    result = _run("claims", "--paper", paper_id_for(TITLE), "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert {"paper_id", "response", "variables", "form", "direction", "evidence", "span"} <= set(
        rows[0]
    )


@pytest.mark.parametrize("command", [["claims"], ["exponents"], ["papers", "--json"]])
def test_a_duckdb_file_that_is_not_a_knowledge_base_is_named(
    foreign: Path, command: list[str]
) -> None:
    result = _run(*command, "--db", str(foreign))
    _one_line_error(result, 1, str(foreign), "not a scaling-kb knowledge base")


@pytest.mark.parametrize("command", ["index", "extract"])
def test_writers_refuse_a_foreign_duckdb_file_and_leave_it_alone(
    foreign: Path, command: str
) -> None:
    before = foreign.read_bytes()
    result = _run("-q", command, "--db", str(foreign))
    _one_line_error(result, 1, str(foreign), "not a scaling-kb knowledge base")
    assert foreign.read_bytes() == before
    assert _leftovers(foreign.parent) == []


@pytest.mark.parametrize("command", ["index", "extract"])
def test_writers_on_a_non_duckdb_file_leave_no_staging_copy(tmp_path: Path, command: str) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n")
    result = _run("-q", command, "--db", str(path))
    _one_line_error(result, 1, f"{path}: cannot open the knowledge base")
    assert ".building-" not in result.output
    assert _leftovers(tmp_path) == []
    assert path.read_text() == "not a database\n"


def test_reversed_year_range_is_refused(db: Path) -> None:
    result = _run("search", "loss", "--year-min", "2024", "--year-max", "2020", "--db", str(db))
    _one_line_error(result, 2, "--year-min 2024 is after --year-max 2020")


def test_batch_file_that_is_not_utf8_names_the_line(db: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_bytes(b"scaling laws\n\n   \nloss of caf\xe9 models\n")
    result = _run("search", "--batch", str(queries), "--db", str(db))
    _one_line_error(result, 1, f"{queries}: line 4 is not UTF-8", "0xe9")
    assert not result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize("bad", [["--k", "0"], ["--k", "-3"], ["--domain", "cooking"],
                                 ["--variable", "vibes"], ["--year-min", "20x4"],
                                 ["--mode", "magic"]])  # fmt: skip
def test_bad_search_options_are_usage_errors(db: Path, bad: list[str]) -> None:
    result = _run("search", "loss", *bad, "--db", str(db))
    _one_line_error(result, 2, bad[0])


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_blank_queries_are_refused(db: Path, query: str) -> None:
    result = _run("search", query, "--db", str(db))
    _one_line_error(result, 2, "is blank; expected some words")


def test_missing_or_directory_batch_file(db: Path, tmp_path: Path) -> None:
    missing = _run("search", "--batch", str(tmp_path / "nope.txt"), "--db", str(db))
    _one_line_error(missing, 2, "nope.txt")
    folder = _run("search", "--batch", str(tmp_path), "--db", str(db))
    assert folder.exit_code == 2, folder.output
    assert "Traceback" not in folder.output


def test_query_with_undecodable_bytes_is_refused(db: Path) -> None:
    # Python hands bytes that are not UTF-8 in argv over as lone surrogates (surrogateescape).
    result = _run("search", "loss \udcff\udcfe", "--db", str(db))
    _one_line_error(result, 1, "byte 0xff at character 6 is not UTF-8")


@pytest.mark.parametrize("command", [["search", "loss"], ["claims"], ["exponents"]])
def test_blank_db_path_is_a_usage_error(command: list[str]) -> None:
    result = _run(*command, "--db", "")
    _one_line_error(result, 2, "--db", "is empty")


def test_all_blank_batch_file_says_so(db: Path, tmp_path: Path) -> None:
    queries = tmp_path / "blank.txt"
    queries.write_text("\n   \n\t\n")
    result = _run("search", "--batch", str(queries), "--db", str(db))
    assert f"{queries}: no queries" in result.stderr


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (["claims", "--response", "accuracy"], "no claims match these filters"),
        (["claims", "--variable", "precision"], "no claims match these filters"),
        (["exponents"], "no exponents in this knowledge base"),
        (["exponents", "--paper", paper_id_for(TITLE)], f"paper {paper_id_for(TITLE)} has no"),
        (["claims", "--paper", paper_id_for(TITLE), "--variable", "depth"], "match these filt"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_empty_claims_and_exponents_say_why_on_stderr(
    db: Path, command: list[str], why: str, as_json: bool
) -> None:
    # Like `kb search`: an empty table (or no JSON lines) alone does not say whether the
    # filters excluded everything or the command failed; stdout stays the results alone.
    result = _run(*command, *(["--json"] if as_json else []), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert why in result.stderr
    assert why not in result.stdout
    if as_json:
        assert result.stdout == ""


def test_claims_that_match_print_no_empty_note(db: Path) -> None:
    result = _run("claims", "--response", "loss", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "no claims" not in result.stderr


def test_stats_counts_the_rows_of_every_table(db: Path) -> None:
    # `kb stats` says (help and README) it counts "the rows of every table": the scoreboard
    # (`scores`, written by `kb scoreboard --build`) and the search caches were missing.
    result = _run("stats", "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {t for (t,) in con.execute("SHOW TABLES").fetchall() if not t.startswith("_")}
    tables.discard("appearances")  # counted as listing_entries
    assert tables <= set(counts), tables - set(counts)
    assert (counts["papers"], counts["scores"]) == (1, 0)


@pytest.mark.parametrize(
    "given", ["arxiv:2203.15556", "2203.15556", "2203.15556v2", "arXiv:2203.15556",
              "https://arxiv.org/abs/2203.15556v1", " 2203.15556 "],
)  # fmt: skip
@pytest.mark.parametrize("command", ["claims", "exponents"])
def test_paper_option_reads_an_arxiv_id_in_any_form(db: Path, given: str, command: str) -> None:
    # `kb search 2203.15556` finds the paper (ids in any form normalize_arxiv_id reads); the
    # --paper of claims and exponents refused everything but the stored "arxiv:<id>".
    pid = paper_id_for("Invented Compute-Optimal Paper", "2203.15556")
    sentence = "The loss falls as N^{-0.34} in model size."
    with Store(db) as s:
        s.upsert(
            [
                Paper(paper_id=pid, title="Invented Compute-Optimal Paper", abstract=sentence),
                Claim(claim_id="c2", paper_id=pid, response="loss", variables=["model_size"],
                      form="power_law", direction="improves", evidence=sentence, span_start=0,
                      span_end=len(sentence), extractor_version="t"),
            ]
        )  # fmt: skip
    result = _run(command, "--paper", given, "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    if command == "claims":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["paper_id"] for r in rows] == ["arxiv:2203.15556"]
    else:
        assert "paper arxiv:2203.15556 has no exponents" in result.stderr


def test_paper_option_names_both_id_forms_when_unknown(db: Path) -> None:
    result = _run("claims", "--paper", "2001.08361", "--db", str(db))
    _one_line_error(result, 1, "'2001.08361'", "arxiv:<id>", "t:<hash")


@pytest.mark.parametrize("command", [["claims"], ["exponents"], ["laws"]])
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_paper_option_is_refused(db: Path, command: list[str], blank: str) -> None:
    # `kb laws --paper ''` listed every law (a blank filter filtered nothing); claims and
    # exponents said "no paper with id ''".
    result = _run(*command, "--paper", blank, "--db", str(db))
    _one_line_error(result, 2, "--paper", "is blank")


def test_paper_option_names_the_arxiv_id_it_read_from_a_link(db: Path) -> None:
    result = _run("claims", "--paper", "https://arxiv.org/abs/2001.08361v2", "--db", str(db))
    _one_line_error(
        result, 1, "no paper with arXiv id 2001.08361 (read from 'https://arxiv.org/abs/2001"
    )


@pytest.mark.parametrize("given", [TITLE, TITLE.upper(), f"“{TITLE}.”"])
@pytest.mark.parametrize("command", ["claims", "exponents"])
def test_paper_option_reads_a_whole_title(db: Path, given: str, command: str) -> None:
    # A title is what a reader has; its t:<hash> id is derived from it.
    result = _run(command, "--paper", given, "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    if command == "claims":
        assert [json.loads(line)["paper_id"] for line in result.stdout.splitlines()] == [
            paper_id_for(TITLE)
        ]
    part = _run(command, "--paper", TITLE.split()[0] + " " + TITLE.split()[1], "--db", str(db))
    _one_line_error(part, 1, "no paper with id")


@pytest.mark.parametrize("command", ["claims", "exponents"])
def test_paper_option_finds_a_listed_paper_by_its_registry_arxiv_id(db: Path, command: str) -> None:
    # Seed listings carry no arXiv ids: Kaplan et al. is a t: id, and `--paper 2001.08361`
    # said "no paper" although the registry's Kaplan laws name that id and the paper's title.
    from kb.records import ReportedLaw

    with Store(db) as s:
        s.upsert([ReportedLaw(law_id="inv", arxiv_id="2001.08361", title=TITLE.upper(),
                              year=2020, name="n", form="power_law", formula="f",
                              params={"alpha": 0.1}, source="here", verified=True)])  # fmt: skip
    result = _run(command, "--paper", "arXiv:2001.08361v4", "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    if command == "claims":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["paper_id"] for r in rows] == [paper_id_for(TITLE)]
    else:
        assert f"paper {paper_id_for(TITLE)} has no exponents" in result.stderr


def test_exponents_of_a_paper_points_to_its_registry_laws(db: Path) -> None:
    # Kaplan et al.'s abstract states no exponent; `kb exponents --paper` said only "no
    # results" although the registry holds seven of its laws with values read in the paper.
    from kb.records import ReportedLaw

    with Store(db) as s:
        s.upsert([ReportedLaw(law_id="inv", arxiv_id="2001.08361", title=TITLE, year=2020,
                              name="n", form="power_law", formula="f", params={"alpha": 0.1},
                              source="here", verified=True)])  # fmt: skip
    result = _run("exponents", "--paper", paper_id_for(TITLE), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "no results: paper" in result.stderr
    assert "the registry holds 1 reported law(s) of this paper" in result.stderr
    assert "kb laws --paper 2001.08361" in result.stderr
    assert result.stdout == ""  # no rows, so no table: not even its header


def test_registry_note_counts_only_this_papers_laws(db: Path) -> None:
    """The note names the laws of the paper asked about, matched by arXiv id or, for a paper
    listed without one, by its title; never another paper's (kb.registry.paper_laws)."""
    from kb.records import ReportedLaw

    def law(law_id: str, arxiv_id: str, title: str) -> ReportedLaw:
        return ReportedLaw(law_id=law_id, arxiv_id=arxiv_id, title=title, year=2020, name="n",
                           form="power_law", formula="f", params={"alpha": 0.1}, source="here",
                           verified=True)  # fmt: skip

    other = "Another Invented Paper"
    with Store(db) as s:
        s.upsert(
            [
                Paper(paper_id="arxiv:2203.15556", title=other, abstract="Loss falls."),
                law("title_1", "2001.08361", TITLE),
                law("title_2", "2001.08361", TITLE.upper() + "."),
                law("by_arxiv", "2203.15556", other),
                law("absent", "2101.00001", "A Paper Not In The Store"),
            ]
        )
    listed = _run("exponents", "--paper", paper_id_for(TITLE), "--db", str(db))
    assert "the registry holds 2 reported law(s) of this paper" in listed.stderr
    assert "kb laws --paper 2001.08361" in listed.stderr
    arxiv = _run("exponents", "--paper", "arXiv:2203.15556v2", "--db", str(db))
    assert "the registry holds 1 reported law(s) of this paper" in arxiv.stderr
    assert "kb laws --paper 2203.15556" in arxiv.stderr
