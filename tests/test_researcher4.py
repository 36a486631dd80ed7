"""A researcher's questions to the CLI and the app, and what misled them (session 13).

Papers and laws here are invented (or registry ids and numbers only); no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.filters import exponent_law_papers, law_exponents
from kb.records import Paper, ReportedLaw
from kb.search import Searcher, SearchFilters
from kb.store import Store
from tests.test_search import (
    PAPERS,
    HashEmbedder,
    _claims_and_exponents,
    filtered_ids,
    store_with_laws,
)


def _law(
    law_id: str, paper: Paper, formula: str, params: dict[str, float], **kw: object
) -> ReportedLaw:
    return ReportedLaw(
        law_id=law_id, arxiv_id="2999.00001", title=paper.title, year=2024, name=law_id,
        formula=formula, params=params, source="invented", verified=False, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


# -- "Has an exponent" counts the registry's laws of corpus papers ---------------------------

ROBOT, PIXELS = PAPERS[1], PAPERS[3]
LAWS = [
    # a fitted exponent of a corpus paper whose abstract states none
    _law("robot_law", ROBOT, "S(E) = k E^gamma", {"k": 0.2, "gamma": 0.31}),
    # a law recording its form only: no exponent
    _law("pixels_form", PIXELS, "E(C) = a (C + d)^(-b) + c", {}),
]


@pytest.fixture
def lawful_db(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    return store_with_laws(tmp_path / "kb.duckdb", LAWS)


def test_has_exponent_covers_registry_laws_of_corpus_papers(
    lawful_db: tuple[Path, HashEmbedder],
) -> None:
    db, embedder = lawful_db
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        # the abstract's exponent (PAPERS[0]) and the registry's (ROBOT); not the form-only law
        assert filtered_ids(sr, SearchFilters(has_exponent=True)) == {
            PAPERS[0].paper_id,
            ROBOT.paper_id,
        }
        assert filtered_ids(sr, SearchFilters(has_exponent=False)).isdisjoint(
            {PAPERS[0].paper_id, ROBOT.paper_id}
        )
        assert PIXELS.paper_id in filtered_ids(sr, SearchFilters(has_exponent=False))
        assert filtered_ids(sr, SearchFilters(has_exponent=True, domain="robotics")) == {
            ROBOT.paper_id
        }
        assert exponent_law_papers(s) == [ROBOT.paper_id]


def test_has_exponent_help_says_what_it_covers() -> None:
    result = CliRunner().invoke(cli, ["search", "--help"])
    assert "registry" in " ".join(result.output.split())
    description = SearchFilters.model_fields["has_exponent"].description or ""
    assert "abstract" in description
    assert "registry" in description


def test_where_without_registry_papers_still_reads_abstract_exponents(store: Store) -> None:
    store.upsert([*PAPERS, *_claims_and_exponents()])
    where, params = SearchFilters(has_exponent=True).where()
    rows = store.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
    assert [r[0] for r in rows.fetchall()] == [PAPERS[0].paper_id]


# -- the registry's exponents: a coefficient named beta is not one ----------------------------


@pytest.mark.parametrize(
    ("formula", "params", "expected"),
    [
        # Cherti et al.: E = beta C^alpha; beta is the coefficient
        ("E(C) = beta C^alpha", {"alpha": -0.11, "beta": 5.9}, {"alpha": -0.11}),
        # Kumar et al.: gamma_w is a scale inside exp(), gamma_D / gamma_N are powers
        ("d = C_T (D^gamma_D / N^gamma_N) exp(-P / gamma_post)",
         {"C_T": 0.06, "gamma_D": 0.5, "gamma_N": 0.34, "gamma_post": 0.59},
         {"gamma_D": 0.5, "gamma_N": 0.34}),
        # Kaplan et al.: both exponents inside one bracketed power
        ("L = [ (N_c / N)^(alpha_N / alpha_D) + D_c / D ]^alpha_D",
         {"N_c": 6e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103},
         {"alpha_N": 0.076, "alpha_D": 0.103}),
        # a power with a plain letter name, and a named exponent the formula writes as a number
        ("N_opt ∝ C^a", {"a": 0.7}, {"a": 0.7}),
        ("B_opt = 0.29 C^0.33", {"B_coef": 0.29, "B_exp": 0.33}, {"B_exp": 0.33}),
        ("E(C) = a (C + d)^(-b) + c", {}, {}),
    ],
)  # fmt: skip
def test_law_exponents(formula: str, params: dict[str, float], expected: dict[str, float]) -> None:
    assert law_exponents(_law("x", PIXELS, formula, params)) == expected


def test_kb_laws_shows_no_coefficient_as_an_exponent(tmp_path: Path) -> None:
    registry = tmp_path / "laws.toml"
    registry.write_text(
        '[[laws]]\nlaw_id = "cherti_like"\narxiv_id = "2212.07143"\ntitle = "Invented"\n'
        'year = 2022\nname = "error vs compute"\nformula = "E(C) = beta C^alpha"\n'
        'source = "invented"\nverified = false\nnotes = "invented, nothing checked"\n'
        "[laws.params]\nalpha = -0.1114\nbeta = 5.858\n",
        encoding="utf-8",
    )
    db = tmp_path / "kb.duckdb"
    with Store(db):
        pass
    env = {"KB_REGISTRY": str(registry)}
    table = CliRunner().invoke(cli, ["laws", "--db", str(db)], env=env)
    assert table.exit_code == 0, table.output
    assert "alpha=-0.1114" in table.stdout
    assert "beta=" not in table.stdout


# -- the Paper page's law card: intervals, units, and who derived a value --------------------


def _card_law(**kw: object) -> ReportedLaw:
    base: dict[str, object] = {
        "law_id": "invented_alloc", "arxiv_id": "2999.00002",
        "title": "Invented Scaling Laws for Testing", "year": 2024, "name": "allocation",
        "formula": "N_opt ∝ C_min^exp_N, B ∝ C_min^exp_B, S ∝ C_min^exp_S",
        "params": {"exp_N": 0.73, "exp_B": 0.24, "exp_S": 0.03},
        "derived": {"a": 0.73, "b": 0.27},
        "conventions": {"n_counts": "non_embedding", "compute": "C_min in PF-days",
                        "loss_units": "nats/token", "derivation": "b = exp_B + exp_S"},
        "source": "invented", "verified": True,
    }  # fmt: skip
    return ReportedLaw.model_validate({**base, **kw})


def test_law_card_says_who_derived_each_value_and_the_units() -> None:
    from kb.query import law_card

    lines = law_card(_card_law())
    assert lines[0] == "exp_N = 0.73, exp_B = 0.24, exp_S = 0.03"
    # a is the paper's (exp_N); b is ours (exp_B + exp_S): it said "derived a = 0.73, b = 0.27"
    assert "reported by the paper: a = 0.73" in lines
    assert any(x.startswith("derived here") and "b = 0.27" in x and "exp_B + exp_S" in x
               for x in lines)  # fmt: skip
    assert any(
        "compute: C_min in PF-days" in x and "N counts: non-embedding parameters" in x
        for x in lines
    )


def test_law_card_shows_reported_intervals_and_their_kind() -> None:
    from kb.query import law_card

    law = _card_law(
        formula="N_opt ∝ C^a, D_opt ∝ C^b", params={"a": 0.5, "b": 0.5},
        derived={"a": 0.5, "b": 0.5},
        intervals={"a": [0.488, 0.502], "b": [0.501, 0.512]},
        conventions={"intervals": "10th-90th percentile bootstrap"}, verified=False,
    )  # fmt: skip
    lines = law_card(law)
    assert lines[0] == "a = 0.5 (0.488 to 0.502), b = 0.5 (0.501 to 0.512)"
    assert "intervals: 10th-90th percentile bootstrap" in lines
    assert not any(x.startswith(("reported", "stated", "derived")) for x in lines)  # no repeat
    assert lines[-1] == "not checked against the paper"


def test_paper_page_law_card_shows_units_and_derived_here(app_db: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from kb.records import paper_id_for

    with Store(app_db) as s:
        s.upsert([_card_law()])
    main = Path(__file__).resolve().parent.parent / "app" / "main.py"
    at = AppTest.from_file(str(main), default_timeout=30)
    at.query_params["id"] = paper_id_for("Invented Scaling Laws for Testing")
    at.run()
    at.switch_page("views/paper.py").run()
    assert not at.exception
    text = "\n".join(c.value for c in at.caption)
    assert "C_min in PF-days" in text
    assert "derived here (the paper does not state it): b = 0.27" in text
    assert "derived a = 0.73" not in text


# -- kb compare: what kind each interval is ---------------------------------------------------


@pytest.fixture
def registry_db(tmp_path: Path) -> Path:
    from kb.registry import load_registry

    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert(load_registry(Path(__file__).resolve().parent.parent / "data" / "laws.toml"))
    return path


def test_compare_rows_say_what_kind_their_interval_is(registry_db: Path) -> None:
    from kb.compare import compare

    with Store(registry_db, read_only=True) as s:
        rows = {r.source_id: r for r in compare(s, quantity="a")}
    assert rows["hoffmann2022_approach1"].interval_kind == (
        "interval as reported (10th-90th percentile bootstrap)"
    )
    # a = beta/(alpha+beta) with Besiroglu et al.'s alpha, beta ± 1 standard error
    besiroglu = rows["besiroglu2024_refit"].interval_kind or ""
    assert besiroglu.startswith("propagated from the parameters' intervals")
    assert "± 1 bootstrap standard error" in besiroglu
    assert rows["kaplan2020_compute_optimal"].interval_kind is None  # no interval


def test_compare_tables_name_the_interval_kinds(registry_db: Path) -> None:
    """The tables showed 0.4846, 0.5406 (± 1 SE, propagated) beside 0.454, 0.455 (10th-90th
    percentiles) with no word of their kinds; the disagreement's caveat was only in --json."""
    runner = CliRunner()
    found = runner.invoke(cli, ["compare", "--disagreements", "--db", str(registry_db)])
    assert found.exit_code == 0, found.output
    header = found.stdout.splitlines()[0].split()
    assert header[-1] == "caveats"
    assert "the two intervals are of different kinds" in found.stdout
    assert "intervals of hoffmann2022_approach3 (a, b): interval as reported (10th-90th" in (
        found.stderr
    )
    assert "besiroglu2024_refit (a, b): propagated" in found.stderr
    table = runner.invoke(cli, ["compare", "--quantity", "a", "--db", str(registry_db)])
    assert table.exit_code == 0, table.output
    assert "hoffmann2022_approach1 (a); hoffmann2022_approach2 (a): interval as reported" in (
        table.stderr
    )
    rows = runner.invoke(cli, ["compare", "--quantity", "a", "--json", "--db", str(registry_db)])
    kinds = {
        r["source_id"]: r["interval_kind"]
        for r in (json.loads(x) for x in rows.stdout.splitlines())
    }
    assert (
        kinds["hoffmann2022_approach2"] == "interval as reported (10th-90th percentile bootstrap)"
    )


