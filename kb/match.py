"""Whether a search found anything close: the "no close match" signal and a language check.

A search always returns its ``k`` best papers, even for a query the corpus has nothing on
("recipe for banana bread") or one the English-only embedding model cannot read ("lois
d'échelle des réseaux de neurones"). Two explainable checks say so beside the results:

- **Weak match**: the best cosine between the query vector (through the query adapter, as the
  search scores it) and any sentence or whole-paper row of the papers the search may return
  is below a threshold fitted for one embedding model (``data/weak_match.json``, chosen by the
  declared rule in ``benchmarks/bench_weak_match.py`` on the dev queries and the negative
  queries of ``data/eval/search_offtopic.jsonl``).
- **Not English**: at least half of the query's letters are outside the Latin script, or at
  least a third of its words (two or more) are common French, Spanish, German, Italian or
  Portuguese function words or carry accented Latin letters (:func:`looks_non_english`).

Both apply only with the embedding model the rule file names (``MatchRule.fits``); with another
model (``KB_MODEL``) there is no notice unless ``KB_WEAK_MATCH`` points to a rule file fitted
for it (``benchmarks/bench_weak_match.py --write --out PATH`` run with that model).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import BadInputError
from kb.plotfile import write_atomic

__all__ = [
    "DEFAULT_MATCH_RULE",
    "FilteredMatch",
    "MatchRule",
    "default_match_rule_path",
    "looks_non_english",
    "match_notice",
]

DEFAULT_MATCH_RULE = Path(__file__).resolve().parent.parent / "data" / "weak_match.json"

# Common function words of French, Spanish, German, Italian and Portuguese that are not English
# words (nor usual in English queries). Fixed before measuring; see data/eval/README.md.
_FOREIGN_TEXT = """
    le la les des du de un une et est dans pour par sur avec sans qui que quoi au aux ces
    el los las del en para por una unos unas es cuando como más menos pero
    der das dem und ist sind für von zu bei oder nicht ein eine einer wie
    il lo gli di nel nella delle degli che sono uno dei
    os dos das não
