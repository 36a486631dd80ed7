"""A researcher's questions answered in a form one can read and share.

"Show me the sentence each claim of paper X comes from", "do the conventions agree?", "how many
points did the audit refit?": the tables say it without --json, the JSON lines carry the
paper's title, and the Paper page downloads its claims. Papers here are invented for the tests.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from kb.cli import cli
from kb.query import get_paper, paper_claims
from kb.records import Claim, Dataset, Exponent, Paper, paper_id_for
from kb.registry import DEFAULT_REGISTRY, load_registry
from kb.store import Store
from tests.test_audit import law as audit_law_record
from tests.test_audit import two_sets

TITLE = "Invented Data Scaling of Loss Curves"
PID = paper_id_for(TITLE)
# Longer than the 70 characters a listing shows of an evidence sentence.
LONG = (
    "We find that the validation loss falls as a power law in the number of training tokens, "
    "with an exponent of 0.3 that holds over four orders of magnitude of data."
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert(
            [
                Paper(paper_id=PID, title=TITLE, abstract=LONG, domain="language"),
                Claim(claim_id="c1", paper_id=PID, response="loss", variables=["data_size"],
                      form="power_law", direction="improves", evidence=LONG, span_start=0,
                      span_end=len(LONG), extractor_version="t"),
                Exponent(exponent_id="e1", paper_id=PID, claim_id="c1", value=0.3,
                         variable="data_size", text="an exponent of 0.3", span_start=101,
                         span_end=119, extractor_version="t"),
            ]
        )  # fmt: skip
        s.upsert(load_registry(DEFAULT_REGISTRY))
    return path


def _run(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_one_papers_claims_show_each_evidence_sentence_whole(db: Path) -> None:
    out, _ = _run("claims", "--paper", PID, "--db", str(db))
    assert LONG in out  # was cut to its first 69 characters and '…'
    assert out.splitlines()[0] == f"{PID}  {TITLE}"


def test_claim_and_exponent_listings_name_the_paper(db: Path) -> None:
    out, _ = _run("claims", "--db", str(db))
    header = out.splitlines()[0].split()
    assert header[:2] == ["paper_id", "title"]
    assert "Invented Data Scaling" in out
    (row,) = map(json.loads, _run("claims", "--json", "--db", str(db))[0].splitlines())
    assert row["title"] == TITLE
    assert row["evidence"] == LONG
    out, _ = _run("exponents", "--db", str(db))
    assert out.splitlines()[0].split()[:2] == ["paper_id", "title"]
    (exp,) = map(json.loads, _run("exponents", "--json", "--db", str(db))[0].splitlines())
    assert exp["title"] == TITLE
    assert exp["value"] == 0.3


@pytest.mark.parametrize("command", ["claims", "exponents"])
@pytest.mark.parametrize(
    "paper", ["2203.15556", "https://arxiv.org/abs/2203.15556v2",
              "Training compute-optimal large language models"],
)  # fmt: skip
def test_a_registry_paper_outside_the_kb_points_to_kb_laws(
    db: Path, command: str, paper: str
) -> None:
    """Hoffmann et al. 2022 is in the registry, not in the seeds: say where its numbers are."""
    result = CliRunner().invoke(cli, [command, "--paper", paper, "--db", str(db)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "kb laws --paper 2203.15556" in result.output
    assert "Training Compute-Optimal Large Language Models" in result.output
    # A paper named nowhere keeps the plain error.
    other = CliRunner().invoke(cli, [command, "--paper", "2999.00001", "--db", str(db)])
    assert other.exit_code == 1
    assert "kb laws" not in other.output
    assert "kb papers" in other.output


def test_compare_table_says_why_a_value_is_not_comparable(db: Path) -> None:
    out, _ = _run("compare", "--quantity", "beta", "--db", str(db))
    header = out.splitlines()[0].split()
    assert header[-2:] == ["reasons", "notes"]
    kaplan = next(line for line in out.splitlines() if line.startswith("beta      kaplan2020_l_d"))
    assert "not_comparable" in kaplan
    assert "different form:" in kaplan  # the first reason, where only provenance notes were


@pytest.fixture
def runs_db(tmp_path: Path) -> Path:
    """Two training sets of 8 runs; a law fitted by its paper on 3 runs of set 'a'."""
    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets()])
        s.upsert([audit_law_record("a_only", "power_law", {"A": 50.0, "alpha": 0.1},
                                   conventions={"dataset_metric": "task_loss",
                                                "setting": '{"train_dataset": "a"}',
                                                "data": "set a; fit points: the 3 smallest runs"})
                  ])  # fmt: skip
    return path


def test_audit_says_how_many_points_each_refit_used(runs_db: Path) -> None:
    db = str(runs_db)
    rows = [json.loads(x) for x in _run("audit", "d", "--boot", "0", "--json", "--db", db)[0]
            .splitlines()]  # fmt: skip
    assert {r["n_points"] for r in rows} == {8}  # the 8 runs of training set 'a', of 16
    out, err = _run("audit", "d", "--boot", "0", "--db", db)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["law", "recipe", "points"]
    assert lines[2].split()[:3] == ["a_only", "standard", "8"]
    # What the paper fitted, beside it: 3 runs against 8 is no contradiction on its own. The
    # wording is kb fit's (kb.cli._common.paper_data_note); it was "a_only: refit on 8 points;
    # its paper's data: set a; ...", which left unsaid that the paper fitted that data.
    assert (
        "Note: a_only was fitted by its paper on: set a; fit points: the 3 smallest runs; "
        "this refit uses 8 points"
    ) in err


def test_audit_and_fit_print_the_paper_s_data_in_one_wording(runs_db: Path) -> None:
    """The same law refitted on the same 8 points: kb audit and kb fit print the same note."""
    db = str(runs_db)
    _, audit_err = _run("audit", "d", "--boot", "0", "--db", db)
    _, fit_err = _run(
        "fit",
        "d",
        "--law",
        "power_law",
        "--x",
        "n_params",
        "--metric",
        "task_loss",
        "--where",
        "train_dataset=a",
        "--no-save",
        "--db",
        db,
    )
    audit_notes = [line for line in audit_err.splitlines() if "set a; fit points" in line]
    fit_notes = [line for line in fit_err.splitlines() if "set a; fit points" in line]
    assert audit_notes == fit_notes
    assert len(fit_notes) == 1


def test_paper_data_note_names_each_refit_s_count_once() -> None:
    from kb.cli._common import paper_data_note

    note = paper_data_note("law", "245 points of a figure", [245, 240, 245])
    assert note == (
        "Note: law was fitted by its paper on: 245 points of a figure; its refits use 240 or "
        "245 points"
    )


def test_fit_beside_reported_values_says_what_the_paper_fitted(runs_db: Path) -> None:
    args = ["fit", "d", "--law", "power_law", "--x", "n_params", "--metric", "task_loss",
            "--where", "train_dataset=a", "--no-save", "--db", str(runs_db)]  # fmt: skip
    out, err = _run(*args)
    assert "reported (a_only)" in out
    assert (
        "Note: a_only was fitted by its paper on: set a; fit points: the 3 smallest runs; "
        "this refit uses 8 points"
    ) in err


def test_claims_export_is_what_kb_claims_json_prints(db: Path) -> None:
    from kb.query import claims_export

    with Store(db, read_only=True) as s:
        paper = get_paper(s, PID)
        claims, _ = paper_claims(s, PID)
        table, lines = claims_export(paper, claims)
    cli_lines, _ = _run("claims", "--paper", PID, "--json", "--db", str(db))
    assert [json.loads(x) for x in lines.splitlines()] == [
        json.loads(x) for x in cli_lines.splitlines()
    ]
    (row,) = csv.DictReader(io.StringIO(table))
    assert row["title"] == TITLE
    assert row["evidence"] == LONG
    assert LONG[int(row["span_start"]) : int(row["span_end"])] == row["evidence"]
    assert row["variables"] == "data_size"


def test_paper_page_downloads_its_claims(app_db: Path) -> None:
    pid = paper_id_for("Invented Scaling Laws for Testing")
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app" / "main.py"), default_timeout=30
    )
    at.query_params["id"] = pid
    at.run()
    at.switch_page("views/paper.py").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download claims (CSV)", "Download claims (JSON lines)"]


def test_hits_export_is_what_kb_search_json_prints() -> None:
    from kb.query import hits_export
    from kb.search import Hit

    hits = [
        Hit(paper_id=PID, title=TITLE, score=0.61, snippet=LONG, snippet_span=(0, len(LONG)),
            year=2024, domain="language"),
        Hit(paper_id="t:other", title="Other, with a comma", score=0.2, snippet="x",
            snippet_span=(0, 1)),
    ]  # fmt: skip
    fields = {"weak_match": False, "match_score": 0.7, "not_english": False, "notice": None}
    table, lines = hits_export("data scaling", hits, fields)
    # kb search --json prints h.model_dump() | hits.match_fields() per hit (kb/cli/search.py).
    assert [json.loads(x) for x in lines.splitlines()] == [
        json.loads(json.dumps(h.model_dump() | fields)) for h in hits
    ]
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["rank"] for r in rows] == ["1", "2"]
    assert {r["query"] for r in rows} == {"data scaling"}
    assert rows[0]["snippet"] == LONG
    assert rows[1]["title"] == "Other, with a comma"


@pytest.mark.slow
def test_search_page_downloads_its_results(app_db: Path) -> None:
    from kb.index import build_index

    with Store(app_db) as store:
        build_index(store, app_db)
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app" / "main.py"), default_timeout=120
    )
    at.query_params["q"] = "power law in model size"
    at.run()
    at.switch_page("views/search.py").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download results (CSV)", "Download results (JSON lines)"]


def test_fit_table_says_what_its_derived_rows_are(tmp_path: Path) -> None:
    """a, b, G and N_opt@5.76e+23 were printed with no word of what they are."""
    lines = ["n_params,n_tokens,compute_flops,value"]
    for n in (2e7, 5e7, 1e8, 2e8, 4e8, 8e8):
        for m in (5, 10, 20, 40, 80):
            loss = 1.8 + 400 / n**0.33 + 1500 / (m * n) ** 0.3
            lines.append(f"{n:g},{m * n:g},{6 * n * m * n:g},{loss:.5f}")
    data = tmp_path / "runs.csv"
    data.write_text("\n".join(lines) + "\n")
    out, _ = _run("-q", "fit", "--data", str(data), "--law", "chinchilla")
    assert "G                          " in out
    assert "G = (alpha A/(beta B))^(1/(alpha+beta))" in out
    assert "@C: at a budget of C FLOPs (5.76e23: Chinchilla's)" in out
    one, _ = _run("-q", "fit", "--data", str(data), "--law", "power_law", "--x", "n_tokens")
    assert "derived (" not in one  # no frontier, no legend
