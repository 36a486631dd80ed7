"""CLI defects a demanding user met: empty listings, the pinned search hit in the table,
``kb laws --paper`` forms, "no close match" under filters, and every command's help.

Papers are invented for the tests; no model is loaded (``HashEmbedder`` stands in for it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from kb.cli import cli
from kb.index import build_index
from kb.match import MatchRule
from kb.records import ReportedLaw, paper_id_for
from kb.search import Searcher, SearchFilters, Tuning
from kb.store import Store
from tests.conftest import ONE_PAPER_TITLE
from tests.test_search import PAPERS, HashEmbedder, _claims_and_exponents

TITLE = ONE_PAPER_TITLE
REGISTRY = Path(__file__).resolve().parent / "fixtures" / "registry" / "two_laws.toml"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def db(one_paper_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One paper with one claim, no exponents, no datasets (conftest's ``one_paper_db``); the
    registry's two toy laws (arXiv 2101.00001, not in the store) stored."""
    monkeypatch.setenv("KB_REGISTRY", str(REGISTRY))
    assert _run("laws", "--sync", "--db", str(one_paper_db)).exit_code == 0
    return one_paper_db


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_REGISTRY", str(REGISTRY))
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    return path


# -- 1. an empty listing prints no table header after its "no results" line -------------------


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (["exponents", "--paper", paper_id_for(TITLE)], "has no exponents"),
        (["claims", "--paper", paper_id_for(TITLE), "--response", "accuracy"], "match these"),
        (["claims", "--variable", "depth"], "no claims match these filters"),
        (["laws", "--paper", paper_id_for(TITLE)], "the registry has no laws of"),
        (["datasets"], "no released datasets"),
        (["compare", "--disagreements"], "fail to overlap"),
        (["scoreboard"], "No scores stored yet"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_an_empty_listing_says_why_and_prints_no_header(
    db: Path, command: list[str], why: str, as_json: bool
) -> None:
    # Before: "no results: paper t:... has no exponents" on stderr, then the table's header
    # and rule on stdout, as if results followed.
    result = _run(*command, *(["--json"] if as_json else []), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert why in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (["papers"], "no papers in this knowledge base"),
        (["claims"], "no claims in this knowledge base"),
        (["exponents"], "no exponents in this knowledge base"),
        (["datasets"], "no released datasets"),
        (["compare"], "no reported laws or stored fits"),
        (["compare", "--quantity", "a"], "no reported law or stored fit has a value of a"),
        (["audit"], "no registry law has its data"),
    ],
)
def test_an_empty_store_says_why_for_every_listing(
    empty: Path, command: list[str], why: str
) -> None:
    result = _run(*command, "--db", str(empty))
    assert result.exit_code == 0, result.output
    assert f"no results: {why}" in result.stderr
    assert result.stdout == ""


