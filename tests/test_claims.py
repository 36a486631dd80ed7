"""Claims and exponents read from abstracts: each pattern family, the look-alikes that are not
exponents, bad input, exact evidence spans, the store writer, queries and the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ingest.claims import (
    EXTRACTOR_VERSION,
    Extraction,
    explain,
    extract,
    extract_into,
    extract_store,
)
from ingest.claims.exponents import find_exponents, parse_number
from ingest.claims.sentences import sentence_spans
from kb.claims import claim_record, list_claims, list_exponents
from kb.cli import cli
from kb.errors import BadInputError
from kb.records import DIRECTIONS, FORMS, RESPONSES, VARIABLES, Claim, Exponent, Paper
from kb.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claims"


def paper(abstract: str, title: str = "A Study", pid: str = "t:test") -> Paper:
    return Paper(paper_id=pid, title=title, abstract=abstract)


def exponent_values(text: str) -> list[float]:
    """Exponent values of ``text`` read as one abstract, whatever the paper-level verdict."""
    return [e.value for s, e_ in sentence_spans(text) for e in find_exponents(text, (s, e_))]


def assert_spans_exact(p: Paper, result: Extraction | None = None) -> None:
    result = result or extract(p)
    for c in result.claims:
        assert p.abstract[c.span_start : c.span_end] == c.evidence
        assert c.evidence.strip() == c.evidence
        assert c.evidence
    for e in result.exponents:
        assert p.abstract[e.span_start : e.span_end] == e.text


# -- exponents: each family ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # power: braced powers of a symbol, as listings print LaTeX with backslashes stripped
        ("We find a scaling law with L propto N^{0.068} across tasks.", [0.068]),
        ("The loss follows L propto D^{-0.095} in the data size.", [-0.095]),
        ("Error falls as N^{-1} in our lottery ticket scaling law.", [-1.0]),
        # the same with backslashes kept (LaTeX fragments)
        (r"We fit $L(N) \propto N^{-0.076}$ for language models.", [-0.076]),
        # Unicode proportionality and minus sign, unbraced power right after ∝
        ("Loss scales as L ∝ C^−0.05 with compute.", [-0.05]),
        # symbol: a Greek exponent given a value, Unicode and spelled out
        ("Test loss decays as N^{-alpha}, with alpha=0.34 for model size.", [-0.34]),
        ("The loss obeys a power law with α ≈ 0.28 in data size.", [0.28]),
        (r"Loss scales as $N^{-\alpha}$ with $\alpha = 0.5$.", [-0.5]),
        ("Theory predicts a power law (alpha=4), we measure a scaling law (alpha=1).", [4.0, 1.0]),
        # words
        ("Accuracy follows a power law in data with an exponent of 0.5.", [0.5]),
        ("We observe scaling exponents of 0.34 and 0.28 for N and D.", [0.34, 0.28]),
        ("The log-log slope of -0.3 holds across compute scales.", [-0.3]),
        ("Optimal size follows a power law with exponent ≈ 0.73.", [0.73]),
        ("A fraction exponent: loss scales as a power law with exponent 4/3.", [4 / 3]),
    ],
)
def test_exponent_families(text: str, expected: list[float]) -> None:
    assert exponent_values(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        # a power of ten is a magnitude, not an exponent of a law
        "The energy functions show a universal break around 10^{38} erg, like earthquakes.",
        "The loss does not scale smoothly below 2.2 times 10^{15} FLOPs.",
        # a correlation coefficient
        "Scaling up shows power-law scaling laws with linear correlation coefficients near -0.998.",
        # years, counts and percentages next to law words
        "In 2024 we trained 7B models on 2T tokens following a scaling law.",
        "The scaling law improves accuracy by 3.2% per tenfold increase in data.",
        # complexity and squares that are not laws of performance
        "Attention costs O(N^{2}) while our model scales linearly.",
        "A simple 1D problem y=x^2 manifests a different scaling law.",
        "Scaling on Scales (S^2) lets a smaller model outperform larger ones.",
        "It beats prior scaling laws by more than 0.3 R^2 out of sample.",
        # a symbolic exponent without a number
        "MSE losses decay as N^{-alpha}, alpha=4/d, where d is the input dimension.",
        "The rate is width^{-c} where c depends on the architecture.",
        # exponent as floating-point format, and exponents without values
        "Its performance depends on the choice of exponent bits and clipping range.",
        "We observe different power law exponents for encoder and decoder.",
        # a Greek letter that is a hyperparameter, not an exponent
        "We sweep the learning rate with alpha=0.001 and beta=0.9 for Adam.",
    ],
)
def test_non_exponents(text: str) -> None:
    assert exponent_values(text) == []


def test_parse_number() -> None:
    assert parse_number("−0.5") == -0.5
    assert parse_number("4/3") == pytest.approx(4 / 3)
    assert parse_number("1/0") is None
    assert parse_number("abc") is None


def test_exponent_records_symbol_variable_and_claim() -> None:
    p = paper("We find that loss scales as N^{-alpha} with alpha = 0.076 for model size.")
    result = extract(p)
    assert result.studies_scaling_law
    (exp,) = result.exponents
    assert exp.symbol == "alpha"
    assert exp.variable == "model_size"  # from the base N of N^{-alpha}
    assert exp.claim_id == result.claims[0].claim_id
    assert p.abstract[exp.span_start : exp.span_end] == "alpha = 0.076"


# -- claims and paper labels -----------------------------------------------------------------
def test_claim_fields_from_a_law_sentence() -> None:
    p = paper(
        "We train transformers of many sizes. "
        "We find that the cross-entropy loss scales as a power law with model size and "
        "dataset size. Code is released."
    )
    result = extract(p)
    assert result.studies_scaling_law
    (claim,) = result.claims
    assert claim.response == "loss"
    assert claim.variables == ["data_size", "model_size"]
    assert claim.form == "power_law"
    assert claim.evidence.startswith("We find that the cross-entropy loss")
    assert claim.extractor_version == EXTRACTOR_VERSION


@pytest.mark.parametrize(
    ("sentence", "form", "direction"),
    [
        ("We show the test loss follows a power law plus constant in compute.",
         "power_law_plus_constant", "unspecified"),
        ("We find accuracy grows log-linearly with model size.", "log_linear", "improves"),
        ("We observe U-shaped scaling of task performance with model size.", "other",
         "non_monotonic"),
        ("Our results show performance improvements plateau near 300B tokens of data.",
         "unspecified", "saturates"),
        ("We find inverse scaling: larger models perform worse on these tasks.", "unspecified",
         "worsens"),
        ("We observe a broken power law in error as the dataset size grows.",
         "broken_power_law", "unspecified"),
    ],
)  # fmt: skip
def test_form_and_direction(sentence: str, form: str, direction: str) -> None:
    result = extract(paper(sentence))
    assert result.studies_scaling_law, sentence
    assert {c.form for c in result.claims} == {form}
    assert {c.direction for c in result.claims} == {direction}


@pytest.mark.parametrize(
    "abstract",
    [
        # only "scalable" / scaling factors
        "We propose a scalable method for image retrieval. It uses a learnable scaling factor.",
        # scaling laws only as background and motivation
        "Scaling laws predict that performance improves with model size. Inspired by the "
        "scaling law phenomenon, we propose a new data filter that improves accuracy by 3%.",
        "Distinguished from pretraining bounded by the scaling law, this work proposes pruning.",
        # a systems paper: complexity that scales linearly
        "Our kernel has complexity scaling linearly in the sequence length and lower latency.",
        # physics power laws
        "The energy functions of the bursts show a universal break around 10^{38} erg.",
    ],
)
def test_papers_that_do_not_study_a_scaling_law(abstract: str) -> None:
    result = extract(paper(abstract))
    assert not result.studies_scaling_law
    assert result.claims == []
    assert result.exponents == []


# -- claims-rules-2 pattern families --------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We find accuracy improves log-linearly with the number of sampled candidates.",
         "inference_compute"),
        ("We find accuracy improves log-linearly with thinking tokens.", "inference_compute"),
        ("We find loss follows a power law in GPU hours.", "compute"),
        ("We find loss follows a power law in training compute.", "compute"),
        ("We find loss follows a power law in the hidden size.", "width"),
        ("We find loss follows a power law in the number of neurons.", "width"),
        ("We find loss follows a power law in corpus size.", "data_size"),
        ("We find loss follows a power law in N for models trained on D tokens.", "data_size"),
        ("We find loss follows a power law in the number of training examples.", "data_size"),
        ("We find loss follows a power law for models from 10M to 1B.", "model_size"),
        ("We find loss follows a power law in the number of bits per parameter.", "precision"),
        ("We find loss follows a power law in the granularity of the experts.", "num_experts"),
        ("We find loss follows a power law in the number of gradient updates.", "training_steps"),
        ("We find loss follows a power law in the amount of SFT data.", "finetuning_data"),
    ],
)  # fmt: skip
def test_variable_lexicon(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert variable in reading.variables


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("We find loss follows a power law in data, reporting average precision.", "precision"),
        ("We find loss follows a power law in data; precision and recall are shown.", "precision"),
        ("We find loss follows a power law in data for every one of the layers.", "depth"),
        ("We find loss follows a power law in data at any annotation granularity.",
         "num_experts"),
        ("We find loss follows a power law in model size when pruning visual tokens.",
         "data_size"),
    ],
)  # fmt: skip
def test_variable_look_alikes(sentence: str, absent: str) -> None:
    (reading,) = explain(paper(sentence))
    assert absent not in reading.variables


@pytest.mark.parametrize(
    ("sentence", "form", "direction"),
    [
        ("We find that loss decreases as model size grows.", "unspecified", "improves"),
        ("We find that accuracy decreases as model size increases.", "unspecified", "worsens"),
        ("We find that the error rises as a power law with more data.", "power_law", "worsens"),
        ("We find the optimal learning rate decreases as a power law with width.", "power_law",
         "unspecified"),
        ("We find the loss approaches an irreducible loss as compute grows.",
         "power_law_plus_constant", "unspecified"),
        ("We find accuracy follows an S-shaped curve in model size.", "sigmoidal",
         "unspecified"),
        ("We observe double descent in test error as the model size grows.", "other",
         "non_monotonic"),
        ("We find marginal gains in accuracy with more data beyond 1B tokens.", "unspecified",
         "saturates"),
        # An amount ("more than seven orders of magnitude") is not the measure moving up.
        ("The loss scales as a power-law with model size, dataset size, and the amount of "
         "compute used for training, with some trends spanning more than seven orders of "
         "magnitude.", "power_law", "unspecified"),
        ("We find that accuracy increases as model size grows but stays lower than 50% below "
         "1B parameters.", "unspecified", "improves"),
    ],
)  # fmt: skip
def test_direction_from_the_measure_polarity(sentence: str, form: str, direction: str) -> None:
    result = extract(paper(sentence))
    assert result.studies_scaling_law, sentence
    assert {c.form for c in result.claims} == {form}
    assert {c.direction for c in result.claims} == {direction}


@pytest.mark.parametrize(
    ("sentence", "responses"),
    [
        ("We find loss follows a power law in model size at any data quality.", ["loss"]),
        ("We find activation sparsity follows a power law in data size.", ["other"]),
        ("We find loss of sparse autoencoders follows a power law in sparsity and width.",
         ["loss"]),
        ("We find robustness follows a logarithmic law in data size.", ["other"]),
        ("We find the acceptance rate follows a log-linear law in draft model size.",
         ["efficiency"]),
    ],
)  # fmt: skip
def test_response_lexicon(sentence: str, responses: list[str]) -> None:
    assert sorted({c.response for c in extract(paper(sentence)).claims}) == responses


def test_a_law_sentence_takes_the_form_the_paper_states() -> None:
    result = extract(
        paper(
            "We find that loss follows a power law in model size. "
            "This law also predicts the loss of a 10B model."
        )
    )
    assert [c.form for c in result.claims] == ["power_law", "power_law"]


@pytest.mark.parametrize(
    "abstract",
    [
        "We test Zipf's law and Heaps' law on our corpus with more data.",
        "Our legal assistant answers questions on case law with larger models and more data.",
        "Our fit has R^{2} = 0.98 on the test data.",
        "We compute the Lyapunov exponent of the training dynamics.",
        "Augmentations vary hue and colour saturation of the training images.",
        "Our method scales favorably with model size.",
        "We use scaling laws to select pretraining data for our larger models.",
        "Training scales linearly with the number of GPUs, with a 7x speed-up on 8 nodes.",
    ],
)
def test_look_alikes_of_laws_are_not_claims(abstract: str) -> None:
    assert not extract(paper(abstract)).studies_scaling_law


def test_scaling_comparisons_and_studies_are_claims() -> None:
    assert extract(paper("We show our method scales better than Adam with model size.")).claims
    assert extract(paper("We run a scaling experiment with models up to 1B parameters.")).claims
    assert extract(paper("We predict the largest useful batch size from the noise scale.")).claims


def test_scaling_law_title_accepts_a_law_sentence_that_reads_like_background() -> None:
    abstract = "Scaling laws for sparse models are derived here. They hold for MoE and dense nets."
    assert not extract(paper(abstract)).studies_scaling_law
    titled = extract(paper(abstract, title="Scaling Laws for Sparse Models"))
    assert titled.studies_scaling_law
    assert titled.claims


def test_a_claim_naming_no_quantity_takes_those_the_abstract_names() -> None:
    result = extract(
        paper(
            "We propose a generalized scaling law for language models. "
            "Our models use more parameters per token than dense ones."
        )
    )
    assert result.claims
    assert result.claims[0].variables == ["model_size"]


def test_bare_performance_takes_the_measure_the_paper_names() -> None:
    result = extract(
        paper(
            "We study empirical scaling laws of the test loss. "
            "Performance improves as a power law with model size."
        )
    )
    assert {c.response for c in result.claims} == {"loss"}


def test_explain_lists_the_cues_that_fired() -> None:
    p = paper("Recent work found scaling laws. We find loss scales as a power law in compute.")
    readings = explain(p)
    assert readings[0].background
    assert not readings[0].is_claim
    assert readings[1].is_claim
    assert "power_law" in readings[1].relations


def test_domain_labels() -> None:
    assert extract(paper("x", title="Scaling laws for time series forecasting")).domain == (
        "time_series"
    )
    assert extract(paper("We pretrain large language models on text.")).domain == "language"
    assert extract(paper("We train vision transformers on ImageNet images.")).domain == "vision"
    assert extract(paper("")).domain == "other"


# -- bad input -------------------------------------------------------------------------------
def test_empty_abstract() -> None:
    result = extract(paper(""))
    assert not result.studies_scaling_law
    assert result.claims == []
    assert result.exponents == []


def test_huge_abstract_is_bounded_and_fast() -> None:
    sentence = "We find that the loss scales as a power law with model size. "
    p = paper(sentence * 5000 + "Filler " * 50_000)
    started = time.perf_counter()
    result = extract(p)
    assert time.perf_counter() - started < 10
    assert result.studies_scaling_law
    assert all(c.span_end <= 20_000 for c in result.claims)
    assert_spans_exact(p)


def test_one_giant_sentence_is_cut() -> None:
    text = "word " * 10_000
    spans = sentence_spans(text)
    assert all(e - s <= 2000 for s, e in spans)
    assert all(text[s:e] == text[s:e].strip() for s, e in spans)


@pytest.mark.parametrize(
    "abstract",
    [
        r"$\mathcal{O}(n^{2})$ \frac{1}{2} \begin{equation} x^{2} \end{equation} \cite{x}",
        "Wir untersuchen große Sprachmodelle. Die Ergebnisse sind gut, 2024.",
        "我们研究了大型语言模型的缩放规律。结果表明性能随着模型规模的增加而提高。",
        "Мы изучаем законы масштабирования больших языковых моделей.",
        "\x00\x01 ??? ... !!! \u200b\u200b",
    ],
)
def test_odd_text_invents_nothing(abstract: str) -> None:
    p = paper(abstract)
    result = extract(p)
    assert not result.studies_scaling_law
    assert result.claims == []
    assert result.exponents == []


def test_fixture_abstracts() -> None:
    cases = json.loads((FIXTURES / "abstracts.json").read_text(encoding="utf-8"))
    for case in cases:
        p = paper(case["abstract"], title=case["title"])
        result = extract(p)
        assert result.studies_scaling_law == case["studies_scaling_law"], case["title"]
        assert sorted(e.value for e in result.exponents) == pytest.approx(
            sorted(case["exponents"])
        ), case["title"]
        assert_spans_exact(p)


# -- spans, for any text ---------------------------------------------------------------------
_WORDS = st.sampled_from(
    [
        "loss", "scales", "as", "a", "power", "law", "with", "model", "size", "We", "find",
        "N^{-0.07}", "alpha=0.3", "e.g.", "i.e.", "10^{38}", "3.5", "accuracy", "improves",
        "compute", "data", "exponent", "of", "0.5", "∝", "α", "≈", ".", "!", "?", "(", ")", "\n",
        "scaling", "laws", "Fig.", "et al.", "performance", "plateaus",
    ]
)  # fmt: skip


@given(st.lists(_WORDS, max_size=80), st.text(max_size=40))
def test_spans_are_exact_for_any_text(words: list[str], noise: str) -> None:
    p = paper(" ".join(words) + " " + noise)
    result = extract(p)
    assert_spans_exact(p)
    for c in result.claims:
        assert c.response in RESPONSES
        assert set(c.variables) <= set(VARIABLES)
        assert c.form in FORMS
        assert c.direction in DIRECTIONS
    for e in result.exponents:
        assert e.variable in VARIABLES


@given(st.text(max_size=300))
def test_sentence_spans_cover_text_in_order(text: str) -> None:
    spans = sentence_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert text[s:e].strip() == text[s:e]
        last = e


# -- the store writer ------------------------------------------------------------------------
LAW = "We find that the loss scales as N^{-0.07} with model size. Nothing else."
PLAIN = "We propose a scalable retrieval method. It is fast."


def _papers() -> list[Paper]:
    return [
        Paper(paper_id="t:law", title="Scaling Laws", abstract=LAW),
        Paper(paper_id="t:plain", title="A Method", abstract=PLAIN),
    ]


def test_extract_into_writes_labels_and_rows(store: Store) -> None:
    store.upsert(_papers())
    seen: list[tuple[int, int]] = []
    n = extract_into(store, _papers(), on_progress=lambda d, t: seen.append((d, t)))
    assert n == 1
    assert seen[-1] == (2, 2)
    law = store.get(Paper, "t:law")
    plain = store.get(Paper, "t:plain")
    assert law is not None
    assert plain is not None
    assert law.studies_scaling_law is True
    assert law.extractor_version == EXTRACTOR_VERSION
    assert plain.studies_scaling_law is False
    assert plain.domain == "other"
    assert store.count(Claim) == 1
    assert store.count(Exponent) == 1


def test_extract_into_replaces_instead_of_duplicating(store: Store) -> None:
    store.upsert(_papers())
    extract_into(store, _papers())
    stale = Claim(
        claim_id="stale", paper_id="t:law", response="other", variables=[], form="other",
        direction="unspecified", evidence="x", span_start=0, span_end=1, extractor_version="0",
    )  # fmt: skip
    store.upsert([stale])
    extract_into(store, _papers())
    assert store.count(Claim) == 1
    assert store.get(Claim, "stale") is None
    assert extract_store(store) == 1
    assert store.count(Exponent) == 1


def test_extract_into_runs_inside_the_callers_transaction(store: Store) -> None:
    store.upsert(_papers())
    with pytest.raises(RuntimeError), store.transaction():
        extract_into(store, _papers())
        raise RuntimeError("boom")
    assert store.count(Claim) == 0
    stored = store.get(Paper, "t:law")
    assert stored is not None
    assert stored.studies_scaling_law is None


def test_extract_into_nothing(store: Store) -> None:
    assert extract_into(store, []) == 0


# -- queries ---------------------------------------------------------------------------------
def test_list_claims_filters(store: Store) -> None:
    store.upsert(_papers())
    extract_into(store, _papers())
    assert [c.paper_id for c in list_claims(store)] == ["t:law"]
    assert list_claims(store, paper_id="t:plain") == []
    assert len(list_claims(store, response="loss", variable="model_size")) == 1
    assert list_claims(store, variable="compute") == []
    assert [e.value for e in list_exponents(store, paper_id="t:law")] == [-0.07]
    record = claim_record(list_claims(store)[0])
    assert LAW[record["span"][0] : record["span"][1]] == record["evidence"]
    with pytest.raises(BadInputError, match="unknown response 'speed'"):
        list_claims(store, response="speed")
    with pytest.raises(BadInputError, match="unknown variable"):
        list_claims(store, variable="size")


# -- CLI -------------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert(_papers())
    return path


def test_cli_extract_claims_exponents_papers(db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["-q", "extract", "--db", str(db)])
    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["claims", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert len(rows) == 1
    assert {"paper_id", "response", "variables", "form", "direction", "evidence", "span",
            "claim_id"} <= set(rows[0])  # fmt: skip
    assert LAW[rows[0]["span"][0] : rows[0]["span"][1]] == rows[0]["evidence"]
    out = runner.invoke(cli, ["claims", "--paper", "t:plain", "--json", "--db", str(db)])
    assert out.stdout == ""  # stderr says why: "no results: paper t:plain has no claims"
    out = runner.invoke(cli, ["exponents", "--json", "--db", str(db)])
    (exp,) = [json.loads(line) for line in out.output.splitlines()]
    assert exp["value"] == -0.07
    assert exp["text"] == "N^{-0.07}"
    out = runner.invoke(cli, ["papers", "--json", "--db", str(db)])
    papers = {r["paper_id"]: r for r in map(json.loads, out.output.splitlines())}
    assert papers["t:law"]["studies_scaling_law"] is True
    assert papers["t:plain"]["domain"] == "other"
    table = runner.invoke(cli, ["claims", "--db", str(db)])
    assert "loss" in table.output
    assert "evidence" in table.output
    table = runner.invoke(cli, ["exponents", "--db", str(db)])
    assert "N^{-0.07}" in table.output


def test_cli_extract_needs_a_knowledge_base(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "no knowledge base here yet" in result.output


# -- the seed corpus -------------------------------------------------------------------------
def test_seed_corpus_spans_and_no_crash(shared: Path) -> None:
    """Every seed abstract: extraction runs, every span is exact, and few exponents appear."""
    from benchmarks.bench_claims import read_seed_papers

    seeds = read_seed_papers(shared / "seeds")
    assert len(seeds) > 200
    n_exponents = 0
    for p in seeds.values():
        result = extract(p)
        assert_spans_exact(p, result)
        n_exponents += len(result.exponents)
    assert n_exponents < 20


# -- parallel extraction ---------------------------------------------------------------------
def test_parallel_extraction_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large runs read papers in worker processes (spawned); the rows are the same."""
    import ingest.claims as claims

    papers = [
        paper(f"We find that loss follows a power law in model size. Run {i}.", pid=f"t:p{i}")
        for i in range(6)
    ]
    serial, parallel = tmp_path / "serial.duckdb", tmp_path / "parallel.duckdb"
    with Store(serial) as s:
        s.upsert(papers)
        n_serial = extract_into(s, papers, workers=1)
    monkeypatch.setattr(claims, "PARALLEL_MIN_PAPERS", 2)
    with Store(parallel) as s:
        s.upsert(papers)
        n_parallel = extract_into(s, papers, workers=2)
    assert n_serial == n_parallel == 6
    with Store(serial, read_only=True) as a, Store(parallel, read_only=True) as b:
        rows = [[c.model_dump() for c in db.select(Claim)] for db in (a, b)]
    assert rows[0] == rows[1]


def _worker_of(parent: int) -> None:
    from ingest.claims import _exit_with_parent

    _exit_with_parent(parent)
    time.sleep(30)


def test_workers_end_when_their_parent_is_gone() -> None:
    """A kill -9 of `kb ingest` left its extraction workers running for good: each worker now
    watches the process that started it and ends once it is gone (here: a parent id that is
    not its parent's)."""
    import multiprocessing
    import os

    ctx = multiprocessing.get_context("spawn")
    orphan = ctx.Process(target=_worker_of, args=(os.getpid() + 1_000_000,))
    kept = ctx.Process(target=_worker_of, args=(os.getpid(),))
    orphan.start()
    kept.start()
    try:
        orphan.join(timeout=20)
        assert orphan.exitcode == 1
        kept.join(timeout=1.5)
        assert kept.is_alive()  # its parent (this test) is still there
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.join()
