"""Registry laws under every filter a user sets, and small CLI debts (session 14).

Papers and laws are invented (tests/test_search.py's papers; registry ids only where a real
law's formula is the case); no model is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kb.index
from kb.audit import audit_law
from kb.cli import cli
from kb.datasets import DEFAULT_METRIC_KEY
from kb.filters import (
    HAS_EXPONENT_HELP,
    HAS_EXPONENT_OPTION_HELP,
    exponent_law_papers,
    law_exponent_rows,
    law_exponent_variables,
)
from kb.index import build_index, check_index
from kb.records import Dataset, FitRecord, Paper, Point, ReportedLaw
from kb.registry import check_fit_runs, load_registry
from kb.search import Searcher, SearchFilters
from kb.store import Store
from tests.test_search import (
    PAPERS,
    HashEmbedder,
    _claims_and_exponents,
    filtered_ids,
    store_with_laws,
)

TOKENIZER, PIXELS = PAPERS[2], PAPERS[3]


def _law(
    law_id: str, formula: str, params: dict[str, float], *, paper: Paper = PIXELS, **kw: Any
) -> ReportedLaw:
    return ReportedLaw(
        law_id=law_id, arxiv_id="2999.00001", title=paper.title, year=2024,
        name=kw.pop("name", law_id), formula=formula, params=params, source="invented",
        verified=False, notes="invented", **kw,
    )  # fmt: skip


# -- 1. --variable counts the registry's laws, as --has-exponent does -------------------------

# Pixels at Scale: no claim or exponent in the store; the registry holds a law with a D
# exponent (and an N one). The tokenizer paper has a law with a compute exponent only.
LAWS = [
    _law("pixels_nd", "L = E + A / N^alpha + B / D^beta", {"E": 1.0, "A": 2.0, "B": 3.0,
                                                          "alpha": 0.3, "beta": 0.2}),
    # filed under vision by the registry, though the paper's label is language
    _law("tokens_c", "E(C) = beta C^alpha", {"beta": 5.0, "alpha": -0.1}, paper=TOKENIZER,
         conventions={"domain": "vision"}),
]  # fmt: skip


@pytest.fixture
def lawful_db(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    return store_with_laws(tmp_path / "kb.duckdb", LAWS)


def test_variable_counts_a_registry_laws_exponent(lawful_db: tuple[Path, HashEmbedder]) -> None:
    """Before, `--variable data_size` left out a paper whose only evidence for data size was a
    registry law with a D exponent; `--has-exponent` already counted it."""
    db, embedder = lawful_db
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        # the robotics paper's claim (data_size) and the pixels paper's law (B / D^beta)
        assert filtered_ids(sr, SearchFilters(variable="data_size")) == {
            PAPERS[1].paper_id,
            PIXELS.paper_id,
        }
        # the abstract's exponent (PAPERS[0]) and the pixels law's N^alpha
        assert filtered_ids(sr, SearchFilters(variable="model_size")) == {
            PAPERS[0].paper_id,
            PIXELS.paper_id,
        }
        assert filtered_ids(sr, SearchFilters(variable="compute")) == {TOKENIZER.paper_id}
        assert filtered_ids(sr, SearchFilters(variable="data_size", domain="vision")) == {
            PIXELS.paper_id
        }
        assert exponent_law_papers(s, variable="compute") == [TOKENIZER.paper_id]
        assert exponent_law_papers(s, variable="batch_size") == []
        # a year filter's undated count reads the same condition (nothing undated here)
        assert sr.undated_left_out(SearchFilters(variable="data_size", year_min=2000)) == 0


def test_where_takes_the_registry_papers_of_the_variable(store: Store) -> None:
    store.upsert([*PAPERS, *_claims_and_exponents()])
    where, params = SearchFilters(variable="data_size").where(variable_papers=[PIXELS.paper_id])
    rows = store.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
    assert {r[0] for r in rows.fetchall()} == {PAPERS[1].paper_id, PIXELS.paper_id}
    # without registry papers: the abstracts' claims and exponents alone, as before
    where, params = SearchFilters(variable="data_size").where()
    rows = store.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
    assert {r[0] for r in rows.fetchall()} == {PAPERS[1].paper_id}


@pytest.mark.parametrize(
    ("formula", "params", "expected"),
    [
        # the base of the power each exponent is
        ("L = E + A / N^alpha + B / D^beta", {"A": 1.0, "B": 1.0, "alpha": 0.3, "beta": 0.2},
         {"alpha": "model_size", "beta": "data_size"}),
        ("E(C) = beta C^alpha", {"beta": 5.9, "alpha": -0.11}, {"alpha": "compute"}),
        ("L(N) = (N_c / N)^alpha_N", {"alpha_N": 0.076, "N_c": 8.8e13}, {"alpha_N": "model_size"}),
        # Kaplan et al.'s joint law: a ratio of exponents is no one base's; the names say
        ("L = [ (N_c / N)^(alpha_N / alpha_D) + D_c / D ]^alpha_D",
         {"N_c": 6e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103},
         {"alpha_N": "model_size", "alpha_D": "data_size"}),
        # an exponent the formula prints as a number: of C_min, whatever its name says
        ("N_opt ∝ C_min^0.73, B ∝ C_min^0.24", {"exp_N": 0.73, "exp_B": 0.24},
         {"exp_N": "compute", "exp_B": "compute"}),
        ("eta_opt = 0.31 C^-0.1250", {"eta_coef": 0.31, "eta_exp": -0.125}, {"eta_exp": "compute"}),
        # the base is the loss: the name's suffix says batch size
        ("B_crit(L) = B_star / L^(1/alpha_B)", {"B_star": 2e8, "alpha_B": 0.21},
         {"alpha_B": "batch_size"}),
        # granularity is none of the variables
        ("L = E + (g / G^gamma + A) / N^alpha", {"g": 2.1, "gamma": 0.58, "alpha": 0.1},
         {"gamma": None, "alpha": "model_size"}),
    ],
)  # fmt: skip
def test_law_exponent_variables(
    formula: str, params: dict[str, float], expected: dict[str, str | None]
) -> None:
    assert law_exponent_variables(_law("x", formula, params)) == expected


def test_an_exponent_with_no_known_base_takes_the_one_quantity_the_name_gives() -> None:
    hestness = _law("h", "eps(m) = alpha * m^beta_g", {"beta_g": -0.3},
                    name="ImageNet classification: top-1 error vs training set size")  # fmt: skip
    assert law_exponent_variables(hestness) == {"beta_g": "data_size"}
    two = _law("k", "L = x^c0", {"c0": 0.1}, name="loss vs parameters and tokens")
    assert law_exponent_variables(two) == {"c0": None}  # two quantities named: not said
    alloc = _law("a", "L = E + A / N^alpha + B / D^beta", {"alpha": 0.3, "beta": 0.3},
                 derived={"a": 0.5, "b": 0.5})  # fmt: skip
    assert law_exponent_variables(alloc)["a"] == "compute"  # N_opt ∝ C^a


def test_every_registry_exponent_of_a_fitted_law_has_a_variable_or_says_none() -> None:
    """The shipped registry: the Chinchilla-form laws' alpha/beta are N/D, a/b compute."""
    laws = {law.law_id: law for law in load_registry()}
    assert law_exponent_variables(laws["hoffmann2022_approach3"]) == {
        "alpha": "model_size", "beta": "data_size", "a": "compute", "b": "compute",
    }  # fmt: skip
    assert law_exponent_variables(laws["kaplan2020_l_ns"]) == {
        "alpha_N": "model_size", "alpha_S": "training_steps",
    }  # fmt: skip
    assert law_exponent_variables(laws["kumar2024_ptq_degradation"]) == {
        "gamma_D": "data_size", "gamma_N": "model_size",
    }  # fmt: skip