def test_a_listing_with_rows_keeps_its_header_and_says_nothing(db: Path) -> None:
    result = _run("claims", "--db", str(db))
    header, rule, row = result.stdout.splitlines()
    assert header.split()[:3] == ["paper_id", "title", "response"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert TITLE in row  # a t:<hash> id alone named no paper (tests/test_cli_share.py)
    assert "Loss falls as a power law in model size." in row  # and the evidence
    assert "no results" not in result.stderr


# -- 3. kb laws --paper reads what kb claims --paper reads ----------------------------------


@pytest.mark.parametrize(
    "given",
    ["arxiv:2101.00001", "2101.00001", "2101.00001v2", "https://arxiv.org/abs/2101.00001v1",
     "An Invented Paper on Toy Scaling", "AN INVENTED PAPER ON TOY SCALING.",
     paper_id_for("An Invented Paper on Toy Scaling")],
)  # fmt: skip
def test_laws_paper_reads_ids_arxiv_forms_and_titles(db: Path, given: str) -> None:
    # Before: a title was "'Toy' is not a paper id; expected 'arxiv:<id>' ... or 't:<hash>'".
    result = _run("laws", "--paper", given, "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["law_id"] for r in rows] == ["toy2021_chinchilla", "toy2021_power"]


def test_laws_paper_reads_a_corpus_title_and_names_its_laws(db: Path) -> None:
    # The registry's laws of a listed paper (title-hash id) are found by its title too.
    law = ReportedLaw(law_id="inv", arxiv_id="2001.08361", title=TITLE, year=2020, name="n",
                      form="power_law", formula="f", params={"alpha": 0.1}, source="here",
                      verified=True)  # fmt: skip
    with Store(db) as s:
        s.upsert([law])
    for given in (TITLE, TITLE.lower(), paper_id_for(TITLE), "2001.08361"):
        result = _run("laws", "--paper", given, "--json", "--db", str(db))
        assert result.exit_code == 0, result.output
        assert [json.loads(x)["law_id"] for x in result.stdout.splitlines()] == ["inv"], given


def test_laws_paper_a_corpus_paper_without_laws_says_so(db: Path) -> None:
    result = _run("laws", "--paper", TITLE, "--db", str(db))
    assert result.exit_code == 0, result.output
    assert f"no results: the registry has no laws of {paper_id_for(TITLE)}" in result.stderr


@pytest.mark.parametrize("given", ["No Such Paper", "t:0000000000000000", "..."])
def test_laws_paper_unknown_gives_the_claims_message(db: Path, given: str) -> None:
    laws = _run("laws", "--paper", given, "--db", str(db))
    claims = _run("claims", "--paper", given, "--db", str(db))
    assert laws.exit_code == claims.exit_code == 1
    assert laws.output == claims.output
    assert "no paper with id" in laws.output
    assert "Traceback" not in laws.output


def test_laws_paper_an_arxiv_id_no_one_holds_is_an_empty_list(db: Path) -> None:
    # An arXiv id names a paper wherever it is: the registry simply has none of its laws.
    result = _run("laws", "--paper", "2999.00001", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "no results: the registry has no laws of arxiv:2999.00001" in result.stderr


# -- 2 and 4. kb search: the pinned hit in the table; "no close match" under filters ---------


def _rule(tmp_path: Path, embedder: HashEmbedder, threshold: float) -> str:
    path = tmp_path / "rule.json"
    MatchRule(encoder=embedder.name, dim=embedder.dim, threshold=threshold).save(path)
    return str(path)


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    """tests/test_search.py's invented papers, indexed with the hashing encoder, and a rule
    that calls every search weak (threshold 0.99)."""
    path, embedder = tmp_path / "kb.duckdb", HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, *_claims_and_exponents()])
        build_index(s, path, model=embedder)
    tuning = Tuning(match_rule=_rule(tmp_path, embedder, 0.99))
    return Searcher.open(Store(path, read_only=True), path, model=embedder, tuning=tuning)


def _search_cli(searcher: Searcher, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    db = searcher.index.path.with_name("kb.duckdb")
    monkeypatch.setattr(Searcher, "open", lambda *a, **kw: searcher)  # the hash model
    return _run("search", *args, "--db", str(db))


def test_search_table_marks_the_pinned_hit_with_a_legend(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the table showed a pinned title like any other hit; only --json said exact_match.
    result = _search_cli(searcher, monkeypatch, "A Faster Tokenizer", "--k", "3")
    assert result.exit_code == 0, result.output
    header, _, first, *rest = result.stdout.splitlines()
    assert header.split()[:2] == ["match", "score"]
    assert first.startswith("exact ")
    assert "A Faster Tokenizer" in first
    assert rest
    assert not any(line.startswith("exact") for line in rest)
    legend = [line for line in result.stderr.splitlines() if line.startswith("match exact:")]
    assert len(legend) == 1
    assert "exact_match in --json" in legend[0]


def test_search_table_without_a_pinned_hit_has_no_marker(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _search_cli(searcher, monkeypatch, "tokenizer speed", "--k", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[0] == "score"
    assert "match exact" not in result.stderr
    as_json = _search_cli(searcher, monkeypatch, "A Faster Tokenizer", "--k", "3", "--json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert "match" not in rows[0]  # --json keeps its fields: exact_match says it
    assert [r["exact_match"] for r in rows] == [True, False, False]


def test_a_filtered_hit_holding_every_query_word_is_not_a_weak_match(searcher: Searcher) -> None:
    # Before: `kb search experts --variable num_experts` said "No close match" above its one
    # right hit (a one-word query's cosine is low).
    language = SearchFilters(domain="language")
    found = searcher.search("tokenizer", k=3, filters=language)
    assert found[0].title == "A Faster Tokenizer"
    assert found.match_score is not None
    assert found.match_score < 0.99  # the cosine alone would call it weak
    assert found.words_found
    assert found.weak_match is False
    assert found.notice is None
    assert found.match_fields()["weak_match"] is False


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("tokenizer", None),  # no filter: the threshold decides, as before
        ("tokenizer bananas", SearchFilters(domain="language")),  # not every word in one hit
        ("banana bread recipe", SearchFilters(domain="language")),
        ("the of and", SearchFilters(domain="language")),  # no word the keyword search reads
    ],
)
def test_the_words_rule_needs_a_filter_and_every_word(
    searcher: Searcher, query: str, filters: SearchFilters | None
) -> None:
    result = searcher.search(query, k=3, filters=filters)
    assert result.weak_match is True
    assert result.notice is not None
    assert result.notice.startswith("No close match")


# -- 6. every command's help -------------------------------------------------------------------

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_example_is_printed_on_one_line(name: str) -> None:
    # `kb search --help` and `kb fit --help` rewrapped their example mid-command ("--k" and
    # "5" on two lines), so it could not be copied.
    example = re.search(r"Example:\s*(kb [^\n]+)", cli.commands[name].help or "")
    assert example, f"kb {name}: no 'Example: kb ...' line"
    rendered = _run(name, "--help").output
    assert example.group(1).strip() in rendered, f"kb {name}: its example is rewrapped"


@pytest.mark.parametrize("name", COMMANDS)
def test_options_taking_a_path_say_so(name: str) -> None:
    # `kb search --batch FILENAME` while its help spoke of FILE.
    ctx = click.Context(cli.commands[name], info_name=name)
    for param in cli.commands[name].params:
        if isinstance(param.type, click.Path | click.File):
            assert param.make_metavar(ctx) in {"FILE", "DIRECTORY", "PATH", "PATHS..."}, (
                name,
                param.name,
                param.make_metavar(ctx),
            )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("foo", "expected one of compute, n_params, n_tokens"), ("compute:2", "0 < fraction < 1"),
     ("compute:x", "expected AXIS:FRACTION")],
)  # fmt: skip
def test_a_bad_holdout_is_a_usage_error_naming_the_option(
    empty: Path, value: str, expected: str
) -> None:
    # Before: exit 1 with "holdout axis 'foo': ..." and no word of --holdout.
    result = _run("fit", "toy", "--law", "chinchilla", "--holdout", value, "--no-save",
                  "--db", str(empty))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--holdout'" in result.output
    assert expected in result.output


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_app_address_is_refused(
    empty: Path, blank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: streamlit got `--server.address ''` and served on every interface, while the CLI
    # said "scaling-kb app on http://:8501".
    started: list[object] = []
    monkeypatch.setattr("os.execve", lambda *args: started.append(args))
    result = _run("app", "--address", blank, "--db", str(empty))
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--address': is blank" in result.output
    assert started == []
    ok = _run("app", "--address", "127.0.0.1", "--port", "8651", "--db", str(empty))
    assert ok.exit_code == 0, ok.output
    assert len(started) == 1
