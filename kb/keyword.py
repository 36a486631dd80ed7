"""The keyword side of paper search: tokenizer, BM25 field indexes and RM3 term feedback.

``tokenize`` is BM25's vocabulary (lower-cased, stop-words dropped, Snowball-stemmed).
``KeywordIndex`` holds one ``bm25s`` index per paper field (title, abstract, claim text) and the
title + abstract tokens of every paper; ``kb.search.Searcher`` builds one per store and asks it
for keyword-only scores (``query_scores``), the learned fusion's keyword columns
(``query_features``) and the RM3-style feedback column (``rm3``). Scaling vocabulary in a query
is expanded with ``kb.vocabulary.expand_query``; columns are scaled with ``kb.ranking.scale_bm25``.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import bm25s
import numpy as np
import Stemmer
from numpy.typing import NDArray

from kb.embed import FloatMatrix
from kb.ranking import scale_bm25
from kb.vocabulary import expand_query

__all__ = ["TOKENIZER_VERSION", "KeywordIndex", "tokenize", "vocabulary"]

_TOKEN = re.compile(r"\w\w+")
_STOPWORDS = (
    "a an and are as at be but by can do does for from has have how in into is it its of on "
    "or that the their there these they this to was we were what when where which while who "
    "why will with our us paper papers study studies show shows find found"
)
_STOP = frozenset(_STOPWORDS.split())
_STEMMER = Stemmer.Stemmer("english")
# Everything a saved KeywordIndex (kb.keyword_cache) depends on besides the texts: bump the
# number when tokenize or the state layout changes; library versions and stop-words are in it.
_PYSTEMMER = importlib.metadata.version("PyStemmer")
TOKENIZER_VERSION = f"kb-keyword-2|bm25s {bm25s.__version__}|PyStemmer {_PYSTEMMER}|{_STOPWORDS}"
# BM25 settings that make a bm25s retriever's scores; methods with a non-occurrence array
# (bm25l, bm25+) would need that array saved too, so they are not persisted.
_BM25_PARAMS = ("k1", "b", "delta", "method", "idf_method", "dtype", "int_dtype")


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

    ``fields`` maps a field name to one text per paper. Each paper's document, the
    vocabulary RM3 feedback and the expansion terms come from, is its ``title`` and
    ``abstract`` joined by a space; their tokens are reused rather than tokenised again (the
    tokenizer never matches across that space, so the tokens are the same as
    ``tokenize(title + " " + abstract)``).
    """

    def __init__(self, fields: dict[str, list[str]]):
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
                if name in ("title", "abstract"):
                    counts.update(words)
            if name in ("title", "abstract"):
                field_stems[name] = tokens
            if not any(tokens):
                continue
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
            self.fields[name] = retriever
        self._packed: tuple[list[str], NDArray[np.int32], NDArray[np.int64]] | None = None
        n = len(next(iter(fields.values()), []))
        title = field_stems.get("title", [[] for _ in range(n)])
        abstract = field_stems.get("abstract", [[] for _ in range(n)])
        self._doc_tokens: list[list[str]] | None = [
            t + a for t, a in zip(title, abstract, strict=True)
        ]
        self._counts = counts
        self.size = len(self._doc_tokens)
        self._df: Counter[str] = Counter()
        for doc in self._doc_tokens:
            self._df.update(set(doc))

    def _doc(self, i: int) -> list[str]:
        """Title + abstract tokens of paper ``i`` (decoded on demand in a loaded index)."""
        if self._doc_tokens is not None:
            return self._doc_tokens[i]
        assert self._packed is not None  # one of the two is always set
        terms, ids, offsets = self._packed
        return [terms[t] for t in ids[offsets[i] : offsets[i + 1]].tolist()]

    def document(self, i: int) -> list[str]:
        """The tokens of paper ``i``'s title and abstract: ``tokenize(title + " " + abstract)``
        (the tokenizer never matches across that space), kept from indexing, not recomputed."""
        return self._doc(i)

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The whole index as named numpy arrays (no pickles), for :meth:`from_arrays`.

        Strings are stored as one UTF-8 byte array joined by newlines (tokens are ``\\w``
        runs, so never contain one). Raises ``ValueError`` for a loaded index (save the one it
        was loaded from) or a BM25 variant whose state is more than the score matrix.
        """
        if self._doc_tokens is None:
            raise ValueError("only an index built from its fields can be saved")
        terms = sorted(self._df)
        term_id = {t: i for i, t in enumerate(terms)}
        lengths = np.fromiter((len(d) for d in self._doc_tokens), np.int64, self.size)
        offsets = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter(
            (term_id[t] for t in chain.from_iterable(self._doc_tokens)), np.int32, offsets[-1]
        )
        words = list(self._counts)
        fields_meta: dict[str, Any] = {}
        out: dict[str, NDArray[Any]] = {
            "doc_terms": _pack(terms),
            "doc_ids": ids,
            "doc_offsets": offsets,
            "df": np.array([self._df[t] for t in terms], dtype=np.int64),
            "words": _pack(words),
            "word_counts": np.array([self._counts[w] for w in words], dtype=np.int64),
        }
        for name, r in self.fields.items():
            if r.nonoccurrence_array is not None:
                raise ValueError(f"BM25 method {r.method!r} cannot be saved")
            vocab = sorted(r.vocab_dict, key=r.vocab_dict.__getitem__)
            if [r.vocab_dict[t] for t in vocab] != list(range(len(vocab))):
                raise ValueError(f"field {name!r}: token ids are not 0..n-1")
            fields_meta[name] = {
                "num_docs": int(r.scores["num_docs"]),
                "n_vocab": len(vocab),  # bm25s adds "" to the vocabulary after the scores
                "params": {k: getattr(r, k) for k in _BM25_PARAMS},
            }
            out[f"{name}.vocab"] = _pack(vocab)
            for part in ("data", "indices", "indptr"):
                out[f"{name}.{part}"] = np.asarray(r.scores[part])
        meta = {"size": self.size, "fields": fields_meta}
        out["meta"] = _pack([json.dumps(meta, sort_keys=True)])
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]]) -> KeywordIndex:
        """An index equal to the one :meth:`to_arrays` was called on (same scores, bit for bit).

        Raises ``KeyError``/``ValueError`` when an array is missing or inconsistent.
        """
        (meta_text,) = _unpack(arrays["meta"], 1)
        meta = json.loads(meta_text)
        self = cls.__new__(cls)
        self.size = int(meta["size"])
        self._doc_tokens = None
        df = arrays["df"].tolist()
        terms = _unpack(arrays["doc_terms"], len(df))
        ids = arrays["doc_ids"].astype(np.int32, copy=False)
        offsets = arrays["doc_offsets"].astype(np.int64, copy=False)
        counts = arrays["word_counts"].tolist()
        words = _unpack(arrays["words"], len(counts))
        if (
            len(offsets) != self.size + 1
            or int(offsets[-1]) != len(ids)
            or (len(ids) > 0 and int(ids.max()) >= len(terms))
        ):
            raise ValueError("keyword arrays disagree in length")
        self._packed = (terms, ids, offsets)
        self._df = Counter(dict(zip(terms, df, strict=True)))
        self._counts = Counter(dict(zip(words, counts, strict=True)))
        self.fields = {}
        for name, spec in meta["fields"].items():
            r = bm25s.BM25(**spec["params"])
            r.scores = {p: arrays[f"{name}.{p}"] for p in ("data", "indices", "indptr")}
            r.scores["num_docs"] = spec["num_docs"]
            vocab = _unpack(arrays[f"{name}.vocab"], spec["n_vocab"])
            if spec["num_docs"] != self.size:
                raise ValueError(f"field {name!r}: score matrix does not match its vocabulary")
            r.vocab_dict = {t: i for i, t in enumerate(vocab)}
            r.unique_token_ids_set = set(r.vocab_dict.values())
            r.nonoccurrence_array = None
            self.fields[name] = r
        return self

    def vocabulary(self, min_df: int = 2) -> tuple[list[str], list[str]]:
        """:func:`vocabulary` of this index's documents (title + abstract per paper)."""
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
            tokens = self._doc(i)
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


def _pack(strings: Sequence[str]) -> NDArray[np.uint8]:
    """Newline-joined UTF-8 bytes of ``strings`` (none may contain a newline)."""
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def _unpack(packed: NDArray[Any], n: int) -> list[str]:
    """Inverse of :func:`_pack` for ``n`` strings ([] and [""] pack alike; ``n`` tells them
    apart). Raises ``ValueError`` when the bytes hold another number of strings."""
    if n == 0 and packed.size == 0:
        return []
    out = packed.tobytes().decode("utf-8").split("\n")
    if len(out) != n:
        raise ValueError(f"expected {n} packed strings, found {len(out)}")
    return out
