"""Paper search: BM25 keyword ranking and FAISS semantic ranking, fused, with filters.

``Searcher.open(store, db_path)`` checks the index against the store (``kb.index.open_index``),
builds the in-memory BM25 indexes (``kb.keyword.KeywordIndex``: title, abstract and claim text
as separate fields, weighted) and loads the embedding model on the first query that needs it.
Then ``search`` answers many queries, restricted by ``kb.filters.SearchFilters``. Scaling
vocabulary in a query ("bigger models", "more data") is expanded into the words papers use
("model size", "parameters", "tokens") for the keyword side; see ``kb.vocabulary``. The
corpus terms whose embeddings are nearest to the query's are searched too (``kb.expansion``,
the ``sem_expansion`` column), for queries that avoid the papers' words. The default
fusion is learned (``kb.ranking``): a weighted sum of a few explainable per-paper features
(BM25 per field, semantic cosines, pseudo-relevance feedback, matches between what the query
asks and the paper's extracted claim facets, two query-adaptive columns that give the
embeddings more say when the query's wording is not the papers' (``kb.ranking.query_adaptive``),
and a query-kind gate: P(exact / paraphrase / conceptual | query) from ``kb.query_kind`` weighs
the semantic and keyword sides (``kb.ranking.kind_gate``); the cosine of lay-worded queries
to each paper's claims restated in plain words (``kb.lay_view``, the ``lay_view`` column) is
available but unweighted),
with weights fitted on the
development queries (``data/eval/search_dev.jsonl``) by ``benchmarks/fit_search_weights.py``;
``benchmarks/bench_search.py`` prints the figures.
``Tuning(fusion="weighted")`` is the earlier fixed keyword + semantic sum. Every semantic
score (fused columns and semantic-only search) uses the query vector through the query adapter
(``kb.query_adapter``, ``Tuning.query_adapter``): a small learned map, fitted on queries written
for abstracts outside the seed corpus, that moves lay wording nearer the papers' own; it applies
only to the encoder it was fitted for.

This module keeps the searcher itself (``Searcher``, ``Hit``, ``SearchResults`` (the hits with
the "no close match" decision of ``kb.match``), ``Tuning``, ``LEARNED_WEIGHTS``,
the feature matrix, the fusions and snippets). The tokenizer, the BM25 field indexes and the
RM3 keyword feedback live in ``kb.keyword``; the FAISS row-to-paper maps, per-paper cosines,
Rocchio feedback and nearest papers in ``kb.semantic``; the filter model in ``kb.filters``.
``tokenize`` and ``SearchFilters`` are re-exported here, so ``from kb.search import ...`` works
as before.

From a notebook (open the store read-only: a writable handle locks the file, and the app and
``kb search`` then cannot open it; ``kb index`` must have been run, as for ``kb search``)::

    from kb import Store
    from kb.search import Searcher, SearchFilters

    store = Store("data/kb.duckdb", read_only=True)
    searcher = Searcher.open(store, "data/kb.duckdb")  # the model loads on the first query
    hits = searcher.search("inverse scaling", k=5, filters=SearchFilters(year_min=2022))
    rows = [hit.model_dump() for hit in hits]  # e.g. pandas.DataFrame(rows)

Scores (``Hit.score``) order the results of one query; they are not probabilities and are
not comparable across queries, modes or filters (the learned fusion's features are scaled
among the papers a query's filters allow).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import ThreadpoolController

from kb.claims import registry_laws_named, registry_only_notice
from kb.embed import EmbedCache, Embedder, FloatMatrix, load_query_embedder
from kb.errors import BadInputError, NotFoundError
from kb.expansion import TermExpansion
from kb.filters import (
    SearchFilters,
    exponent_law_papers,
    law_domain_papers,
    law_paper_years,
)
from kb.index import TERM_MIN_DF, IndexRow, LoadedIndex, open_index
from kb.keyword import tokenize
from kb.keyword_cache import keyword_fields, open_keyword_index
from kb.lay_view import lay_view
from kb.match import (
    FilteredMatch,
    MatchRule,
    default_match_rule_path,
    looks_non_english,
    match_notice,
)
from kb.query_adapter import QueryAdapter, default_adapter_path
from kb.query_kind import DEFAULT_MODEL as DEFAULT_KIND_MODEL
from kb.query_kind import KINDS, QueryKindModel
from kb.ranking import (
    FEATURES,
    KIND_FEATURES,
    FeatureMatrix,
    PaperFacets,
    kind_gate,
    lay_similarity,
    query_adaptive,
    scale_cosine,
)
from kb.records import (
    Claim,
    Exponent,
    Paper,
    ReportedLaw,
    normalize_arxiv_id,
    normalize_title,
)
from kb.semantic import SemanticIndex
from kb.sentences import sentence_spans
from kb.store import Store
from kb.translation import DEFAULT_TRANSLATION, TermTranslation
from kb.vocabulary import (
    expand_query,
    is_scaling_query,
    query_directions,
    query_domains,
    query_responses,
    query_variables,
)

logger = logging.getLogger(__name__)
_BLAS = ThreadpoolController()

# SearchFilters (kb.filters) and tokenize (kb.keyword) are re-exported for existing callers.
__all__ = [
    "LEARNED_WEIGHTS",
    "MAX_QUERY_CHARS",
    "MODES",
    "Hit",
    "Mode",
    "SearchFilters",
    "SearchResults",
    "Searcher",
    "Tuning",
    "check_query",
    "is_blank",
    "tokenize",
    "unknown_id_notice",
]

Mode = Literal["fused", "keyword", "semantic"]
MODES: tuple[str, ...] = ("fused", "keyword", "semantic")
QUERY_CACHE = 512


class Hit(BaseModel):
    """One search result: the paper, its score and the sentence that best matches the query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paper_id: str
    title: str
    score: float = Field(
        description="fused (or single-mode) score; higher is better; orders one query's "
        "results, not comparable across queries"
    )
    snippet: str = Field(description="best-matching abstract sentence (the title if none)")
    snippet_span: tuple[int, int] = Field(description="(start, end) of the snippet in its field")
    snippet_field: Literal["abstract", "title"] = "abstract"
    year: int | None = Field(
        None,
        description="publication year: the listing's date, else the year the law registry "
        "gives the paper (year_source says which; None: neither has one)",
    )
    domain: str | None = None
    exact_match: bool = Field(
        False,
        description="first because the query is this paper's id, arXiv id or whole title "
        "(kb.search.Searcher.exact_match); its score is then at least the next hit's",
    )
    year_source: Literal["listing", "registry"] | None = Field(
        None,
        description="where year comes from: the listing's publication date, or the law "
        "registry's year of the paper's laws (the listing gives no date); None: no year",
    )


