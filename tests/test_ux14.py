"""Small things a researcher trips on in search, Compare and the paper page (session 14).

Papers and laws are invented (tests/test_search.py's papers), but for the shipped registry's
Kaplan et al. 2020 and Hoffmann et al. 2022 cards; no model is loaded.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from kb.cli import cli
from kb.derive import QUANTITIES
from kb.index import build_index
from kb.query import constant_units, hits_export, law_card
from kb.records import Paper, ReportedLaw
from kb.registry import load_registry
from kb.search import Searcher
from kb.store import Store
from tests.test_search import PAPERS, HashEmbedder

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"
UNDATED, DATED = PAPERS[4], PAPERS[0]  # no publication date / one from its listing
# No date, and no law in the registry: no year to show.
NO_YEAR = Paper(paper_id="inv:noyear", title="Models of Nothing Dated", abstract="Models grow.")


def _law(paper: Paper, **kw: Any) -> ReportedLaw:
    base: dict[str, Any] = {
        "law_id": "invented_n", "arxiv_id": "2999.00001", "title": paper.title, "year": 2020,
        "name": "loss vs parameters", "formula": "L(N) = (N_c / N)^alpha_N",
        "params": {"alpha_N": 0.07, "N_c": 8.8e13}, "source": "invented", "verified": False,
    }  # fmt: skip
    return ReportedLaw.model_validate({**base, **kw})


# -- 1. a hit of a paper the listing gave no date shows its registry laws' year, marked ---------


@pytest.fixture
def dated_by_registry(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    assert UNDATED.published is None
    assert DATED.published is not None
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, NO_YEAR, _law(UNDATED)])
        build_index(s, path, model=embedder)
    return path, embedder


def test_a_hit_takes_the_registry_year_of_an_undated_paper(
    dated_by_registry: tuple[Path, HashEmbedder],
) -> None:
    """The year filters placed Kaplan et al. (no date in the seed listings) by its registry
    laws' year, while its hit showed no year at all."""
    path, embedder = dated_by_registry
    with Store(path, read_only=True) as s:
        hits = {
            h.paper_id: h for h in Searcher.open(s, path, model=embedder).search("models", k=10)
        }
        related = Searcher.open(s, path, model=embedder).related(DATED.paper_id, k=10)
    assert (hits[UNDATED.paper_id].year, hits[UNDATED.paper_id].year_source) == (2020, "registry")
    assert DATED.published is not None
    assert hits[DATED.paper_id].year == DATED.published.year
    assert hits[DATED.paper_id].year_source == "listing"
    # neither a date nor a law: nothing to show, and no source
    assert (hits[NO_YEAR.paper_id].year, hits[NO_YEAR.paper_id].year_source) == (None, None)
    assert {h.paper_id: h.year_source for h in related}[UNDATED.paper_id] == "registry"


def _cli_search(path: Path, embedder: HashEmbedder, *args: str) -> Any:
    original = Searcher.open.__func__  # type: ignore[attr-defined]

    def with_hash(cls: type[Searcher], store: Store, db: object, **kw: object) -> Searcher:
        return original(cls, store, db, model=embedder)  # type: ignore[no-any-return]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Searcher, "open", classmethod(with_hash))
        return CliRunner().invoke(cli, ["search", "models", "--k", "10", "--db", str(path), *args])


def test_kb_search_stars_a_registry_year_and_says_why(
    dated_by_registry: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = dated_by_registry
    table = _cli_search(path, embedder)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if UNDATED.title[:30] in line)
    assert "2020*" in row
    assert "year*: the listing gives no date" in table.stderr  # a legend, as for `exact`
    assert "2020*" not in table.stderr
    lines = _cli_search(path, embedder, "--json").stdout.splitlines()
    rows = {r["paper_id"]: r for r in map(json.loads, lines)}
    assert rows[UNDATED.paper_id]["year"] == 2020  # a number in JSON, its source beside it
    assert rows[UNDATED.paper_id]["year_source"] == "registry"
    assert rows[DATED.paper_id]["year_source"] == "listing"


