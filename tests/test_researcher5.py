"""A researcher's questions to the CLI and what misled them (session 14).

Registry values are checked against the paper they come from; everything else is invented.
No model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.compare import compare, disagreements, unavailable
from kb.derive import derived_here, view_of_law
from kb.index import build_index
from kb.registry import DEFAULT_REGISTRY, load_registry
from kb.store import Store
from tests.test_compare import law
from tests.test_search import PAPERS, HashEmbedder

GOPHER = 5.76e23  # FLOPs of Gopher and Chinchilla (Hoffmann et al. 2022)


@pytest.fixture
def registry_store(store: Store) -> Store:
    store.upsert(load_registry(DEFAULT_REGISTRY))
    return store


# -- "Chinchilla: how many tokens per parameter?" ---------------------------------------------
# Hoffmann et al.'s Table 3 (Approach 1's projections) states the optimal model size and token
# count at nine budgets: about 20 tokens per parameter. kb compare gave only Approach 3's 92.7
# at Gopher's budget for that paper, and said Approach 1 states no optimal sizes at any budget.


def test_approach1_table3_ratio_at_gophers_budget(registry_store: Store) -> None:
    rows = {
        r.source_id: r
        for r in compare(registry_store, quantity="tokens_per_param", at_flops=GOPHER)
    }
    row = rows["hoffmann2022_approach1"]
    assert row.value == pytest.approx(1.5e12 / 67e9, abs=0.05)  # Table 3: 67B, 1.5T tokens
    assert row.method == "formula"  # a ratio of two printed sizes: derived here, not stated
    assert "derived here" in row.derivation
    assert "Table 3" in row.derivation
    # The approach-3 value is still there, beside it
    assert rows["hoffmann2022_approach3"].value == pytest.approx(92.6, abs=0.1)


def test_approach1_ratios_are_marked_derived_here(registry_store: Store) -> None:
    (law,) = [x for x in load_registry(DEFAULT_REGISTRY) if x.law_id == "hoffmann2022_approach1"]
    ours = derived_here(view_of_law(law))
    stated = {k for k in law.derived if k.startswith("tokens_per_param@")}
    assert len(stated) == 9
    assert ours == stated  # a and b are the paper's (Table 2), the ratios ours
    # every ratio is Tokens / Parameters of its row, about 20 at every budget
    assert all(20.0 <= law.derived[k] <= 22.5 for k in stated)


def test_approach1_without_a_ratio_at_the_budget_names_the_budgets_it_has(
    registry_store: Store,
) -> None:
    missing = {m.source_id: m.reason for m in unavailable(registry_store, "tokens_per_param")}
    reason = missing["hoffmann2022_approach1"]
    assert "only at C = 1.92e+19" in reason
    assert "5.76e+23" in reason
    assert "1.3e+28" in reason
    assert "not at 1e+24" in reason
    # Approach 2 states no sizes at all: its reason is unchanged
    assert "without their coefficients" in missing["hoffmann2022_approach2"]


# -- "What data exponents were reported, and do they agree?" -----------------------------------
# `kb compare --quantity beta --disagreements` said only "no two comparable papers' intervals of
# beta fail to overlap": 1 of 22 values had an interval, so no pair was tested, and Hoffmann et
# al.'s beta = 0.28 lies outside Besiroglu et al.'s 0.3458-0.3858 (the replication's point).


def _beta_laws() -> list[object]:
    chin = {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34}
    return [
        law("with_interval", "chinchilla", {**chin, "beta": 0.366}, arxiv_id="2404.10102",
            intervals={"beta": [0.346, 0.386]}),
        law("outside", "chinchilla", {**chin, "beta": 0.28}, arxiv_id="2203.15556"),
        law("inside", "chinchilla", {**chin, "beta": 0.35}, arxiv_id="2305.16264"),
    ]  # fmt: skip


def test_coverage_counts_testable_pairs_and_names_values_outside(store: Store) -> None:
    from kb.compare import coverage

    store.upsert(_beta_laws())
    rows = compare(store, quantity="beta")
    assert disagreements(rows) == []  # nothing to test: one interval
    (cov,) = coverage(rows)
    assert (cov.quantity, cov.n_values, cov.n_with_interval, cov.n_tested) == ("beta", 3, 1, 0)
    assert [(o.source_id, o.other) for o in cov.outside] == [("outside", "with_interval")]
    assert cov.outside[0].other_interval == [0.346, 0.386]


def test_cli_disagreements_says_what_it_could_test(store: Store, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_beta_laws())
    args = ["compare", "--quantity", "beta", "--disagreements", "--db", str(db)]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert out.stdout == ""
    assert "beta: 1 of 3 values has an interval, 0 comparable pairs tested" in out.stderr
    assert "outside 0.28 outside with_interval [0.346, 0.386]" in out.stderr
    assert "inside 0.35" not in out.stderr
    # --json stays one disagreement per line (none here); the note is on stderr
    js = CliRunner().invoke(cli, [*args, "--json"])
    assert [json.loads(x) for x in js.stdout.splitlines()] == []
    assert "0 comparable pairs" in js.stderr


# -- "I added my own abstracts; now search them" -----------------------------------------------
# `kb ingest my.csv` reported "1 new" and nothing else; the next `kb search` stopped with
# "stale, built for 270 papers ...". The ingest now says the index lags and how to update it.

MINE = "title,abstract\nMy Scaling Paper,Loss falls as a power law in model size.\n"


def test_ingest_says_when_the_search_index_lags(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(PAPERS)
        build_index(s, db, model=HashEmbedder())
    mine = tmp_path / "mine.csv"
    mine.write_text(MINE, encoding="utf-8")
    args = ["ingest", str(mine), "--db", str(db), "--no-extract"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert f"kb index --db {db}" in first.stderr
    assert "search index does not cover" in first.stderr
    # unchanged the second time, but the index still lags: said again; --json has a field
    again = CliRunner().invoke(cli, args)
    assert "0 new" in again.stdout
    assert "search index does not cover" in again.stderr
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    (report,) = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert "search index" not in as_json.stderr  # scripts read the field
    assert report["new_papers"] == 0
    assert report["search_index"] == "stale"


def test_ingest_into_a_new_store_says_to_build_the_index(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    mine = tmp_path / "mine.csv"
    mine.write_text(MINE, encoding="utf-8")
    out = CliRunner().invoke(cli, ["ingest", str(mine), "--db", str(db), "--no-extract"])
    assert out.exit_code == 0, out.output
    assert f"no search index yet; build it for `kb search` with `kb index --db {db}`" in out.stderr


def test_ingest_with_a_current_index_says_nothing_of_it(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    mine = tmp_path / "mine.csv"
    mine.write_text(MINE, encoding="utf-8")
    args = ["ingest", str(mine), "--db", str(db), "--no-extract"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    with Store(db) as s:
        build_index(s, db, model=HashEmbedder())
    out = CliRunner().invoke(cli, [*args, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["search_index"] == "current"
    assert "search index" not in out.stderr


# -- "Does the fit follow the data?" (kb fit --plot) -------------------------------------------
# The figure's residual panel had its own x domain, ending at the last point, while the fit
# panel ran on into the extrapolation: a point and its residual were not one above the other.


def test_fit_figure_panels_share_one_x_scale() -> None:
    from kb.charts import fit_figure
    from kb.fit import fit_points, points_to_arrays
    from tests.test_fit import _points

    pts = _points()
    result = fit_points(pts, law="chinchilla", n_boot=0)
    X, y, _ = points_to_arrays(pts, result.form)
    spec = fit_figure(result, X, y, metric="loss").to_dict()
    assert len(spec["vconcat"]) == 2
    assert spec["resolve"]["scale"]["x"] == "shared"


# -- "... for language models" -----------------------------------------------------------------
# The app's Compare page has a Domain box; `kb compare` had no way to leave out the vision laws.


def test_cli_compare_domain(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    vision = {"domain": "vision"}
    chin = {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34, "beta": 0.28}
    with Store(db) as s:
        s.upsert(
            [
                law("lm", "chinchilla", chin, conventions={"domain": "language"}),
                law("vit", "chinchilla", chin, arxiv_id="2106.04560", conventions=vision),
            ]
        )
    args = ["compare", "--quantity", "beta", "--json", "--db", str(db)]
    both = CliRunner().invoke(cli, args)
    assert {json.loads(x)["source_id"] for x in both.stdout.splitlines()} == {"lm", "vit"}
    out = CliRunner().invoke(cli, [*args, "--domain", "language"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["source_id"] for r in rows] == ["lm"]
    none = CliRunner().invoke(cli, [*args, "--domain", "speech"])
    assert none.exit_code == 0
    assert none.stdout == ""
    assert "no reported law or stored fit of domain speech has a value of beta" in none.stderr
    assert "values exist in: language, vision" in none.stderr
    assert CliRunner().invoke(cli, [*args, "--domain", "chemistry"]).exit_code == 2
    # The reference is one of the domain's own laws: against a language reference every vision
    # law read "not comparable: different modality", which said nothing among vision laws
    vit = CliRunner().invoke(cli, [*args, "--domain", "vision"])
    (row,) = [json.loads(x) for x in vit.stdout.splitlines()]
    assert (row["source_id"], row["verdict"]) == ("vit", "reference")


def test_compare_in_a_domain_picks_its_reference_there(store: Store) -> None:
    chin = {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34}
    vision = {"domain": "vision"}
    store.upsert(
        [law("lm1", "chinchilla", {**chin, "beta": 0.28}, conventions={"domain": "language"}),
         law("lm2", "chinchilla", {**chin, "beta": 0.30}, arxiv_id="2404.10102",
             conventions={"domain": "language"}),
         law("vit1", "chinchilla", {**chin, "beta": 0.40}, arxiv_id="2106.04560",
             conventions=vision),
         law("vit2", "chinchilla", {**chin, "beta": 0.45}, arxiv_id="2305.13035",
             conventions=vision)]
    )  # fmt: skip
    every = {r.source_id: r.verdict for r in compare(store, quantity="beta")}
    assert every["vit1"] == every["vit2"] == "not_comparable"  # different modality
    rows = {r.source_id: r.verdict for r in compare(store, quantity="beta", domain="vision")}
    assert set(rows) == {"vit1", "vit2"}
    assert sorted(rows.values()) == ["direct", "reference"]


# -- "How many points will a fit of this dataset use?" -----------------------------------------
# `kb datasets` showed rows 143949 for Bhagia et al.'s ladder, the points of all 111 metrics; a
# fit reads the default metric's 1,579. The table and --json now give that count too.


def test_datasets_gives_the_default_metrics_point_count(tmp_path: Path) -> None:
    from kb.records import Dataset, Point

    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert([Dataset(name="toy", arxiv_id="2999.00001", paper_title="Toy", source_repo="r",
                          source_commit="c", source_paths=["p"], license="none", caveats="",
                          n_points=5, path="/x", adapter_version="1")])  # fmt: skip
        s.upsert(
            [Point(point_id=f"p{i}", dataset="toy", source_file="f", source_row=i,
                   run_key=f"r{i}", metric="loss" if i < 2 else "acc", value=1.0 + i,
                   unit="nats/token" if i < 2 else "fraction")
             for i in range(5)]
        )  # fmt: skip
    out = CliRunner().invoke(cli, ["datasets", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    (row,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert row["rows"] == 5
    assert row["default_points"] == row["metrics"][row["default_metric"]] < row["rows"]
    table = CliRunner().invoke(cli, ["datasets", "--db", str(db)])
    assert "default_points" in table.stdout


# -- "Which settings reproduce Kaplan's 0.73?" (kb optima) -------------------------------------
# The table listed every setting's a, then every setting's b, in two unrelated orders, and did
# not say what its intervals were.


def test_optima_table_pairs_a_and_b_and_names_its_intervals(tmp_path: Path) -> None:
    from kb.records import Dataset, Point

    db = tmp_path / "kb.duckdb"
    pts = []
    for setting, exponent in (("Kaplan-like", 0.85), ("Chinchilla-like", 0.5), ("Mid", 0.7)):
        for i in range(6):
            c = 1e16 * 4**i
            for metric, value in (
                ("n_opt", 0.1 * c**exponent),
                ("n_tokens_opt", c ** (1 - exponent)),
            ):
                pts.append(Point(
                    point_id=f"{setting}-{metric}-{i}", dataset="por", metric=metric,
                    value=value, unit="parameters", compute_flops=c, source_file="o.csv",
                    source_row=i, extras={"setting": setting},
                ))  # fmt: skip
    with Store(db) as s:
        s.upsert([*pts, Dataset(name="por", path="/x", adapter_version="t")])
    out = CliRunner().invoke(cli, ["-q", "optima", "por", "--boot", "10", "--db", str(db)])
    assert out.exit_code == 0, out.output
    body = [line.split() for line in out.stdout.splitlines()[2:]]
    settings = [row[1] for row in body]
    exponents = [row[2] for row in body]
    assert settings == sorted(settings)  # one setting's a and b together
    assert exponents == ["a", "b"] * 3
    assert "interval: 95% bootstrap percentile interval of 10 refits per setting" in out.stderr


# -- options that did nothing, silently ----------------------------------------------------------


def test_compare_says_when_at_or_include_fits_do_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_beta_laws())
    base = ["compare", "--db", str(db)]
    at = CliRunner().invoke(cli, [*base, "--quantity", "beta", "--at", "5e23"])
    assert at.exit_code == 0, at.output
    assert "note: --at applies to tokens_per_param only; beta is an exponent" in at.stderr
    tpp = CliRunner().invoke(cli, [*base, "--quantity", "tokens_per_param", "--at", "5e23"])
    assert "note: --at" not in tpp.stderr
    plain = CliRunner().invoke(cli, [*base, "--quantity", "beta"])
    assert "note:" not in plain.stderr
    fits = CliRunner().invoke(cli, [*base, "--quantity", "beta", "--include-fits"])
    assert "note: --include-fits applies with --disagreements" in fits.stderr
    both = CliRunner().invoke(cli, [*base, "--disagreements", "--include-fits"])
    assert "note: --include-fits" not in both.stderr


def test_app_compare_one_domain_has_its_own_reference(app_db: Path) -> None:
    from streamlit.testing.v1 import AppTest

    chin = {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34}
    vision = {"domain": "vision"}
    with Store(app_db) as s:
        s.upsert(
            [*(law(f"lm{i}", "chinchilla", {**chin, "beta": 0.28}, arxiv_id=f"2401.0000{i}",
                   conventions={"domain": "language"}) for i in range(3)),
             law("vit1", "chinchilla", {**chin, "beta": 0.40}, arxiv_id="2106.04560",
                 conventions=vision),
             law("vit2", "chinchilla", {**chin, "beta": 0.45}, arxiv_id="2305.13035",
                 conventions=vision)]
        )  # fmt: skip
    main = Path(__file__).resolve().parent.parent / "app" / "main.py"
    at = AppTest.from_file(str(main), default_timeout=60)
    at.query_params["quantity"] = "beta"
    at.query_params["domain"] = "vision"
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("source")
    assert set(table.index) == {"vit1", "vit2"}
    assert sorted(table["verdict"]) == ["direct", "reference"]


# -- "Does the released data support the published law?" (kb audit) ----------------------------
# The table's interval column did not say what it was; kb fit names its own.


def test_audit_names_its_intervals(tmp_path: Path) -> None:
    from kb.records import Dataset
    from tests.test_audit import law as audit_law
    from tests.test_audit import two_sets

    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets()])
        s.upsert([audit_law("c4", "power_law", {"A": 9.0, "alpha": 0.05},
                            conventions={"dataset_metric": "c4_loss"})])  # fmt: skip
    out = CliRunner().invoke(cli, ["-q", "audit", "d", "--boot", "20", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert "interval: 95% bootstrap percentile interval of 20 refits" in out.stderr
    none = CliRunner().invoke(cli, ["-q", "audit", "d", "--boot", "0", "--db", str(db)])
    assert "no intervals (--boot 0)" in none.stderr


def test_compare_domain_names_only_its_own_laws_without_a_ratio(store: Store) -> None:
    store.upsert(load_registry(DEFAULT_REGISTRY))
    every = {m.source_id for m in unavailable(store, "tokens_per_param")}
    language = {m.source_id for m in unavailable(store, "tokens_per_param", domain="language")}
    assert "alabdulmohsin2023_vit_shape" in every - language  # ViT shape: a vision law
    assert "hoffmann2022_approach2" in language