def test_app_compare_table_and_csv_carry_the_interval_kind(registry_db: Path) -> None:
    from kb.charts import compare_records
    from kb.compare import compare

    with Store(registry_db, read_only=True) as s:
        records = {r["source"]: r for r in compare_records(compare(s, quantity="a"))}
    assert records["hoffmann2022_approach1"]["interval_kind"].endswith("percentile bootstrap)")


# -- kb exponents: the registry's exponents exist too ----------------------------------------


def test_exponents_listing_points_to_the_registry(registry_db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["exponents", "--db", str(registry_db)])
    assert result.exit_code == 0, result.output
    assert "the registry holds" in result.stderr
    assert "kb compare --quantity alpha|beta|a|b" in result.stderr
    bare = tmp_path / "bare.duckdb"
    with Store(bare):
        pass
    alone = CliRunner().invoke(cli, ["exponents", "--db", str(bare)])
    assert "registry" not in alone.stderr


# -- the search results' CSV says which filters made them -------------------------------------


def test_hits_csv_names_the_filters() -> None:
    import csv
    import io

    from kb.query import hits_export
    from kb.search import Hit

    hits = [Hit(paper_id="t:x", title="X", score=0.5, snippet="s", snippet_span=(0, 1))]
    fields = {"weak_match": False, "match_score": 0.7, "not_english": False, "notice": None}
    table, lines = hits_export("scaling law", hits, fields, filters="has an exponent")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert rows[0]["filters"] == "has an exponent"
    assert "filters" not in json.loads(lines)  # the JSON lines stay what kb search --json prints
    plain, _ = hits_export("scaling law", hits, fields)
    assert next(csv.DictReader(io.StringIO(plain)))["filters"] == ""