def test_search_export_csv_says_where_the_year_comes_from(
    dated_by_registry: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = dated_by_registry
    with Store(path, read_only=True) as s:
        hits = Searcher.open(s, path, model=embedder).search("models", k=10)
    text, lines = hits_export("models", hits, hits.match_fields())
    rows = {r["paper_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows[UNDATED.paper_id]["year"], rows[UNDATED.paper_id]["year_source"]) == (
        "2020",
        "registry",
    )
    assert json.loads(lines.splitlines()[0])["year_source"] in ("listing", "registry", None)


# -- 2. the Compare page's title and home link say what it compares ----------------------------


def test_compare_title_and_home_link_name_every_kind_of_quantity(app_db: Path) -> None:
    """The page compares tokens per parameter too (kb.derive.QUANTITIES), but its title and the
    home page's link said "Compare exponents across papers"."""
    assert "tokens_per_param" in QUANTITIES
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.run()
    links = [str(el.proto.label) for el in at.get("page_link")]
    link = next(x for x in links if x.startswith("Compare"))
    at.switch_page("views/compare.py").run()
    assert not at.exception
    title = at.title[0].value
    assert title == link
    assert "exponents" in title
    assert "tokens per parameter" in title


# -- 3. law cards give each constant its unit, where the conventions record one ----------------


def test_kaplan_constants_carry_the_units_their_conventions_record() -> None:
    laws = {law.law_id: law for law in load_registry()}
    assert law_card(laws["kaplan2020_l_n"])[0] == (
        "alpha_N = 0.076, N_c = 8.8e+13 non-embedding parameters"
    )
    assert "D_c = 5.4e+13 tokens" in law_card(laws["kaplan2020_l_d"])[0]  # "6N per token"
    assert "C_c_min = 3.1e+08 PF-days" in law_card(laws["kaplan2020_l_cmin"])[0]
    assert "S_c = 2100 steps" in law_card(laws["kaplan2020_l_ns"])[0]
    assert "B_star = 2e+08 tokens" in law_card(laws["kaplan2020_bcrit"])[0]
    assert not any("units not recorded" in x for x in law_card(laws["kaplan2020_l_nd"]))


def test_constants_with_no_recorded_unit_are_named_not_guessed() -> None:
    """Chinchilla's E is in the loss's unit; A and B mix quantities and nothing records them."""
    law = {x.law_id: x for x in load_registry()}["hoffmann2022_approach3"]
    assert constant_units(law) == {"E": "nats/token", "A": None, "B": None}
    lines = law_card(law)
    assert lines[0].startswith("E = 1.69 nats/token, A = 406.4, B = 410.7, alpha = 0.34")
    assert "units not recorded: A, B" in lines


@pytest.mark.parametrize(
    ("conventions", "unit"),
    [
        ({"n_counts": "total (embeddings included)"}, "parameters (total count)"),
        ({"n_counts": "M, non-embedding FLOPs per token"}, None),  # not a parameter count
        ({}, None),
    ],
)
def test_n_c_unit_is_what_n_counts_says(conventions: dict[str, str], unit: str | None) -> None:
    law = _law(DATED, conventions=conventions)
    assert constant_units(law) == {"N_c": unit}
    assert ("units not recorded: N_c" in law_card(law)) is (unit is None)


def test_a_law_of_exponents_only_has_no_units_line() -> None:
    law = _law(DATED, formula="L = N^-alpha", params={"alpha": 0.3})
    assert not any("units" in x for x in law_card(law))


def test_paper_page_shows_the_units_of_a_laws_constants(app_db: Path) -> None:
    from kb.records import paper_id_for

    title = "Invented Scaling Laws for Testing"
    with Store(app_db) as s:
        s.upsert(
            [_law(Paper(paper_id="x", title=title), conventions={"n_counts": "non_embedding"})]
        )
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.query_params["id"] = paper_id_for(title)
    at.run()
    at.switch_page("views/paper.py").run()
    assert not at.exception
    text = "\n".join(c.value for c in at.caption)
    assert "N_c = 8.8e+13 non-embedding parameters" in text
    # the paper's listing gives no date: the page said "date not given" and no more
    assert "date not given (its laws in the registry: 2020)" in at.caption[0].value
    assert at.code[0].value == "L(N) = (N_c / N)^alpha_N"
    assert at.code[0].proto.wrap_lines  # a long formula was cut at 390 px


def test_a_law_card_says_what_n_counts_in_words() -> None:
    # The card showed the registry's key, "N counts: non_embedding".
    from kb.query import _card_value

    assert _card_value("n_counts", "non_embedding") == "non-embedding parameters"
    assert _card_value("n_counts", "total (embeddings included)") == (
        "total parameters (embeddings included)"
    )
    # words of the registry's own stay as written
    assert _card_value("n_counts", "total ViT parameter count") == "total ViT parameter count"
    assert _card_value("compute", "non_embedding") == "non_embedding"
