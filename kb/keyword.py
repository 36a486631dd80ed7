"""The keyword side of paper search: tokenizer, BM25 field indexes and RM3 term feedback.

``tokenize`` is BM25's vocabulary (lower-cased, stop-words dropped, Snowball-stemmed).
``KeywordIndex`` holds one ``bm25s`` index per paper field (title, abstract, claim text) and the
title + abstract tokens of every paper; ``kb.search.Searcher`` builds one per store and asks it
for keyword-only scores (``query_scores``), the learned fusion's keyword columns
(``query_features``) and the RM3-style feedback column (``rm3``). Scaling vocabulary in a query
is expanded with ``kb.vocabulary.expand_query``; columns are scaled with ``kb.ranking.scale_bm25``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
import Stemmer
from numpy.typing import NDArray

from kb.embed import FloatMatrix
from kb.ranking import scale_bm25
from kb.vocabulary import expand_query

__all__ = ["KeywordIndex", "tokenize", "vocabulary"]

_TOKEN = re.compile(r"\w\w+")
_STOPWORDS = (
    "a an and are as at be but by can do does for from has have how in into is it its of on "
    "or that the their there these they this to was we were what when where which while who "
    "why will with our us paper papers study studies show shows find found"
)
_STOP = frozenset(_STOPWORDS.split())
_STEMMER = Stemmer.Stemmer("english")


def _words(text: str) -> list[str]:
    """Lower-cased words of at least two characters, stop-words dropped (before stemming)."""
    return [w for w in _TOKEN.findall(text.lower()) if w not in _STOP]


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-words dropped, Snowball-stemmed word tokens (BM25's vocabulary)."""
    return list(_STEMMER.stemWords(_words(text)))


def vocabulary(documents: Sequence[str], min_df: int = 2) -> tuple[list[str], list[str]]:
    """BM25 terms (stemmed, as :func:`tokenize`) found in at least ``min_df`` documents, and
    the most frequent surface form (lower-cased word) of each; sorted by term."""
    counts: Counter[str] = Counter()
    df: Counter[str] = Counter()
    for doc in documents:
        words = _words(doc)
        counts.update(words)
        df.update(set(_STEMMER.stemWords(words)))
    return _pick_vocabulary(df, counts, min_df)


def _pick_vocabulary(
    df: Counter[str], counts: Counter[str], min_df: int
) -> tuple[list[str], list[str]]:
    """Terms with document frequency >= ``min_df``, sorted, and each one's commonest word.

    A word's stem is a function of the word, so a stem's surface forms and their counts are
    the distinct words (``counts``: occurrences over all documents) stemming to it.
    """
    words = list(counts)
    best: dict[str, tuple[int, str]] = {}  # stem -> (-count, word): the smallest wins
    for word, stem in zip(words, _STEMMER.stemWords(words), strict=True):
        key = (-counts[word], word)
        if stem not in best or key < best[stem]:
            best[stem] = key
    terms = sorted(t for t, n in df.items() if n >= min_df)
    # Ties between surface forms go to the alphabetically first, so the result is stable.
    return terms, [best[t][1] for t in terms]