class SearchResults(list[Hit]):
    """The hits of one search, best first (a list, as ``search`` always returned), and whether
    anything close was found (``kb.match``).

    ``match_score`` is the best cosine between the query (through the query adapter) and any
    sentence or whole-paper row of the papers the search could return; ``weak_match`` is
    ``match_score < threshold``; ``not_english`` says the query does not look like English
    (``kb.match.looks_non_english``). All three are None / False when not decided: keyword-only
    search (no query vector), or an embedding model the rule file (``Tuning.match_rule``) was
    not fitted for. ``words_found`` (a filter narrowed the candidates and a hit holds every
    word of the query, as the keyword search reads words; :meth:`Searcher.words_found`) makes
    ``weak_match`` False whatever the cosine: "no close match" above a hit that holds all the
    query's words, among the papers the user asked for, is wrong ("experts" with
    ``--variable num_experts``: a one-word query's cosine is low). ``unknown_id`` is set when
    the query is an identifier (a paper id, arXiv id, DOI or link) that names no paper in the
    knowledge base: the results are then only papers near the identifier's text, whatever the
    cosine says. ``notice`` is the one line to show above the results (the unknown identifier
    first), or None.

    Under a filter, ``filtered`` (:class:`kb.match.FilteredMatch`: how many papers the filters
    leave, the best score over every paper, how many outside the filters are closer) is set
    when the filtered score is low enough to matter, and ``filtered_threshold`` is the
    threshold that fired (:meth:`kb.match.MatchRule.filtered_weak`; None: not weak), which
    then decides ``weak_match`` instead of ``threshold``; ``threshold`` stays the unfiltered
    one.
    """

    def __init__(
        self,
        hits: Sequence[Hit] = (),
        *,
        match_score: float | None = None,
        threshold: float | None = None,
        not_english: bool = False,
        unknown_id: str | None = None,
        words_found: bool = False,
        filtered: FilteredMatch | None = None,
        filtered_threshold: float | None = None,
    ):
        super().__init__(hits)
        self.unknown_id = unknown_id
        self.match_score = match_score
        self.threshold = threshold
        self.words_found = words_found
        self.filtered = filtered
        self.filtered_threshold = filtered_threshold
        weak = (
            filtered_threshold is not None
            if filtered is not None
            else match_score is not None and threshold is not None and match_score < threshold
        )
        self.weak_match: bool | None = (
            None if match_score is None or threshold is None else weak and not words_found
        )
        self.not_english = not_english

    @property
    def notice(self) -> str | None:
        """One line saying the results may not be about the query, or None."""
        if self.unknown_id is not None:
            return self.unknown_id
        threshold = self.threshold if self.filtered is None else self.filtered_threshold
        return match_notice(
            weak_match=self.weak_match, not_english=self.not_english,
            score=self.match_score, threshold=threshold, filtered=self.filtered,
        )  # fmt: skip

    def match_fields(self) -> dict[str, object]:
        """``weak_match``, ``match_score``, ``not_english`` and ``notice``, for JSON output;
        under a filter whose score was low enough to matter, also ``filter_papers`` (papers
        the filters leave), ``overall_match_score`` (the best score over every paper) and
        ``closer_outside`` (papers outside the filters with a closer best sentence; a lower
        bound when ``closer_outside_exact`` is False)."""
        fields: dict[str, object] = {
            "weak_match": self.weak_match,
            "match_score": None if self.match_score is None else round(self.match_score, 4),
            "not_english": self.not_english,
            "notice": self.notice,
        }
        if self.filtered is not None:
            fields |= {
                "filter_papers": self.filtered.n_papers,
                "overall_match_score": round(self.filtered.overall_score, 4),
                "closer_outside": self.filtered.closer_outside,
                "closer_outside_exact": self.filtered.exact,
            }
        return fields


# Fitted by `benchmarks/fit_search_weights.py` (pairwise logistic regression, L2 0.1, 0.03 on
# the query-kind gate columns; ``prf``, ``sem_title`` and ``lay_view`` held at 0) on all 70
# queries of data/eval/search_dev.jsonl with pooled judgments, on a store extracted by
# claims-rules-4 (claims-rules-5 and -6 leave the figures as they were), with the shipped
# query adapter (kb.query_adapter) and term translation
# (kb.translation, 2026-12-02), one weight per kb.ranking.FEATURES name: title, abstract,
# claims, expansion, coverage, sem_paper, sem_sentence, prf, rm3, facet, response, domain,
# direction, scaling, sem_title, sem_no_expansion, sem_weak_keyword, sem_expansion, sem_lay,
# kw_tech, kw_exact, lay_view, kw_translation.
# sem_lay .. kw_exact are the query-kind gate (kb.ranking.kind_gate; P(kind | query) from
# kb.query_kind, trained on data/eval/query_kinds.jsonl, never on dev or held-out queries).
# Dev nDCG@10: in-sample 0.793, leave-one-query-out 0.791 (exact 0.92 / paraphrase 0.67 /
# conceptual 0.78), 2-fold 0.795; without ``kw_translation`` (round 8), refitted the same way:
# 0.787 / 0.785 / 0.784. ``kw_translation`` is BM25 of the papers' words the query's words
# translate to (IBM Model 1 fitted on queries for abstracts outside the seeds); ungated, L2 0.1,
# chosen among 3 declared variants (see data/eval/README.md "Term translation").
# ``lay_view`` (P(paraphrase) x cosine to the paper's claims in plain words, kb.lay_view) is
# held at 0: it added +0.003 LOQO / +0.005 2-fold, below the margin its round set; see
# data/eval/README.md "Lay document views".
LEARNED_WEIGHTS: tuple[float, ...] = (
    0.051135684839655096, 0.06378248031058723, 0.035644801366563894, 0.019694650915476754,
    0.05295894208602616, 0.09008534721152904, 0.08590068911974233, 0.0, 0.1006028010114743,
    0.014398747531986701, 0.014014612081432279, 0.035598005901296484, 0.0022712943534829817,
    0.0, 0.0, 0.04102332843036206, 0.025756677995378518, 0.019963250896184507,
    0.08253879114537163, 0.14756668250616387, 0.07641464426022049, 0.0, 0.040648568037065715,
)  # fmt: skip


FEEDBACK = frozenset({"prf", "rm3"})  # feature columns that need a first-stage ranking


@dataclass(frozen=True)
class Tuning:
    """Ranking knobs; the defaults are the values tuned on the development set.

    ``w_title`` .. ``w_expansion`` shape keyword-only mode and the "weighted"/"rrf" fusions
    (``expand`` also switches the learned fusion's ``expansion`` column); ``w_facet`` and
    ``w_scaling_prior`` apply to those fusions only: the learned one weighs facets itself.
    """

    w_title: float = 1.0  # BM25 field weights
    w_abstract: float = 1.0
    # Claim evidence is abstract text already counted in the abstract field: on the dev set with
    # the extractor's claims, weight 0.5 cost 0.016 fused nDCG@10 and 1.0 gave +-0, so it is off
    # by default (the field stays indexed for callers who tune it).
    w_claims: float = 0.0
    expand: bool = True  # scaling-vocabulary expansion of the keyword query
    w_expansion: float = 0.5  # weight of expansion terms relative to the query's own words
    paper_vs_sentence: float = 0.7  # semantic score = a*paper row + (1-a)*best sentence
    # "learned": weighted sum of the kb.ranking.FEATURES columns with ``weights`` (fitted by
    # benchmarks/fit_search_weights.py); "weighted": w_keyword * keyword + rest * semantic,
    # both max-normalised; "rrf": reciprocal-rank fusion of the two rankings.
    fusion: Literal["learned", "weighted", "rrf"] = "learned"
    weights: tuple[float, ...] = LEARNED_WEIGHTS
    prf_depth: int = 5  # pseudo-relevance feedback: first-stage papers averaged (Rocchio)
    prf_beta: float = 1.0  # weight of their mean vector added to the query vector
    prf_terms: int = 10  # RM3-style feedback: words taken from those papers
    w_keyword: float = 0.5  # weighted fusion: share of the keyword score
    rrf_k: int = 60
    semantic_depth: int = 2000  # index rows fetched per query (all of them for small corpora)
    # Claim facets: added to the fused score, times the share of the query's scale variables
    # (kb.vocabulary.query_variables) that the paper's claims or exponents concern.
    # Prior for papers labelled studies_scaling_law, added when the query asks about scaling
    # (kb.vocabulary.is_scaling_query). Both off: `bench_search.py --priors` on the ingested
    # seed store (claims extracted) tuned on the even queries gave A 0.828 -> 0.858 but held-out
    # B 0.707 -> 0.678; tuned on the odd ones, B 0.707 -> 0.713 and held-out A 0.828 -> 0.806.
    w_facet: float = 0.0
    w_scaling_prior: float = 0.0
    # Embedding-based expansion (the ``sem_expansion`` column, kb.expansion): corpus terms in
    # at least ``embed_min_df`` papers; the ``embed_terms`` nearest to the query vector
    # ("query"), to each query word ("word"), or both, with cosine >= ``embed_floor``.
    embed_terms: int = 20
    embed_floor: float = 0.3
    embed_mode: Literal["query", "word", "both"] = "query"
    embed_min_df: int = TERM_MIN_DF
    # The query-kind classifier behind the gate columns (kb.query_kind, kb.ranking.kind_gate).
    kind_model: str = str(DEFAULT_KIND_MODEL)
    # The query-side adapter (kb.query_adapter) applied to the query vector before the
    # semantic columns and semantic-only search; "" for none; default $KB_QUERY_ADAPTER or the
    # shipped data/query_adapter.npz. Used only with the encoder it was fitted for.
    query_adapter: str = field(default_factory=default_adapter_path)
    # The term-translation table behind the ``kw_translation`` column (kb.translation), and
    # whether that column is multiplied by P(paraphrase | query) (kb.query_kind).
    term_translation: str = str(DEFAULT_TRANSLATION)
    translation_gated: bool = False
    # The weak-match rule (kb.match: threshold on the best sentence cosine, and whether to say
    # the model reads English); "" for none; default $KB_WEAK_MATCH or the shipped
    # data/weak_match.json. Used only with the encoder it was fitted for.
    match_rule: str = field(default_factory=default_match_rule_path)


