"""The searcher's start-up shortcuts give exactly what tokenising everything again would.

``KeywordIndex`` reuses its title and abstract tokens for the RM3 documents and the expansion
vocabulary; ``open_index`` hands the papers it read to the searcher; sentence terms for
snippets are tokenised on demand. Each is checked against what it replaced (tokenising the
documents, reading the papers again, tokenising every sentence up front), and the
benchmark's corpus generator against its stated properties.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.bench_search_scale import HashEmbedder, WordSampler, _pseudo_word
from kb.index import build_index, open_index
from kb.keyword import _STEMMER as STEMMER
from kb.keyword import KeywordIndex, tokenize, vocabulary
from kb.keyword import _words as words_of
from kb.ranking import PaperFacets
from kb.records import Paper, paper_id_for
from kb.search import Searcher, top_k
from kb.store import Store

TITLES = [
    "Scaling Laws for Neural Language Models",
    "Training Compute-Optimal Large Language Models",
    "Broken neural scaling laws",
    "",
    "Scaling scaled scales: data-constrained models",
]
ABSTRACTS = [
    "We study empirical scaling laws for language model performance on the cross-entropy loss.",
    "We investigate the optimal model size and number of tokens for training a transformer.",
    "A smoothly broken power law functional form models and extrapolates scaling behaviors.",
    "Scaling the data. Scaled models, scaling models; the scale of data-constrained training.",
    "",
]


def _old_vocabulary(documents: list[str], min_df: int) -> tuple[list[str], list[str]]:
    """The vocabulary as first written: one Counter of surface forms per stem."""
    forms: dict[str, Counter[str]] = {}
    df: Counter[str] = Counter()
    for doc in documents:
        words = words_of(doc)
        stems = STEMMER.stemWords(words)
        df.update(set(stems))
        for word, stem in zip(words, stems, strict=True):
            forms.setdefault(stem, Counter())[word] += 1
    terms = sorted(t for t, n in df.items() if n >= min_df)
    return terms, [min(forms[t].items(), key=lambda kv: (-kv[1], kv[0]))[0] for t in terms]


def _index(titles: list[str], abstracts: list[str]) -> tuple[KeywordIndex, list[str]]:
    """The index of these papers and their documents (title + " " + abstract)."""
    fields = {"title": titles, "abstract": abstracts, "claims": ["" for _ in titles]}
    return KeywordIndex(fields), [f"{t} {a}" for t, a in zip(titles, abstracts, strict=True)]


def test_reused_field_tokens_equal_tokenising_the_documents() -> None:
    """Documents, document frequencies and the vocabulary are what tokenising the documents
    gives (RM3 reads nothing else of them)."""
    index, docs = _index(TITLES, ABSTRACTS)
    assert index._doc_tokens == [tokenize(d) for d in docs]
    assert index._df == Counter(t for d in docs for t in set(tokenize(d)))
    for min_df in (1, 2, 3):
        assert index.vocabulary(min_df) == vocabulary(docs, min_df) == _old_vocabulary(docs, min_df)
    top = np.array([0, 3], dtype=np.intp)
    assert index.rm3("scaling laws", top, 5).shape == (len(TITLES),)


_text = st.lists(
    st.sampled_from(
        ["scale", "scaling", "scaled", "Models", "model", "data", "the", "law", "x", "é"]
    )
    | st.text(alphabet="abcé -.,", max_size=8),
    max_size=12,
).map(" ".join)


@given(st.lists(st.tuples(_text, _text), min_size=1, max_size=6), st.integers(1, 3))
def test_vocabulary_and_documents_agree_on_any_text(
    papers: list[tuple[str, str]], min_df: int
) -> None:
    index, docs = _index([t for t, _ in papers], [a for _, a in papers])
    assert index._doc_tokens == [tokenize(d) for d in docs]
    assert index.vocabulary(min_df) == vocabulary(docs, min_df) == _old_vocabulary(docs, min_df)


def test_searcher_reads_papers_once_and_finds_the_same(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    papers = [
        Paper(paper_id=paper_id_for(t or f"untitled {i}"), title=t or f"untitled {i}", abstract=a)
        for i, (t, a) in enumerate(zip(TITLES, ABSTRACTS, strict=True))
    ]
    embedder = HashEmbedder(dim=32)
    with Store(db) as store:
        store.upsert(papers)
        build_index(store, db, model=embedder)
    with Store(db, read_only=True) as store:
        loaded = open_index(store, db, model=embedder)
        assert loaded.papers == store.select(Paper)
        fast = Searcher(store, loaded, model=embedder)
        slow = Searcher(store, dataclasses.replace(loaded, papers=None), model=embedder)
        assert fast._row_terms == {}  # sentence terms are tokenised on demand
        for mode in ("fused", "keyword", "semantic"):
            for query in ("scaling laws", "compute-optimal tokens", "broken power law"):
                got = fast.search(query, k=5, mode=mode)  # type: ignore[arg-type]
                assert got == slow.search(query, k=5, mode=mode)  # type: ignore[arg-type]
        assert fast._row_terms  # and remembered once a hit needed them


def test_corpus_sampler_follows_the_seed_frequencies_and_grows_its_vocabulary() -> None:
    sampler = WordSampler(["scaling scaling scaling law", "scaling law model"])
    words = sampler.sample(20_000)
    common = Counter(w for w in words if w in {"scaling", "law", "model"})
    assert common["scaling"] > common["law"] > common["model"]
    assert abs(common["scaling"] / sum(common.values()) - 4 / 7) < 0.03
    rare_small = {w for w in sampler.sample(1_000) if w not in sampler.words}
    rare_large = {w for w in sampler.sample(100_000) if w not in sampler.words}
    assert len(rare_large) > 5 * len(rare_small)  # Heaps: distinct rare words keep growing
    assert len({_pseudo_word(k) for k in range(1, 5000)}) == 4999
    assert all(len(tokenize(_pseudo_word(k))) == 1 for k in (1, 70, 4999))


@given(
    st.lists(st.sampled_from([0.0, 0.5, 1.0, -1.0, float("-inf"), 0.25]), max_size=40),
    st.integers(0, 45),
    st.booleans(),
)
def test_top_k_is_the_stable_sort_prefix(values: list[float], k: int, nan: bool) -> None:
    scores = np.array(values + ([float("nan")] if nan else []), dtype=np.float32)
    expected = np.argsort(-scores, kind="stable")[:k]
    np.testing.assert_array_equal(top_k(scores, k), expected)


def test_facet_match_visits_only_papers_with_facets_and_equals_every_paper() -> None:
    variables = [set(), {"model_size"}, {"model_size", "data_size"}, set(), {"compute"}]
    directions = [set(), {"decreasing"}, set(), {"increasing"}, set()]
    responses = [{"loss"}, set(), {"loss", "accuracy"}, set(), set()]
    facets = PaperFacets(variables, directions, responses, [None, "nlp", "vision", None, "nlp"],
                         [True, False, True, False, True])  # fmt: skip
    got = facets.match(["model_size", "data_size"], ["loss"], ["nlp"], ["decreasing"], True)
    wanted = {"model_size", "data_size"}
    np.testing.assert_array_equal(
        got["facet"], np.array([len(v & wanted) / 2 for v in variables], np.float32)
    )
    np.testing.assert_array_equal(
        got["response"], np.array([bool(r & {"loss"}) for r in responses], np.float32)
    )
    np.testing.assert_array_equal(
        got["direction"], np.array([bool(d & {"decreasing"}) for d in directions], np.float32)
    )
    np.testing.assert_array_equal(got["domain"], np.array([0, 1, 0, 0, 1], np.float32))