# -- 2. kb laws --json carries each law's exponents --------------------------------------------


def test_laws_json_lists_each_laws_exponents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "KB_REGISTRY", str(Path(__file__).parent / "fixtures/registry/two_laws.toml")
    )
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert([Paper(paper_id="arxiv:2101.00001", arxiv_id="2101.00001", title="Toy")])
    result = CliRunner().invoke(cli, ["laws", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    rows = {r["law_id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["toy2021_chinchilla"]["exponents"] == [
        {"symbol": "alpha", "value": 0.3, "variable": "model_size", "derived": False},
        {"symbol": "beta", "value": 0.3, "variable": "data_size", "derived": False},
        {"symbol": "a", "value": 0.5, "variable": "compute", "derived": True},
        {"symbol": "b", "value": 0.5, "variable": "compute", "derived": True},
    ]
    assert rows["toy2021_power"]["exponents"] == [
        {"symbol": "alpha_N", "value": 0.07, "variable": "model_size", "derived": False}
    ]
    # the same rows as the library gives
    law = next(x for x in load_registry() if x.law_id == "toy2021_power")
    assert law_exponent_rows(law) == rows["toy2021_power"]["exponents"]


# -- 3. kb audit says what kind each interval is -----------------------------------------------


def _fit(params: dict[str, float], **options: Any) -> FitRecord:
    return FitRecord(
        fit_id="f", dataset="d", law="chinchilla", recipe="standard", metric="loss",
        options=options, params=params,
        intervals={k: [v * 0.9, v * 1.1] for k, v in params.items()},
        objective=0.0, n_points=10, n_starts=1, n_converged=1, seed=0, version="t",
        created_at=dt.datetime(2026, 1, 1),
    )  # fmt: skip


def test_audit_rows_say_what_kind_each_interval_is() -> None:
    hoffmann = _law(
        "h", "L = E + A / N^alpha + B / D^beta", {"E": 1.69, "alpha": 0.34},
        form="chinchilla", dataset="d", intervals={"alpha": [0.3, 0.4]},
        conventions={"intervals": "10th-90th percentile bootstrap"},
    )  # fmt: skip
    fit = _fit({"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.35, "beta": 0.37},
               n_boot=200, level=0.95)  # fmt: skip
    rows = {r.param: r for r in audit_law(hoffmann, fit, is_paper_recipe=False)}
    assert rows["alpha"].interval_kind == "bootstrap percentile interval (95%, 200 resamples)"
    assert rows["alpha"].reported_interval_kind == (
        "interval as reported (10th-90th percentile bootstrap)"
    )
    assert rows["E"].reported_interval_kind is None  # the paper gives no interval of E
    no_boot = audit_law(hoffmann, _fit({"E": 1.8}) .model_copy(update={"intervals": {}}),
                        is_paper_recipe=False)  # fmt: skip
    assert {r.interval_kind for r in no_boot} == {None}


def test_audit_table_and_json_carry_the_interval_kind(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    points = [
        Point(point_id=f"p{i}", dataset="d", metric="loss", value=50 * (10 ** (6 + i / 2)) ** -0.1
              * (1 + 0.02 * ((-1) ** i)), unit="nats/token", source_file="f.csv", source_row=i,
              n_params=10 ** (6 + i / 2), n_params_kind="total")
        for i in range(8)
    ]  # fmt: skip
    law = _law("pw", "L = A N^-alpha", {"A": 50.0, "alpha": 0.1}, form="power_law", dataset="d",
               intervals={"alpha": [0.09, 0.11]}, conventions={"intervals": "95% CI"},
               name="loss vs model size")  # fmt: skip
    with Store(db) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *points, law])
    runner = CliRunner()
    table = runner.invoke(cli, ["audit", "d", "--boot", "20", "--db", str(db)])
    assert table.exit_code == 0, table.output
    header = table.stdout.splitlines()[0].split()
    assert header.index("interval_kind") == header.index("interval") + 1
    assert "bootstrap percentile interval (95%" in table.stdout
    out = runner.invoke(cli, ["audit", "d", "--boot", "20", "--json", "--db", str(db)])
    rows = {r["param"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert rows["alpha"]["interval_kind"] == "bootstrap percentile interval (95%, 20 resamples)"
    assert rows["alpha"]["reported_interval_kind"] == "interval as reported (95% CI)"


# -- 5. one wording of --has-exponent ----------------------------------------------------------


def test_has_exponent_has_one_wording_everywhere() -> None:
    """`kb search --help`, the filter model's description and the app's checkbox said it in
    two wordings (kb.filters had two constants); one now, from one place."""
    assert HAS_EXPONENT_OPTION_HELP is HAS_EXPONENT_HELP
    assert SearchFilters.model_fields["has_exponent"].description == HAS_EXPONENT_HELP
    shown = " ".join(CliRunner().invoke(cli, ["search", "--help"]).output.split())
    assert " ".join(HAS_EXPONENT_HELP.split()) in shown
    variable = SearchFilters.model_fields["variable"].description or ""
    assert "registry" in variable
    assert "exponent of a law of the registry" in shown


# -- 6. speed: one points query per sync, one trailer read per index check ---------------------


def test_fit_runs_are_checked_with_one_points_query(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At ingest, the registry sync read a dataset's points once per law naming runs (Gadre
    et al.'s six laws: six reads of one dataset). One query now, and the same problems."""
    pts = [
        Point(point_id=f"p{i}-{m}", dataset="d", metric=m, value=1.0 + i, unit="nats",
              source_file="f.csv", source_row=i, n_params=1e6 * (i + 1), run_key=f"run{i}",
              n_params_kind="total")
        for i in range(3) for m in ("loss", "err")
    ]  # fmt: skip
    store.upsert([Dataset(name="d", path="/x", adapter_version="t"), *pts])
    store.set_meta(DEFAULT_METRIC_KEY.format("d"), "loss")

    def with_runs(law_id: str, runs: list[str], **conv: str) -> ReportedLaw:
        return _law(law_id, "L = A N^-alpha", {"A": 1.0, "alpha": 0.1}, form="power_law",
                    dataset="d", conventions={"fit_runs": json.dumps(runs),
                                              "fit_runs_source": "here", **conv})  # fmt: skip

    laws = [
        with_runs("ok", ["run0", "run1"]),
        with_runs("ok_err", ["run2"], dataset_metric="err"),
        with_runs("missing", ["run0", "run9"]),
        with_runs("elsewhere", ["x"]).model_copy(update={"dataset": "not_stored"}),
    ]
    file = tmp_path / "laws.toml"
    file.write_text("".join(f'[[laws]]\nlaw_id = "{law.law_id}"\n' for law in laws))
    queries: list[str] = []
    select = Store.select

    def counting(self: Store, model: type, *args: Any, **kw: Any) -> Any:
        if model is Point:
            queries.append(str(args[:1]))
        return select(self, model, *args, **kw)

    monkeypatch.setattr(Store, "select", counting)
    problems = check_fit_runs(store, laws, file)
    assert len(queries) == 1
    assert len(problems) == 1
    assert problems[0].startswith(f"{file}:6: law 'missing': field 'conventions.fit_runs': 1 of")
    assert "'run9'" in problems[0]


def test_an_index_check_reads_the_trailer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert(PAPERS)
        build_index(s, path, model=embedder)
    reads: list[Path] = []
    original = kb.index.generation_of

    def counting(p: Path) -> tuple[str | None, int]:
        reads.append(p)
        return original(p)

    monkeypatch.setattr(kb.index, "generation_of", counting)
    with Store(path, read_only=True) as s:
        assert check_index(s, path, model=embedder).report is not None
    assert len(reads) == 1


# -- 1b. a year filter reads the registry's year of a paper the listings gave no date ---------


def test_year_filters_read_the_registry_year_of_an_undated_paper(tmp_path: Path) -> None:
    """Kaplan et al. 2020 has no publication date in the seed listings, and `--year-min 2020`
    left it out (counted among the undated), though the registry records its year."""
    undated = PAPERS[4]  # no publication date
    assert undated.published is None
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, _law("inverse", "L = A N^alpha", {"alpha": 0.1}, paper=undated)])
        build_index(s, path, model=embedder)
    with Store(path, read_only=True) as s:
        sr = Searcher.open(s, path, model=embedder)
        assert undated.paper_id in filtered_ids(sr, SearchFilters(year_min=2024))  # the law's year
        assert undated.paper_id in filtered_ids(sr, SearchFilters(year_min=2024, year_max=2024))
        assert undated.paper_id not in filtered_ids(sr, SearchFilters(year_max=2023))
        assert sr.undated_left_out(SearchFilters(year_min=2024)) == 0
    # the condition alone, without registry years, leaves it out as before
    with Store(path, read_only=True) as s:
        where, params = SearchFilters(year_min=2024).where()
        rows = s.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
        assert undated.paper_id not in {r[0] for r in rows.fetchall()}


def test_domain_counts_the_domain_of_a_papers_registry_laws(
    lawful_db: tuple[Path, HashEmbedder],
) -> None:
    """A paper has one domain label; Hestness et al. 2017 (language) reports an ImageNet law the
    registry files under vision, and `--domain vision` left it out."""
    db, embedder = lawful_db
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        assert filtered_ids(sr, SearchFilters(domain="vision")) == {
            PIXELS.paper_id,
            TOKENIZER.paper_id,
        }
        language = filtered_ids(sr, SearchFilters(domain="language"))
        assert TOKENIZER.paper_id in language  # its own label still counts
        where, params = SearchFilters(domain="vision").where()  # without registry papers
        rows = s.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
        assert {r[0] for r in rows.fetchall()} == {PIXELS.paper_id}
