"""Learned term translation for the keyword side: lay query words -> the papers' words.

A paraphrased query ("does a bigger listening network keep getting better") shares few words
with the abstract it means ("scaling laws for acoustic models"), so BM25 of its own words finds
little. A translation model for retrieval (Berger & Lafferty, SIGIR 1999) learns, from (query,
relevant document) pairs, P(document term | query term); searching for the document terms a
query's words translate to reaches papers in their own vocabulary.

The table is fitted by ``benchmarks/fit_term_translation.py`` (IBM Model 1 with a null word)
on the project's own queries for real abstracts OUTSIDE the seed corpus
(``data/eval/adapter_queries.jsonl``) and shipped as ``data/term_translation.json``: for each
stemmed query term (:func:`kb.keyword.tokenize`) seen in at least two training queries, its
top document terms and their probabilities. Derived statistics only; no text.

:meth:`TermTranslation.translate` gives the weighted document terms of a query, its own tokens
and the scaling-vocabulary expansion words (:func:`kb.vocabulary.expand_query`, already searched
by the ``expansion`` column) excluded; the ``kw_translation`` column of :mod:`kb.ranking` is
BM25 (title + abstract) of those terms.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import BadInputError
from kb.keyword import tokenize
from kb.plotfile import write_atomic
from kb.vocabulary import expand_query

__all__ = ["DEFAULT_TRANSLATION", "TermTranslation", "TranslationMeta"]

DEFAULT_TRANSLATION = Path(__file__).resolve().parent.parent / "data" / "term_translation.json"


class TranslationMeta(BaseModel):
    """How a translation table was fitted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = Field(description="estimator, e.g. IBM Model 1 with a null word, EM iterations")
    trained_on: str = Field(description="training pairs and how k and the floor were chosen")
    top_k: int = Field(gt=0, description="document terms kept per query term")
    floor: float = Field(ge=0.0, lt=1.0, description="lowest P(doc term | query term) kept")
    min_queries: int = Field(ge=1, description="a query term is kept if in this many queries")


class TermTranslation(BaseModel):
    """A saved table: stemmed query term -> {stemmed document term: P(doc term | query term)}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    meta: TranslationMeta
    table: dict[str, dict[str, float]] = Field(
        description="query term -> document term -> probability (in (0, 1])"
    )

    def model_post_init(self, _context: object) -> None:
        """Check every probability is in (0, 1] and no term translates to itself."""
        for source, targets in self.table.items():
            for target, p in targets.items():
                if not 0.0 < p <= 1.0:
                    raise ValueError(f"table[{source!r}][{target!r}] = {p}: expected (0, 1]")
                if target == source:
                    raise ValueError(f"table[{source!r}] translates the term to itself")

    def translate(self, query: str) -> dict[str, float]:
        """Document terms the query's tokens translate to, summed over those tokens.

        The query's own tokens and its scaling-vocabulary expansion words are left out (other
        columns search for them); an empty dict when no token is in the table.
        """
        own = list(dict.fromkeys(tokenize(query)))
        excluded = set(own) | set(tokenize(" ".join(expand_query(query))))
        out: dict[str, float] = {}
        for term in own:
            for target, p in self.table.get(term, {}).items():
                if target not in excluded:
                    out[target] = out.get(target, 0.0) + p
        return out

    def save(self, path: str | Path) -> None:
        """Write ``path`` as indented JSON (sorted keys, so diffs stay readable), atomically."""
        text = json.dumps(self.model_dump(), indent=1, sort_keys=True) + "\n"
        write_atomic(path, text, "the term translation table")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TRANSLATION) -> TermTranslation:
        """The table saved at ``path`` (default ``data/term_translation.json``).

        Raises:
            BadInputError: the file is missing, not JSON, or not a translation table.
        """
        p = Path(path)
        try:
            return cls.model_validate_json(p.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise BadInputError(f"{p}: term translation table not found") from err
        except OSError as err:
            raise BadInputError(f"{p}: cannot read the term translation table: {err}") from err
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "(top level)"
            raise BadInputError(
                f"{p}: not a term translation table (expected JSON with meta and table "
                f"{{query term: {{doc term: probability}}}}): at {where}: {first['msg']}"
            ) from err
