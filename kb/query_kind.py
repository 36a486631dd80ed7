"""What kind of search query is this: an exact term, a lay paraphrase, or a conceptual question?

Search queries come in three kinds (``data/eval/README.md``): ``exact`` (the field's own term,
"broken neural scaling law"), ``paraphrase`` (the same need in lay words that avoid the papers'
wording) and ``conceptual`` (a research question). On paraphrases BM25 matches the wrong
papers, so the searcher can trust the embeddings more when a query looks lay-worded.

:class:`QueryKindModel` is a multinomial logistic regression over the query's sentence
embedding (the vector the searcher computes anyway) and a few lexical features
(:func:`lexical_features`). It is fitted with scikit-learn by
``benchmarks/fit_query_kind.py`` on ``data/eval/query_kinds.jsonl`` (never on the search dev or
held-out queries) and shipped as ``data/query_kind.json``; predicting needs only numpy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kb.errors import BadInputError
from kb.keyword import tokenize
from kb.vocabulary import expand_query, is_scaling_query, query_variables

__all__ = ["DEFAULT_MODEL", "KINDS", "LEXICAL", "QueryKindModel", "lexical_features"]

KINDS: tuple[str, ...] = ("exact", "paraphrase", "conceptual")
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "data" / "query_kind.json"

LEXICAL: tuple[str, ...] = (
    "n_words", "question", "question_mark", "imperative", "stop_share", "acronym", "digit",
    "hyphen", "expanded", "variables", "scaling",
)  # fmt: skip

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019.-]*")
_QUESTION = frozenset(
    ["what", "which", "how", "does", "do", "did", "is", "are", "can", "could", "should",
     "would", "why", "when", "where", "will", "whether", "who"]
)  # fmt: skip
_IMPERATIVE = frozenset(["find", "show", "list", "give", "papers", "paper", "search", "look"])
_ACRONYM = re.compile(r"^(?:[A-Z]{2,}[a-z]?s?|[a-z]+[A-Z][A-Za-z]*|[A-Z][a-z]*[A-Z][A-Za-z]*)$")


def lexical_features(query: str) -> dict[str, float]:
    """The :data:`LEXICAL` features of ``query``, each in about [0, 1].

    - ``n_words``: number of words / 20 (capped at 1);
    - ``question``: starts with a question word; ``question_mark``: contains "?";
    - ``imperative``: starts with "find", "show", "list" ... (a request for papers);
    - ``stop_share``: share of the words that are stop-words (the BM25 tokenizer drops them);
    - ``acronym``: any word written as an acronym or in mixed case ("MoE", "muP", "ViT");
    - ``digit``: any digit; ``hyphen``: any hyphenated word;
    - ``expanded``: scaling vocabulary recognised (:func:`kb.vocabulary.expand_query`);
    - ``variables``: scale variables named (:func:`kb.vocabulary.query_variables`) / 3;
    - ``scaling``: the query asks how something scales (:func:`kb.vocabulary.is_scaling_query`).
    """
    words = _WORD.findall(query)
    lower = [w.lower() for w in words]
    n = len(words)
    stops = sum(not tokenize(w) for w in words)  # a word the BM25 tokenizer drops entirely
    return {
        "n_words": min(n / 20, 1.0),
        "question": float(bool(lower) and lower[0] in _QUESTION),
        "question_mark": float("?" in query),
        "imperative": float(bool(lower) and lower[0] in _IMPERATIVE),
        "stop_share": stops / n if n else 0.0,
        "acronym": float(any(_ACRONYM.match(w) for w in words)),
        "digit": float(any(c.isdigit() for c in query)),
        "hyphen": float(any("-" in w.strip("-") for w in words)),
        "expanded": float(bool(expand_query(query))),
        "variables": min(len(query_variables(query)) / 3, 1.0),
        "scaling": float(is_scaling_query(query)),
    }


class QueryKindModel(BaseModel):
    """Fitted weights: P(kind | query) = softmax(coef @ standardised features + intercept).

    The features are the :data:`LEXICAL` ones named in ``lexical`` followed, when
    ``embedding_dim`` > 0, by the query's L2-normalised embedding from ``encoder``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[str, ...] = Field(description="class order of the rows of coef")
    lexical: tuple[str, ...] = Field(description="lexical feature names, in column order")
    encoder: str = Field(description="embedding model the vectors came from ('' if unused)")
    embedding_dim: int = Field(ge=0, description="embedding columns after the lexical ones")
    mean: tuple[float, ...] = Field(description="per-column mean subtracted before coef")
    scale: tuple[float, ...] = Field(description="per-column divisor after the mean")
    coef: tuple[tuple[float, ...], ...] = Field(description="one row per kind")
    intercept: tuple[float, ...]
    trained_on: str = Field(description="training file and how the model was chosen")

    @model_validator(mode="after")
    def _shapes(self) -> QueryKindModel:
        width = len(self.lexical) + self.embedding_dim
        unknown = set(self.lexical) - set(LEXICAL)
        if unknown:
            raise ValueError(f"unknown lexical features {sorted(unknown)}; known: {LEXICAL}")
        if len(self.mean) != width or len(self.scale) != width:
            raise ValueError(f"mean and scale need {width} values (lexical + embedding)")
        if len(self.coef) != len(self.kinds) or any(len(r) != width for r in self.coef):
            raise ValueError(f"coef needs {len(self.kinds)} rows of {width} values")
        if len(self.intercept) != len(self.kinds):
            raise ValueError(f"intercept needs {len(self.kinds)} values")
        if set(self.kinds) != set(KINDS):
            raise ValueError(f"kinds must be {KINDS}, got {self.kinds}")
        return self

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL) -> QueryKindModel:
        """The model saved at ``path`` (default ``data/query_kind.json``).

        Raises:
            BadInputError: the file is missing, not JSON, or not a model of this shape.
        """
        p = Path(path)
        try:
            return cls.model_validate(json.loads(p.read_text("utf-8")))
        except FileNotFoundError as err:
            raise BadInputError(f"{p}: query-kind model not found") from err
        except (json.JSONDecodeError, ValidationError) as err:
            raise BadInputError(f"{p}: not a query-kind model: {err}") from err

    def columns(self, query: str, vector: NDArray[np.float32] | None) -> NDArray[np.float64]:
        """The unstandardised feature row of ``query`` (``vector``: its embedding)."""
        lex = lexical_features(query)
        row = [lex[name] for name in self.lexical]
        if not self.embedding_dim:
            return np.array(row, dtype=np.float64)
        if vector is None or vector.shape != (self.embedding_dim,):
            got = None if vector is None else vector.shape
            raise BadInputError(
                f"query-kind model {self.encoder!r} needs a {self.embedding_dim}-d query "
                f"embedding, got {got}"
            )
        v = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(v))
        return np.concatenate([row, v / norm if norm else v])

    def predict(self, query: str, vector: NDArray[np.float32] | None = None) -> dict[str, float]:
        """P(kind | query) for every kind in :data:`KINDS` (they sum to 1)."""
        x = (self.columns(query, vector) - np.array(self.mean)) / np.array(self.scale)
        logits = np.array(self.coef) @ x + np.array(self.intercept)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {k: float(p[self.kinds.index(k)]) for k in KINDS}