def test_forest_plot_file_names_each_source_interval_kind(registry_db: Path) -> None:
    """A figure written by kb compare --plot has no table beside it: its subtitle said only
    'of the kind each source gives', with Besiroglu et al.'s ± 1 SE drawn like percentiles."""
    from kb.charts import compare_caption, compare_records
    from kb.compare import compare

    with Store(registry_db, read_only=True) as s:
        records = compare_records(compare(s, quantity="a"))
    subtitle = compare_caption(records, standalone=True)
    assert "hoffmann2022_approach1, hoffmann2022_approach2: interval as reported (10th-90th" in (
        subtitle
    )
    assert "besiroglu2024_refit: propagated from the parameters' intervals" in subtitle
    assert "interval_kind column" in compare_caption(records)
    assert "column" not in subtitle  # a figure file has no table to point to


def test_compare_help_says_what_every_quantity_is() -> None:
    """--help explained a, b and tokens_per_param; alpha, beta and loss_compute were names only."""
    text = " ".join(CliRunner().invoke(cli, ["compare", "--help"]).output.split())
    assert "beta: data exponent of the loss (L ∝ D^-beta)" in text
    assert "loss_compute: loss-vs-compute exponent along the optimum" in text


def test_a_value_outside_its_own_interval_is_noted(registry_db: Path) -> None:
    """Hoffmann et al.'s approach 3 prints a = 0.46 (0.454, 0.455): the mark is drawn beside
    its interval, with no word of why."""
    from kb.compare import compare

    with Store(registry_db, read_only=True) as s:
        rows = {r.source_id: r for r in compare(s, quantity="a")}
    assert "the value 0.46 lies outside its own interval (0.454 to 0.455)" in (
        rows["hoffmann2022_approach3"].notes
    )
    assert "outside its own interval" not in rows["hoffmann2022_approach2"].notes