class KeywordIndex:
    """BM25 over the title, abstract and claim text of every paper, one index per field.

    ``fields`` maps a field name to one text per paper; ``documents`` is one title + abstract
    text per paper (same order), the vocabulary RM3 feedback picks its words from. Without
    ``documents``, each paper's document is its ``title`` and ``abstract`` fields joined by a
    space, and their tokens are reused rather than tokenised again (the tokenizer never
    matches across that space, so the tokens are the same).
    """

    def __init__(self, fields: dict[str, list[str]], documents: Sequence[str] | None = None):
        self.fields: dict[str, Any] = {}
        # Stems of the title and abstract fields and the word counts of the documents, kept
        # while tokenising so documents, RM3 and the vocabulary need no second pass.
        field_stems: dict[str, list[list[str]]] = {}
        counts: Counter[str] = Counter()
        for name, texts in fields.items():
            tokens: list[list[str]] = []
            for text in texts:
                words = _words(text)
                stems: list[str] = _STEMMER.stemWords(words)
                tokens.append(stems)
                if documents is None and name in ("title", "abstract"):
                    counts.update(words)
            if documents is None and name in ("title", "abstract"):
                field_stems[name] = tokens
            if not any(tokens):
                continue
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
            self.fields[name] = retriever
        self._documents: list[str] | None
        if documents is None:
            n = len(next(iter(fields.values()), []))
            title = field_stems.get("title", [[] for _ in range(n)])
            abstract = field_stems.get("abstract", [[] for _ in range(n)])
            self._doc_tokens = [t + a for t, a in zip(title, abstract, strict=True)]
            self._documents, self._counts = None, counts
        else:
            self._doc_tokens = [tokenize(d) for d in documents]
            self._documents, self._counts = list(documents), Counter()
        self.size = len(self._doc_tokens)
        self._df: Counter[str] = Counter()
        for doc in self._doc_tokens:
            self._df.update(set(doc))

    def vocabulary(self, min_df: int = 2) -> tuple[list[str], list[str]]:
        """:func:`vocabulary` of this index's documents (title + abstract per paper)."""
        if self._documents is not None:
            return vocabulary(self._documents, min_df)
        return _pick_vocabulary(self._df, self._counts, min_df)

    def expansion_scores(self, weighted_terms: dict[str, float]) -> FloatMatrix:
        """Scaled BM25 (title + abstract) of weighted terms; zeros if none is indexed."""
        total = np.zeros(self.size, dtype=np.float32)
        for name in ("title", "abstract"):
            s = self.field_scores(name, weighted_terms)
            if s is not None:
                total += s
        return scale_bm25(total)

    def scores(self, weighted_terms: dict[str, float], weights: dict[str, float]) -> FloatMatrix:
        """Per-paper score: sum over fields and terms of weight * BM25(term)."""
        total: FloatMatrix | None = None
        for name in self.fields:
            if not weights.get(name):
                continue
            s = self.field_scores(name, weighted_terms)
            if s is not None:
                total = s * weights[name] if total is None else total + s * weights[name]
        return total if total is not None else np.zeros(0, dtype=np.float32)

    def field_scores(self, name: str, weighted_terms: dict[str, float]) -> FloatMatrix | None:
        """Sum over terms of weight * BM25(term) in one field (None: no term is in it)."""
        total: FloatMatrix | None = None
        for term, w in weighted_terms.items():
            s = self.term_scores(name, term) if w else None
            if s is not None:
                total = s * w if total is None else total + s * w
        return total

    def term_scores(self, name: str, term: str) -> FloatMatrix | None:
        """BM25 of one (tokenised) term in one field for every paper; None if it is absent."""
        retriever = self.fields.get(name)
        if retriever is None or term not in retriever.vocab_dict:
            return None
        out: FloatMatrix = retriever.get_scores([term])
        return out

    def query_scores(
        self, query: str, weights: dict[str, float], *, expand: bool, w_expansion: float
    ) -> FloatMatrix:
        """Keyword-only score of every paper: field-weighted BM25 of the query's words and
        (when ``expand``) of its expansion words, those weighted ``w_expansion``."""
        terms: dict[str, float] = dict.fromkeys(tokenize(query), 1.0)
        if expand:
            for term in tokenize(" ".join(expand_query(query))):
                terms.setdefault(term, w_expansion)
        scores = self.scores(terms, weights)
        return scores if scores.size else np.zeros(self.size, dtype=np.float32)

    def query_features(self, query: str, *, expand: bool) -> dict[str, FloatMatrix]:
        """BM25 per field of the query's words, of its expansion words, and IDF coverage.

        The ``title``, ``abstract``, ``claims``, ``expansion`` and ``coverage`` columns of
        ``kb.ranking.FEATURES``.
        """
        n = self.size
        own = list(dict.fromkeys(tokenize(query)))
        implied = tokenize(" ".join(expand_query(query))) if expand else []
        extra = [t for t in dict.fromkeys(implied) if t not in own]
        cols = {name: np.zeros(n, dtype=np.float32) for name in ("title", "abstract", "claims")}
        expansion = np.zeros(n, dtype=np.float32)
        coverage = np.zeros(n, dtype=np.float32)
        idf_total = 0.0
        for term in own:
            present: NDArray[np.bool_] = np.zeros(n, dtype=bool)
            for name, col in cols.items():
                s = self.term_scores(name, term)
                if s is not None:
                    col += s
                    if name != "claims":
                        present |= s > 0
            idf = float(np.log1p(n / (1 + present.sum())))
            idf_total += idf
            coverage += idf * present
        for term in extra:
            for name in ("title", "abstract"):
                s = self.term_scores(name, term)
                if s is not None:
                    expansion += s
        out = {name: scale_bm25(col) for name, col in cols.items()}
        out["expansion"] = scale_bm25(expansion)
        out["coverage"] = coverage / idf_total if idf_total else coverage
        return out

    def rm3(self, query: str, top: NDArray[np.intp], n_terms: int) -> FloatMatrix:
        """BM25 (title + abstract) of the words most typical of the first-stage top papers.

        Each word of those papers scores its summed in-paper frequency times its IDF; the
        ``n_terms`` best words not in the query are searched, weighted by that score.
        """
        n = self.size
        own = set(tokenize(query))
        weight: dict[str, float] = {}
        for i in top.tolist():
            tokens = self._doc_tokens[i]
            for term, count in Counter(tokens).items():
                if term not in own:
                    gain = count / len(tokens) * float(np.log(n / self._df[term]))
                    weight[term] = weight.get(term, 0.0) + gain
        chosen = sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:n_terms]
        if not chosen:
            return np.zeros(n, dtype=np.float32)
        top_weight = chosen[0][1] or 1.0
        terms = {term: w / top_weight for term, w in chosen}
        total = np.zeros(n, dtype=np.float32)
        for name in ("title", "abstract"):
            s = self.field_scores(name, terms)
            if s is not None:
                total += s
        return scale_bm25(total)