class Searcher:
    """Open once, query many: the index, BM25 fields, and the model (loaded on first use)."""

    def __init__(
        self,
        store: Store,
        index: LoadedIndex,
        *,
        model: str | os.PathLike[str] | Embedder | None = None,
        tuning: Tuning | None = None,
    ):
        self.store = store
        self.index = index
        self.tuning = tuning or Tuning()
        self._model_arg = model
        self._embedder: Embedder | None = model if isinstance(model, Embedder) else None
        self._embedder_lock = threading.Lock()  # one load even when warm() runs in a thread
        self._query_vectors: dict[str, FloatMatrix] = {}  # repeated queries skip the model
        self._titles: FloatMatrix | None = None  # title vectors, loaded on first use
        self._registry_laws: list[ReportedLaw] | None = None  # loaded on first use
        # The corpus papers of registry laws a filter counts (with an exponent, of a variable,
        # of a domain: Searcher._where's keys) and the registry's years of papers, ditto.
        self._registry_papers: dict[tuple[str, ...], list[str]] = {}
        self._paper_years: dict[str, int] | None = None
        self._terms: TermExpansion | None = None  # corpus term vectors, loaded on first use
        self._kind_model: QueryKindModel | None = None  # loaded on first use
        self._adapter: tuple[str, QueryAdapter] | None = None  # (path, adapter), on first use
        self._translation: tuple[str, TermTranslation] | None = None  # loaded on first use
        self._match_rule: tuple[str, MatchRule] | None = None  # loaded on first use
        self._lay: tuple[FloatMatrix, NDArray[np.bool_]] | None = None  # lay-view vectors
        self._lay_texts: list[str] | None = None  # built on first use
        self._title_pos: dict[str, int] | None = None  # built on first use
        self.papers = (
            index.papers if index.papers is not None else store.select(Paper, validate=False)
        )
        self._pos = {p.paper_id: i for i, p in enumerate(self.papers)}
        claims: dict[str, list[str]] = {}
        self._variables: list[set[str]] = [set() for _ in self.papers]
        directions: list[set[str]] = [set() for _ in self.papers]
        responses: list[set[str]] = [set() for _ in self.papers]
        for c in store.select(Claim, validate=False):
            claims.setdefault(c.paper_id, []).append(c.evidence)
            if c.paper_id in self._pos:
                self._variables[self._pos[c.paper_id]].update(c.variables)
                directions[self._pos[c.paper_id]].add(c.direction)
                responses[self._pos[c.paper_id]].add(c.response)
        for e in store.select(Exponent, validate=False):
            if e.paper_id in self._pos:
                self._variables[self._pos[e.paper_id]].add(e.variable)
        self._studies_law = np.array([bool(p.studies_scaling_law) for p in self.papers])
        self.facets = PaperFacets(
            self._variables,
            directions,
            responses,
            [p.domain for p in self.papers],
            list(self._studies_law),
        )
        # Saved by `kb index` beside the store when the texts are unchanged, else built here
        # (documents: title + abstract, reusing those fields' tokens).
        db_file = index.path.with_name(index.path.name.removesuffix(".faiss"))
        self.keyword = open_keyword_index(keyword_fields(self.papers, claims), db_file)
        self.semantic = SemanticIndex(index, self._pos, len(self.papers))
        # Snippet scoring: a sentence row's terms, tokenised when a hit first needs them (all
        # of them up front was a third of Searcher.open at 100k papers).
        self._row_terms: dict[int, frozenset[str]] = {}
        self._link_rows: set[int] = set()  # sentence rows holding a link, among those tokenised

    @classmethod
    def open(
        cls,
        store: Store,
        db_path: str | os.PathLike[str] | None = None,
        *,
        model: str | os.PathLike[str] | Embedder | None = None,
        tuning: Tuning | None = None,
    ) -> Searcher:
        """Check and load the index of ``store`` (file ``<db_path>.faiss``) for querying.

        Raises:
            IndexMismatchError: the index is missing, stale or built with another model.
        """
        return cls(store, open_index(store, db_path, model=model), model=model, tuning=tuning)

    @property
    def embedder(self) -> Embedder:
        """The query encoder; loaded (importing torch) on first use, once even across threads."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = load_query_embedder(self._model_arg)
        return self._embedder

    @property
    def encoder_loaded(self) -> bool:
        """Whether the query encoder is loaded (the next query does not wait for the model)."""
        return self._embedder is not None

    def warm(self) -> None:
        """Load the query encoder now (seconds: torch and the model), e.g. in a background
        thread while a user is still typing; a query meanwhile waits for this same load."""
        self.embedder  # noqa: B018 (the property loads it)

    # -- public ----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: Mode = "fused",
    ) -> SearchResults:
        """The ``k`` best papers for ``query``, best first, with whether anything close was
        found (:class:`SearchResults`: a list of hits with ``weak_match`` and its score).

        The query is read in Unicode NFKC form (ligatures and full-width letters as plain
        letters, as titles are compared). A query that is exactly a paper's id
        (``t:3ef1b1051e4d8bd3``, ``arxiv:2203.15556``, or an arXiv id or URL) or its whole title
        (case and punctuation aside, also with an author-year citation before or after it:
        "Kaplan et al. 2020 Scaling Laws for Neural Language Models") puts that paper first
        when the filters let it through: ids are not words, and a pasted title can rank below
        papers with similar titles (see :meth:`exact_match`). That hit has ``exact_match`` set
        and, when its own score is lower, the best score of the other hits, so scores never
        rise down the list.

        Raises:
            BadInputError: empty query, a query longer than ``MAX_QUERY_CHARS`` characters,
                text that is not UTF-8, ``k`` < 1, or an unknown mode.
        """
        check_query(query)
        # Compatibility forms read as their plain letters: ligatures pasted from a PDF
        # ("e\ufb03cient") and full-width Latin typed on a CJK keyboard (U+FF21..U+FF5A) otherwise
        # share no keyword with any paper, and the model takes them for another language.
        query = _nfkc(query)
        if k < 1:
            raise BadInputError(f"k must be at least 1, got {k}")
        if mode not in MODES:
            raise BadInputError(f"unknown search mode {mode!r}; expected one of {MODES}")
        # One query's matrix-vector products (feature columns times weights, BM25 sums) gain
        # nothing from OpenBLAS threads, whose spinning doubled the CPU per query at 100,000
        # papers (fused: 35 ms CPU for 18 ms wall; 16.5 for 16.3 on one thread; keyword 3.1 ms
        # CPU for 1.7 wall; 1.1 for 1.1), CPU that a busy machine's other work pays for.
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._search(query, k, filters, mode)

    def _search(
        self, query: str, k: int, filters: SearchFilters | None, mode: Mode
    ) -> SearchResults:
        allowed = self._allowed(filters)
        n = len(self.papers)
        qvec = self._encode(query) if mode != "keyword" else None
        # Computed once: the semantic columns and the weak-match score share them.
        parts = self._semantic_parts(qvec, allowed) if qvec is not None else None
        kw: FloatMatrix | None = None  # the learned fusion computes its own keyword columns
        if mode == "fused" and self.tuning.fusion == "learned" and qvec is not None:
            scores = self._learned_scores(query, qvec, allowed, parts)
        else:
            kw = self._keyword_scores(query) if mode != "semantic" else np.zeros(n, np.float32)
            sem = self._semantic_scores(qvec, allowed, parts) if qvec is not None else None
            scores = self._combine(kw, sem, mode)
            if mode == "fused":
                scores = scores + self._priors(query)
        if allowed is not None:
            mask = np.zeros(n, dtype=bool)
            mask[allowed] = True
            scores = np.where(mask, scores, -np.inf)
        order = [int(i) for i in top_k(scores, k) if np.isfinite(scores[i])]
        if mode == "keyword" and kw is not None:
            order = [i for i in order if kw[i] > 0]
        pinned = self.exact_match(query)
        if pinned is not None and np.isfinite(scores[pinned]):
            order = [pinned, *(i for i in order if i != pinned)][:k]
        # A query that names a paper (its id, arXiv id or whole title) is answered exactly; an
        # id's cosine to any sentence is low, and "no close match" above that paper is wrong.
        exact = pinned is not None and bool(order) and order[0] == pinned
        shown = [float(scores[i]) for i in order]
        if exact and len(shown) > 1:
            # First by its name, not its score: shown with the best score of the rest when its
            # own is lower, so scores never rise down the list (a pasted title or an id often
            # scores below papers with similar words).
            shown[0] = max(shown)
        terms = frozenset(tokenize(query) + tokenize(" ".join(expand_query(query))))
        hits = [
            self._hit(i, score, terms, qvec, exact=exact and rank == 0)
            for rank, (i, score) in enumerate(zip(order, shown, strict=True))
        ]
        rule = self.match_rule if qvec is not None else None
        unknown = None
        if pinned is None:
            unknown = self.registry_paper_notice(query) or unknown_id_notice(query)
        if rule is None or parts is None or not n or allowed == [] or exact:
            return SearchResults(hits, unknown_id=unknown)
        sent_sim = parts[1]  # papers outside ``allowed`` hold the lowest cosine fetched
        score = float(sent_sim.max())
        filtered, fired = None, None
        if allowed is not None and qvec is not None and score < rule.filtered_ceiling:
            filtered = self._filtered_match(qvec, allowed, score)
            fired = rule.filtered_weak(score, filtered.overall_score)
        weak = score < rule.threshold if filtered is None else fired is not None
        # Only a weak score needs the words checked (a few abstracts tokenised): no cost else.
        found = weak and self.words_found(query, order, allowed)
        return SearchResults(
            hits, match_score=score, threshold=rule.threshold,
            not_english=rule.english_only and looks_non_english(query), unknown_id=unknown,
            words_found=found, filtered=filtered, filtered_threshold=fired,
        )  # fmt: skip

    def _filtered_match(
        self, qvec: FloatMatrix, allowed: Sequence[int], score: float
    ) -> FilteredMatch:
        """A filtered search against every paper: the best score over all of them and how many
        outside ``allowed`` have a best sentence closer than ``score`` (one more index search,
        run only when ``score`` could be weak: a range search above ``score`` on an exact
        index, else the usual top rows)."""
        outside = np.ones(len(self.papers), dtype=bool)
        outside[list(allowed)] = False
        above = self.semantic.above(self.semantic_query(qvec), score)
        if above is not None:
            closer = outside & (above > score)
            best = max(score, float(above.max())) if len(above) else score
            return FilteredMatch(
                n_papers=len(allowed), overall_score=best,
                closer_outside=int(np.count_nonzero(closer)), exact=True,
            )  # fmt: skip
        sent_all = self._semantic_parts(qvec, None)[1]
        best = float(sent_all.max())
        # Papers the index search did not reach hold its lowest cosine (the floor): the count
        # is exact when the floor is not above ``score`` or the search reached every row. Else
        # only papers above the floor are known to be closer, and the best one at least is.
        floor = float(sent_all.min())
        exact = floor <= score or (
            self.tuning.semantic_depth >= self.semantic.index.faiss_index.ntotal
        )
        count = int(np.count_nonzero(outside & (sent_all > (score if exact else floor))))
        return FilteredMatch(
            n_papers=len(allowed), overall_score=best,
            closer_outside=count if exact else max(count, int(best > score)), exact=exact,
        )  # fmt: skip

    def words_found(self, query: str, order: Sequence[int], allowed: Sequence[int] | None) -> bool:
        """True when a filter narrowed the candidates (``allowed`` is fewer than every paper)
        and one of the papers at positions ``order`` holds every word of ``query`` in its title
        or abstract, as the keyword search reads words (:func:`kb.keyword.tokenize`: stemmed,
        stop words dropped; "experts" is in "Mixture-of-Experts").

        Why both: a filter is the user saying where to look, and a hit with all the query's
        words there is an answer, however low a one- or two-word query's cosine is. Without a
        filter, words alone are weaker evidence (an off-topic query's words can all occur in
        one abstract of 270), and the fitted threshold decides as before.
        """
        if allowed is None or len(allowed) >= len(self.papers):
            return False
        words = set(tokenize(query))
        if not words:
            return False
        # The keyword index holds each paper's title + abstract tokens: no re-tokenising.
        return any(words <= set(self.keyword.document(pos)) for pos in order)

    def exact_match(self, query: str) -> int | None:
        """The position of the paper ``query`` names and nothing else: its ``paper_id``, its
        arXiv id in any form ``kb.records.normalize_arxiv_id`` reads, or its whole title as
        ``kb.records.normalize_title`` compares titles (quotes and case aside; a title several
        papers share names none of them), also with an author-year citation before or after
        it (:meth:`cited_title`); else None. Part of a title ("scaling laws") names nothing."""
        text = query.strip()
        pos = self._pos.get(text)
        if pos is None and text.split() == [text] and (norm := normalize_arxiv_id(text)):
            pos = self._pos.get(f"arxiv:{norm}")
        if pos is None:
            pos = self.title_positions.get(normalize_title(text))
        if pos is None:
            pos = self.cited_title(text)
        return pos

    @property
    def registry_laws(self) -> list[ReportedLaw]:
        """The law registry's laws as synced into the store (read once: searched per query)."""
        if self._registry_laws is None:
            self._registry_laws = self.store.select(ReportedLaw, validate=False)
        return self._registry_laws

    def _where(self, filters: SearchFilters) -> tuple[str, list[object]]:
        """``filters.where()`` given what the law registry says of corpus papers: the papers it
        holds exponents of, of ``filters.variable``, laws of ``filters.domain``, and the years
        of its papers (each read on the first filter that needs it: every filter counts the
        registry's laws beside the abstracts and listings)."""
        laws = self.registry_laws
        exponent_papers, variable_papers, domain_papers = [], [], []
        if filters.has_exponent is not None:
            exponent_papers = self._registry(("exponent",), lambda: exponent_law_papers(
                self.store, laws))  # fmt: skip
        if (variable := filters.variable) is not None:
            variable_papers = self._registry(("variable", variable), lambda: exponent_law_papers(
                self.store, laws, variable=variable))  # fmt: skip
        if (domain := filters.domain) is not None:
            domain_papers = self._registry(("domain", domain), lambda: law_domain_papers(
                self.store, domain, laws))  # fmt: skip
        years = None
        if filters.year_min is not None or filters.year_max is not None:
            years = self.registry_paper_years
        return filters.where(exponent_papers, variable_papers, years, domain_papers)

    def _registry(self, key: tuple[str, ...], compute: Callable[[], list[str]]) -> list[str]:
        """The papers ``compute`` finds among the registry's laws, computed once per ``key``."""
        if key not in self._registry_papers:
            self._registry_papers[key] = compute()
        return self._registry_papers[key]

    @property
    def registry_paper_years(self) -> dict[str, int]:
        """The registry's year of each corpus paper it holds laws of (read on the first year
        filter or hit: a paper with no publication date is placed, and dated, by it)."""
        if self._paper_years is None:
            self._paper_years = law_paper_years(self.store, self.registry_laws)
        return self._paper_years

    def registry_paper_notice(self, query: str) -> str | None:
        """The notice for a query that names, by arXiv id or whole title, a paper the law
        registry holds but the knowledge base lacks, else None: searching the title of
        Hoffmann et al. 2022 (not in the seed corpus) listed other papers with no word that
        its laws are one command away. Call it only when :meth:`exact_match` found nothing."""
        laws = registry_laws_named(self.registry_laws, query)
        if not laws:
            return None
        return "These results are only the papers nearest to the query: " + (
            registry_only_notice(laws[0])
        )

    def cited_title(self, query: str) -> int | None:
        """The position of the paper whose whole title ``query`` holds with an author-year
        citation before or after it ("Kaplan et al. 2020 Scaling Laws for Neural Language
        Models", "... Models (Kaplan et al., 2020)", "Hoffmann 2022: ..."), else None.

        The citation is up to four name words with "et al." and/or a year, or a year alone
        (``_citation``); a name alone is not one ("Chinchilla scaling laws" stays words). Where
        the paper records its authors or date, a name must be one of its authors' and the year
        within one of its publication year (a preprint is often cited by its venue's year).
        """
        words = normalize_title(query).split()
        titles = self.title_positions
        for size in range(1, min(_CITATION_WORDS, len(words) - 1) + 1):
            for cite, rest in ((words[:size], words[size:]), (words[-size:], words[:-size])):
                citation = _citation(cite)
                pos = titles.get(" ".join(rest)) if citation else None
                if pos is not None and citation and self._cites(pos, *citation):
                    return pos
        return None

    def _cites(self, pos: int, names: set[str], year: int | None) -> bool:
        """Whether a citation of ``names`` and ``year`` can be of paper ``pos``."""
        paper = self.papers[pos]
        if year is not None and paper.published and abs(year - paper.published.year) > 1:
            return False
        if names and paper.authors:
            return bool(names & set(normalize_title(" ".join(paper.authors)).split()))
        return True

    @property
    def title_positions(self) -> dict[str, int]:
        """Normalised title -> position, for titles only one paper has; built on first use."""
        if self._title_pos is None:
            seen: dict[str, int] = {}
            shared: set[str] = set()
            for i, p in enumerate(self.papers):
                key = normalize_title(p.title)
                if key in seen:
                    shared.add(key)
                seen[key] = i
            self._title_pos = {k: i for k, i in seen.items() if k not in shared and k}
        return self._title_pos

    def undated_left_out(self, filters: SearchFilters | None) -> int:
        """How many papers a year filter leaves out only because they have no publication date
        (they pass every other filter) and the law registry gives no year of them either; 0
        without a year filter. Listings often give no date (207 of the 270 seed papers), so a
        year range can hide most of the corpus."""
        if filters is None or (filters.year_min is None and filters.year_max is None):
            return 0
        where, params = self._where(filters.model_copy(update={"year_min": None, "year_max": None}))
        row = (
            self.store.cursor()
            .execute(
                "SELECT count(*) FROM papers p WHERE p.published IS NULL AND NOT "
                f"list_contains(?::VARCHAR[], p.paper_id) AND {where}",
                [list(self.registry_paper_years), *params],
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def related(self, paper_id: str, k: int = 5) -> list[Hit]:
        """Papers whose whole-text vectors are nearest to this paper's, itself excluded.

        Raises:
            NotFoundError: the paper is not in the index.
        """
        pos = self._pos.get(paper_id)
        if pos is None:
            raise NotFoundError(f"no paper with id {paper_id!r}; list ids with `kb papers --json`")
        qvec, near = self.semantic.nearest_papers(pos, k)
        return [self._hit(i, s, frozenset(), qvec) for i, s in near]

    def features(self, query: str, *, filters: SearchFilters | None = None) -> FeatureMatrix:
        """The (papers x ``kb.ranking.FEATURES``) matrix the learned fusion weighs, for ``query``.

        The feedback columns (``prf``, ``rm3``) are computed with the current ``tuning.weights``
        as the first stage.
        """
        qvec = self._encode(query)
        allowed = self._allowed(filters)
        return self._features(query, qvec, allowed, feedback=FEEDBACK, title=True, terms=True)

    @property
    def title_vectors(self) -> FloatMatrix:
        """One title embedding per paper (searcher order), through the store's embedding cache.

        Computed on first use: titles cached in the ``embeddings`` table (content hash and
        model) are read, the rest encoded once (and cached when the store is writable).
        """
        if self._titles is None:
            titles = [p.title for p in self.papers]
            self._titles = EmbedCache(self.store, self.embedder).embed(titles)
        return self._titles

    @property
    def lay_texts(self) -> list[str]:
        """Each paper's claims in plain words (kb.lay_view; '' without claims), built on first
        use: only a weighted ``lay_view`` column needs them, so opening a searcher does not."""
        if self._lay_texts is None:
            by_paper: dict[str, list[Claim]] = {}
            for c in self.store.select(Claim, validate=False):
                by_paper.setdefault(c.paper_id, []).append(c)
            self._lay_texts = [
                lay_view(by_paper.get(p.paper_id, []), p.domain) for p in self.papers
            ]
        return self._lay_texts

    @property
    def lay_vectors(self) -> tuple[FloatMatrix, NDArray[np.bool_]]:
        """One lay-view embedding per paper (zeros without a view) and which papers have one.

        Computed on first use, which only a non-zero ``lay_view`` weight triggers, through the
        store's embedding cache (content hash and model): views not cached yet are encoded,
        and cached when the store is writable (as the title vectors of ``sem_title`` are).
        """
        if self._lay is None:
            has_view = np.array([bool(t) for t in self.lay_texts], dtype=bool)
            vectors = np.zeros((len(self.lay_texts), self.embedder.dim), dtype=np.float32)
            if has_view.any():
                cache = EmbedCache(self.store, self.embedder)
                vectors[has_view] = cache.embed([t for t in self.lay_texts if t])
            self._lay = (vectors, has_view)
        return self._lay

    @property
    def term_expansion(self) -> TermExpansion:
        """The corpus's BM25 terms with embeddings of their surface forms (``kb.expansion``).

        Built on first use: surface forms cached in the ``embeddings`` table (content hash and
        model) are read, the rest encoded once (and cached when the store is writable).
        """
        if self._terms is None:
            terms, surfaces = self.keyword.vocabulary(self.tuning.embed_min_df)
            if terms:
                cache = EmbedCache(self.store, self.embedder)
                vectors = cache.embed(surfaces)
                if cache.n_encoded and self.store.read_only:
                    logger.warning(
                        "%d corpus terms were embedded for query expansion and could not be "
                        "cached (read-only store); run `kb index --rebuild` to cache them",
                        cache.n_encoded,
                    )
            else:  # a corpus too small for any term to be in two papers
                vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)
            self._terms = TermExpansion(terms, surfaces, vectors)
        return self._terms

    def expansion_terms(self, query: str, qvec: FloatMatrix | None = None) -> dict[str, float]:
        """The corpus terms the ``sem_expansion`` column searches for ``query``, with weights."""
        t = self.tuning
        vocab = self.term_expansion
        own = list(dict.fromkeys(tokenize(query)))
        out: dict[str, float] = {}
        if t.embed_mode in ("query", "both"):
            vec = self._encode(query) if qvec is None else qvec
            out = vocab.nearest(vec, top=t.embed_terms, floor=t.embed_floor, exclude=own)
        if t.embed_mode in ("word", "both"):
            near = vocab.nearest_to_words(own, top=t.embed_terms, floor=t.embed_floor, exclude=own)
            for term, sim in near.items():
                out[term] = max(sim, out.get(term, 0.0))
        return out

    @property
    def kind_model(self) -> QueryKindModel:
        """The query-kind classifier (``data/query_kind.json``), loaded on first use."""
        if self._kind_model is None:
            self._kind_model = QueryKindModel.load(self.tuning.kind_model)
        return self._kind_model

    @property
    def query_adapter(self) -> QueryAdapter | None:
        """The query adapter of ``tuning.query_adapter`` (None: none configured, or fitted for
        another encoder than the query encoder), loaded on first use."""
        path = self.tuning.query_adapter
        if not path:
            return None
        if self._adapter is None or self._adapter[0] != path:
            self._adapter = (path, QueryAdapter.load(path))
        adapter = self._adapter[1]
        return adapter if adapter.fits(self.embedder.name, self.embedder.dim) else None

    @property
    def match_rule(self) -> MatchRule | None:
        """The weak-match rule of ``tuning.match_rule`` (None: none configured, or fitted for
        another encoder than the query encoder), loaded on first use."""
        path = self.tuning.match_rule
        if not path:
            return None
        if self._match_rule is None or self._match_rule[0] != path:
            self._match_rule = (path, MatchRule.load(path))
        rule = self._match_rule[1]
        return rule if rule.fits(self.embedder.name, self.embedder.dim) else None

    @property
    def term_translation(self) -> TermTranslation:
        """The term-translation table of ``tuning.term_translation``, loaded on first use."""
        path = self.tuning.term_translation
        if self._translation is None or self._translation[0] != path:
            self._translation = (path, TermTranslation.load(path))
        return self._translation[1]

    def semantic_query(self, qvec: FloatMatrix) -> FloatMatrix:
        """The vector the semantic index is searched with: ``qvec`` through the query adapter,
        when one applies."""
        adapter = self.query_adapter
        return qvec if adapter is None else adapter.apply(qvec)

    def query_kinds(self, query: str, qvec: FloatMatrix | None = None) -> dict[str, float]:
        """P(kind | query) from :attr:`kind_model`, or 1/3 each when the query encoder is not
        the one the classifier was fitted with (its embedding columns would mean nothing)."""
        model = self.kind_model
        if model.embedding_dim and (
            model.encoder != self.embedder.name or model.embedding_dim != self.embedder.dim
        ):
            return dict.fromkeys(KINDS, 1.0 / len(KINDS))
        return model.predict(query, self._encode(query) if qvec is None else qvec)

    def clear_query_cache(self) -> None:
        """Forget the cached query vectors (benchmarks time the encoder with this)."""
        self._query_vectors.clear()

    def _encode(self, query: str) -> FloatMatrix:
        vec = self._query_vectors.get(query)
        if vec is None:
            vec = self.embedder.encode([query])[0]
            if len(self._query_vectors) >= QUERY_CACHE:
                self._query_vectors.pop(next(iter(self._query_vectors)))
            self._query_vectors[query] = vec
        return vec

    # -- ranking ---------------------------------------------------------------------------
    def _allowed(self, filters: SearchFilters | None) -> list[int] | None:
        if filters is None or filters.is_empty():
            return None
        where, params = self._where(filters)
        rows = self.store.cursor().execute(f"SELECT p.paper_id FROM papers p WHERE {where}", params)
        return sorted(self._pos[pid] for (pid,) in rows.fetchall() if pid in self._pos)

    def _keyword_scores(self, query: str) -> FloatMatrix:
        t = self.tuning
        weights = {"title": t.w_title, "abstract": t.w_abstract, "claims": t.w_claims}
        return self.keyword.query_scores(query, weights, expand=t.expand, w_expansion=t.w_expansion)

    def _semantic_scores(
        self,
        qvec: FloatMatrix,
        allowed: list[int] | None,
        parts: tuple[FloatMatrix, FloatMatrix] | None = None,
    ) -> FloatMatrix:
        paper_sim, sent_sim = parts or self._semantic_parts(qvec, allowed)
        a = self.tuning.paper_vs_sentence
        return a * paper_sim + (1 - a) * sent_sim

    def _semantic_parts(
        self, qvec: FloatMatrix, allowed: list[int] | None
    ) -> tuple[FloatMatrix, FloatMatrix]:
        """Per paper: cosine to its whole-text row, and to its best row (sentence or whole)."""
        return self.semantic.parts(self.semantic_query(qvec), allowed, self.tuning.semantic_depth)

    def _learned_scores(
        self,
        query: str,
        qvec: FloatMatrix,
        allowed: list[int] | None,
        parts: tuple[FloatMatrix, FloatMatrix] | None = None,
    ) -> FloatMatrix:
        w = np.asarray(self.tuning.weights, dtype=np.float32)
        if w.shape != (len(FEATURES),):
            raise BadInputError(
                f"Tuning.weights has {w.size} values; expected one per feature: {FEATURES}"
            )
        feedback = frozenset(f for f in FEEDBACK if w[FEATURES.index(f)])  # skip unweighted
        title = bool(w[FEATURES.index("sem_title")])
        terms = bool(w[FEATURES.index("sem_expansion")])
        kinds = any(w[FEATURES.index(f)] for f in KIND_FEATURES)
        lay = bool(w[FEATURES.index("lay_view")])
        translation = bool(w[FEATURES.index("kw_translation")])
        matrix = self._features(
            query, qvec, allowed, feedback=feedback, title=title, terms=terms, kinds=kinds,
            lay=lay, translation=translation, parts=parts,
        )  # fmt: skip
        out: FloatMatrix = matrix @ w
        return out

    def _features(
        self,
        query: str,
        qvec: FloatMatrix,
        allowed: list[int] | None,
        *,
        feedback: frozenset[str],
        title: bool,
        terms: bool,
        kinds: bool = True,
        lay: bool = True,
        translation: bool = True,
        parts: tuple[FloatMatrix, FloatMatrix] | None = None,
    ) -> FeatureMatrix:
        """The feature matrix; ``feedback`` columns, ``sem_title`` (if ``title``),
        ``sem_expansion`` (if ``terms``), the query-kind gate (if ``kinds``), ``lay_view``
        (if ``lay``) and ``kw_translation`` (if ``translation``) are computed only when asked
        (else zeros), as the learned fusion skips unweighted ones. ``parts``: the semantic
        cosines (:meth:`_semantic_parts`) if the caller has them already."""
        n = len(self.papers)
        cols = self.keyword.query_features(query, expand=self.tuning.expand)
        paper_sim, sent_sim = parts or self._semantic_parts(qvec, allowed)
        cols["sem_paper"], cols["sem_sentence"] = scale_cosine(paper_sim), scale_cosine(sent_sim)
        cols["sem_title"] = (
            self._title_similarity(qvec, allowed) if title and n else np.zeros(n, np.float32)
        )
        cols["sem_expansion"] = (
            self.keyword.expansion_scores(self.expansion_terms(query, qvec))
            if terms and n
            else np.zeros(n, np.float32)
        )
        gated = translation and self.tuning.translation_gated
        probs = self.query_kinds(query, qvec) if kinds or lay or gated else None
        if probs is not None and kinds:
            cols.update(
                kind_gate(
                    cols["title"], cols["abstract"], cols["sem_paper"], cols["sem_sentence"],
                    probs,
                )
            )  # fmt: skip
        else:
            cols.update({name: np.zeros(n, np.float32) for name in KIND_FEATURES})
        cols["lay_view"] = (
            self._lay_similarity(qvec, allowed, probs["paraphrase"])
            if probs is not None and lay and n
            else np.zeros(n, np.float32)
        )
        cols["kw_translation"] = (
            self.keyword.expansion_scores(self.term_translation.translate(query))
            if translation and n
            else np.zeros(n, np.float32)
        )
        if probs is not None and gated:
            cols["kw_translation"] = cols["kw_translation"] * np.float32(probs["paraphrase"])
        expanded = self.tuning.expand and bool(expand_query(query))
        cols.update(
            query_adaptive(
                cols["sem_paper"], cols["sem_sentence"], cols["coverage"], expanded=expanded
            )
        )
        cols.update(
            self.facets.match(
                query_variables(query), query_responses(query), query_domains(query),
                query_directions(query), is_scaling_query(query),
            )
        )  # fmt: skip
        cols["prf"] = np.zeros(len(self.papers), dtype=np.float32)
        cols["rm3"] = np.zeros(len(self.papers), dtype=np.float32)
        matrix = np.stack([cols[name] for name in FEATURES], axis=1).astype(np.float32)
        if feedback and self.tuning.prf_depth > 0:
            first = matrix @ np.asarray(self.tuning.weights, dtype=np.float32)
            if allowed is not None:
                mask = np.full(len(first), -np.inf, dtype=np.float32)
                mask[allowed] = 0
                first = first + mask
            top = top_k(first, self.tuning.prf_depth)
            top = top[np.isfinite(first[top])]
            if "prf" in feedback:
                matrix[:, FEATURES.index("prf")] = self._feedback(qvec, top, allowed)
            if "rm3" in feedback:
                matrix[:, FEATURES.index("rm3")] = self.keyword.rm3(
                    query, top, self.tuning.prf_terms
                )
        return matrix

    def _title_similarity(self, qvec: FloatMatrix, allowed: list[int] | None) -> FloatMatrix:
        """Scaled cosine of the query to every title (scaled among ``allowed`` papers)."""
        sims: FloatMatrix = (self.title_vectors @ qvec).astype(np.float32)
        if allowed is None:
            return scale_cosine(sims)
        out = np.zeros(len(sims), dtype=np.float32)
        if allowed:
            out[allowed] = scale_cosine(sims[allowed])
        return out

    def _lay_similarity(
        self, qvec: FloatMatrix, allowed: list[int] | None, paraphrase: float
    ) -> FloatMatrix:
        """The ``lay_view`` column (kb.ranking.lay_similarity), scaled among ``allowed``."""
        vectors, has_view = self.lay_vectors
        if allowed is not None:
            inside = np.zeros(len(has_view), dtype=bool)
            inside[allowed] = True
            has_view = has_view & inside
        sims: FloatMatrix = (vectors @ qvec).astype(np.float32)
        return lay_similarity(sims, has_view, paraphrase)

    def _feedback(
        self, qvec: FloatMatrix, top: NDArray[np.intp], allowed: list[int] | None
    ) -> FloatMatrix:
        """Rocchio: cosine to the query plus the mean whole-text vector of the top papers."""
        t = self.tuning
        paper_sim = self.semantic.rocchio(
            qvec, top, allowed, beta=t.prf_beta, depth=t.semantic_depth
        )
        if paper_sim is None:
            return np.zeros(len(self.papers), dtype=np.float32)
        return scale_cosine(paper_sim)

    def _combine(self, kw: FloatMatrix, sem: FloatMatrix | None, mode: Mode) -> FloatMatrix:
        if mode == "keyword" or sem is None or not kw.size:
            return kw
        if mode == "semantic":
            return sem
        t = self.tuning
        if t.fusion == "rrf":
            return _rrf(kw, t.rrf_k) + _rrf(sem, t.rrf_k)
        top = float(kw.max()) if kw.size else 0.0
        kw_norm = kw / top if top > 0 else kw
        lo, hi = float(np.percentile(sem, 50)), float(sem.max())
        sem_norm = np.clip((sem - lo) / (hi - lo), 0, None) if hi > lo else sem * 0
        return t.w_keyword * kw_norm + (1 - t.w_keyword) * sem_norm

    def _priors(self, query: str) -> FloatMatrix:
        """Query-dependent boosts from the claim facets and the studies_scaling_law label."""
        t = self.tuning
        out = np.zeros(len(self.papers), dtype=np.float32)
        wanted = query_variables(query) if t.w_facet else []
        if wanted:
            share = [len(v.intersection(wanted)) / len(wanted) for v in self._variables]
            out += t.w_facet * np.array(share, dtype=np.float32)
        if t.w_scaling_prior and is_scaling_query(query):
            out += t.w_scaling_prior * self._studies_law
        return out

    # -- results ---------------------------------------------------------------------------
    def _hit(
        self,
        pos: int,
        score: float,
        terms: frozenset[str],
        qvec: FloatMatrix | None,
        *,
        exact: bool = False,
    ) -> Hit:
        paper = self.papers[pos]
        snippet, span, field = self._snippet(pos, terms, qvec)
        # Most listings give no date (207 of the 270 seed papers); the year filters place such
        # a paper by its registry laws' year, and the hit shows that year, marked as such.
        year = paper.published.year if paper.published else None
        source: Literal["listing", "registry"] | None = "listing" if year is not None else None
        if year is None and (year := self.registry_paper_years.get(paper.paper_id)) is not None:
            source = "registry"
        return Hit(
            paper_id=paper.paper_id, title=paper.title, score=round(score, 6), snippet=snippet,
            snippet_span=span, snippet_field=field, year=year, year_source=source,
            domain=paper.domain, exact_match=exact,
        )  # fmt: skip

    def _snippet(
        self, pos: int, terms: frozenset[str], qvec: FloatMatrix | None
    ) -> tuple[str, tuple[int, int], Literal["abstract", "title"]]:
        paper = self.papers[pos]
        rows_of, is_paper_row = self.semantic.rows_of, self.semantic.is_paper_row
        rows: Sequence[int] = [r for r in rows_of[pos] if not is_paper_row[r]]
        candidates: list[IndexRow] = [self.index.rows[r] for r in rows]
        if not candidates:
            if not paper.abstract:
                return paper.title, (0, len(paper.title)), "title"
            candidates = [IndexRow(paper.paper_id, "paper", 0, len(paper.abstract))]
            rows = [rows_of[pos][0]]
        best, best_score = 0, -np.inf
        for i, (row, cand) in enumerate(zip(rows, candidates, strict=True)):
            words = self._row_terms.get(row)
            if words is None:
                text = paper.abstract[cand.span_start : cand.span_end]
                words = frozenset(tokenize(text))
                link = _URL.search(text) is not None
                if cand.field == "sentence":
                    self._row_terms[row] = words
                    if link:
                        self._link_rows.add(row)
            else:
                link = row in self._link_rows
            score = len(terms & words) / (len(terms) or 1)
            if qvec is not None:
                score = 0.3 * score + float(self.index.faiss_index.reconstruct(row) @ qvec)
            if link:
                # "Code is available at https://github.com/x/LLM-FP4": the link's words match
                # the query, but the sentence says nothing about the paper; any other first.
                score -= 100.0
            if score > best_score:
                best, best_score = i, score
        c = candidates[best]
        start, end = whole_sentence(paper.abstract, c.span_start, c.span_end)
        return paper.abstract[start:end], (start, end), "abstract"


def whole_sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` widened to the whole sentences of ``text`` (``kb.sentences``) it overlaps.

    The index's rows break after abbreviations ("Hoffmann et al. (i.e., Chinchilla) ..." is two
    rows), so a snippet read from one row alone could be half a sentence, e.g. just
    '(i.e., "Chinchilla") scaling law.'.
    """
    for s, e in sentence_spans(text, variables=True):
        if s < end and e > start:
            start, end = min(start, s), max(end, e)
    return start, end


_YEAR = re.compile(r"(?:19|20)\d\d[a-z]?")  # 2020, 2020b
_CITATION_WORDS = 7  # the longest citation looked for: four names, "et", "al", a year


def _citation(words: Sequence[str]) -> tuple[set[str], int | None] | None:
    """(name words, year) if ``words`` (as ``normalize_title`` leaves them) are an author-year
    citation: up to four name words then "et al" and/or a year ("kaplan et al 2020",
    "hoffmann and borgeaud 2022", "kaplan et al"), or a year alone; else None."""
    rest = list(words)
    year = int(rest.pop()[:4]) if rest and _YEAR.fullmatch(rest[-1]) else None
    et_al = rest[-2:] == ["et", "al"]
    if et_al:
        del rest[-2:]
    if len(rest) > 4 or not all(w.isalpha() for w in rest) or (et_al and not rest):
        return None
    if not et_al and year is None:
        return None
    return set(rest) - {"and"}, year


_URL = re.compile(r"https?://|www\.\w|github\.com/", re.IGNORECASE)
_PAPER_ID = re.compile(r"t:[0-9a-f]{16}", re.IGNORECASE)
_DOI = re.compile(r"(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/\S+", re.IGNORECASE)
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def unknown_id_notice(query: str) -> str | None:
    """The notice for a query that is one identifier naming no paper, else None.

    Call it only when :meth:`Searcher.exact_match` found no paper: a pasted arXiv id, URL or
    DOI otherwise gets the papers nearest to its characters, often with no "no close match"
    notice (an arXiv PDF link's best sentence cosine was 0.36 on the seed store, above the
    0.31 threshold), which reads as if the search had found something.
    """
    text = query.strip()
    if text.split() != [text]:
        return None
    after = "these results are only the papers nearest to its characters."
    if norm := normalize_arxiv_id(text):
        return (
            f"No paper in the knowledge base has arXiv id {norm}; {after} Search for the "
            "paper's title or words instead."
        )
    if _PAPER_ID.fullmatch(text) or text.lower().startswith("arxiv:"):
        return (
            f"No paper in the knowledge base has the id {text}; {after} `kb papers --json` "
            "lists the ids."
        )
    if _DOI.fullmatch(text) or _LINK.fullmatch(text):
        return (
            "The knowledge base does not record DOIs or web links, only titles, abstracts and "
            f"arXiv ids; {after} Search for the paper's title or arXiv id instead."
        )
    return None


# The longest query searched, in characters (after NFKC). The embedding model reads a query's
# first 256 word pieces (the default model's max_seq_length; about 1,300 characters of the seed
# abstracts, 5 characters a piece) and BM25 every word, so the longest query worth sending is a
# pasted title and abstract: arXiv caps abstracts at 1,920 characters (the seed corpus's longest
# is 1,919). Every step of a query is linear in its length: a 1,600,000-character paste took
# 6-11 s warm on the seed store (an earlier session timed 34 s through `kb search`), 4,000
# characters 0.13 s (0.11 s for 1,000).
MAX_QUERY_CHARS = 4000


def check_query(query: str) -> None:
    """Raise ``BadInputError`` if ``query`` is blank, longer than ``MAX_QUERY_CHARS``
    characters (in NFKC form) or holds text that is not UTF-8."""
    if is_blank(query):
        raise BadInputError("empty search query; type some words to search for")
    # Raw length first: NFKC of a long paste is itself the slow work the limit avoids (and
    # it can only lengthen text, by at most 18 characters per character).
    size = len(query) if len(query) > MAX_QUERY_CHARS else len(_nfkc(query))
    if size > MAX_QUERY_CHARS:
        raise BadInputError(
            f"search query is {size:,} characters long; at most {MAX_QUERY_CHARS:,} are "
            "searched (a title and abstract fit; the embedding model reads about the first "
            "1,300); shorten it to the words that matter"
        )
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as err:  # e.g. undecodable bytes in a command-line argument
        code = ord(query[err.start])
        what = f"byte {code - 0xDC00:#04x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise BadInputError(
            f"search query {query[:40]!r}{'…' if len(query) > 40 else ''} is not valid text "
            f"({what} at character {err.start + 1} is not UTF-8); expected UTF-8 words"
        ) from err


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces, line breaks, control and format characters
    (a zero-width space, U+200B, or a NUL byte alone was searched, giving the papers nearest to
    nothing under a "no close match" notice)."""
    return all(c.isspace() or unicodedata.category(c) in _INVISIBLE for c in text)


_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.intp]:
    """``np.argsort(-scores, kind="stable")[:k]``: the ``k`` best, ties in index order.

    A full sort of 100,000 papers was 8 ms of every query, twice; this partitions first and
    sorts only the papers scoring at least the k-th best score (ties included, so the order
    is the stable sort's exactly). NaN scores fall back to the full sort.
    """
    n = len(scores)
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    if k >= n or np.isnan(scores).any():
        return np.argsort(-scores, kind="stable")[:k]
    kth = np.partition(scores, n - k)[n - k]  # the k-th largest score
    candidates = np.flatnonzero(scores >= kth)  # ascending indices: ties stay in index order
    order = np.argsort(-scores[candidates], kind="stable")[:k]
    out: NDArray[np.intp] = candidates[order]
    return out


def _rrf(scores: FloatMatrix, k: int) -> FloatMatrix:
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    out: FloatMatrix = (1.0 / (k + ranks)).astype(np.float32)
    return out