"""
_FOREIGN_WORDS = frozenset(_FOREIGN_TEXT.split())
# French elision ("d'échelle", "l'apprentissage"): its d or l counts as a foreign word. A lone
# D or L does not: in this field it is a variable ("exponent of D in L(N, D)").
_ELISION = re.compile(r"\b[dl]['\u2019](?=\w)", re.IGNORECASE)


class MatchRule(BaseModel):
    """The weak-match threshold for one embedding model, and how it was chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str = Field(description="embedding model name (kb.embed.model_name) it applies to")
    dim: int = Field(description="vector width of that model")
    threshold: float = Field(description="a search whose best sentence cosine is below is weak")
    english_only: bool = Field(
        default=True, description="the model reads English: say so for a non-English query"
    )
    chosen_by: str = Field(default="", description="how the threshold was chosen, and on what")
    filtered_threshold: float | None = Field(
        default=None,
        description="under a filter, weak when the best sentence cosine among the papers the "
        "filters leave is below this (None: the threshold above)",
    )
    filtered_gap: float | None = Field(
        default=None,
        description="under a filter, filtered_threshold applies only when the best sentence "
        "over every paper is at least this much closer (None: always)",
    )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MatchRule:
        """Read a rule file.

        Raises:
            BadInputError: the file is missing or is not a rule file (names the path).
        """
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as err:
            raise BadInputError(
                f"{path}: not a weak-match rule file ({err.__class__.__name__}: "
                f"{str(err).splitlines()[0]}); expected JSON with encoder, dim, threshold "
                "(written by benchmarks/bench_weak_match.py --write), or set KB_WEAK_MATCH=''"
            ) from err

    def fits(self, encoder: str, dim: int) -> bool:
        """True when this rule was fitted for the encoder ``encoder`` of width ``dim``."""
        return self.encoder == encoder and self.dim == dim

    @property
    def filtered_bound(self) -> float:
        """The threshold a filtered search's own score is held to (``threshold`` when the rule
        has no ``filtered_threshold``)."""
        return self.threshold if self.filtered_threshold is None else self.filtered_threshold

    @property
    def filtered_ceiling(self) -> float:
        """A filtered score at or above this is never weak (``filtered_weak`` needs it below
        the filtered threshold or, as the overall score is never lower, below ``threshold``)."""
        return max(self.filtered_bound, self.threshold)

    def filtered_weak(self, filtered: float, overall: float) -> float | None:
        """The threshold a filtered search falls below, or None when it is not weak.

        ``filtered`` is the best sentence cosine among the papers the filters leave,
        ``overall`` the same over every paper (never lower). Weak when the filters left nothing
        close (``filtered < filtered_threshold``, and when ``filtered_gap`` is set, the papers
        outside are at least that much closer), or when nothing anywhere is close
        (``overall < threshold``, the unfiltered rule). With neither field set this is
        ``filtered < threshold``, the rule before filtered searches had their own threshold.
        """
        t_f = self.filtered_bound
        if filtered < t_f and overall - filtered >= (self.filtered_gap or 0.0):
            return t_f
        return self.threshold if overall < self.threshold else None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the rule as indented JSON, atomically (never half a file, even on failure).

        Raises:
            KBError: the file could not be written (names it).
        """
        write_atomic(path, self.model_dump_json(indent=2) + "\n", "the weak-match rule")


@dataclass(frozen=True)
class FilteredMatch:
    """Where a filtered search stands against every paper: what its notice says."""

    n_papers: int  # papers the filters leave
    overall_score: float  # best sentence cosine over every paper
    closer_outside: int  # papers outside the filters with a closer best sentence
    exact: bool  # closer_outside is the count (False: at least that many; the index search
    # over every paper stopped at its depth above the filtered score)


def default_match_rule_path() -> str:
    """``$KB_WEAK_MATCH`` if set (an empty value turns the notice off), else the shipped
    ``data/weak_match.json`` (fitted for the default model only)."""
    return os.environ.get("KB_WEAK_MATCH", str(DEFAULT_MATCH_RULE))


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def looks_non_english(query: str) -> bool:
    """True when ``query`` is mostly non-Latin letters, or clearly not English.

    Mostly non-Latin: at least half of its letters are outside the Latin script (Chinese,
    Russian, Arabic...). Clearly not English: two or more of its words, and at least a third of
    them, are common French/Spanish/German/Italian/Portuguese function words ("des", "für",
    "para", the elided "d'" of "d'échelle") or hold an accented Latin letter ("réseaux",
    "más"). A lone letter is not a word here: "L vs D" names variables.
    """
    letters = [c for c in query if c.isalpha()]
    if not letters:
        return False
    if sum(not _is_latin(c) for c in letters) * 2 >= len(letters):
        return True
    elisions = len(_ELISION.findall(query))
    words = [
        w.strip(".,;:!?¿¡()[]\"'«»").lower()
        for w in _ELISION.sub(" ", query).replace("'", " ").replace("\u2019", " ").split()
    ]
    words = [w for w in words if any(c.isalpha() for c in w)]
    foreign = elisions + sum(w in _FOREIGN_WORDS or any(c.isalpha() and not c.isascii() for c in w)
                             for w in words)  # fmt: skip
    return foreign >= 2 and foreign * 3 >= len(words) + elisions


def _below(score: float, threshold: float) -> tuple[str, str]:
    """``score`` and ``threshold`` printed with the fewest decimals (two at least) that show the
    score below the threshold: at two decimals 0.3101 and 0.3128 both read 0.31, and the notice
    said "only 0.31 similar (below 0.31)"."""
    for decimals in range(2, 7):
        low, high = f"{score:.{decimals}f}", f"{threshold:.{decimals}f}"
        if float(low) < float(high):
            return low, high
    return f"{score:.6g}", f"{threshold:.6g}"


def match_notice(
    *,
    weak_match: bool | None,
    not_english: bool,
    score: float | None,
    threshold: float | None,
    filtered: FilteredMatch | None = None,
) -> str | None:
    """The one-line notice shown above the results, or None when there is nothing to say.

    ``filtered`` (a filtered search) makes a weak-match notice name the papers searched and
    how many outside the filters are closer; ``threshold`` is then the one that fired."""
    if not_english:
        return (
            "This query does not look like English, and the search model reads English: these "
            "results may not be about it. Try the query in English."
        )
    if not weak_match or score is None or threshold is None:
        return None
    shown, bound = _below(score, threshold)
    if filtered is not None:
        n = filtered.n_papers
        head = (
            f"No close match among the {n} paper{'s' if n != 1 else ''} the filters leave: the "
            f"best sentence is only {shown} similar to the query (below {bound}); "
        )
        m = filtered.closer_outside
        if not m:
            return head + "no paper outside the filters is closer. These may not be about it."
        count = f"{m}" if filtered.exact else f"at least {m}"
        papers = "papers outside the filters are" if m != 1 else "paper outside the filters is"
        return head + (
            f"{count} {papers} closer (best {filtered.overall_score:.2f}). These may not be "
            "about it."
        )
    return (
        f"No close match: the best sentence in the knowledge base is only {shown} "
        f"similar to the query (below {bound}); these are the nearest papers, "
        "which may not be about it."
    )
