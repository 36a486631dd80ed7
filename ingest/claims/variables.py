"""Which scale quantities a scaling paper is about: a per-(paper, quantity) decision.

The rules (``ingest.claims.extract``) find the paper's claim sentences; the variables of the
paper used to be the union of those sentences' variables. Here every quantity the lexicon
(``lexicon.VARIABLE_PATTERNS``) finds anywhere in the title or abstract is a *candidate*, described
by a few named features (:data:`FEATURES`: is it named in a claim sentence, in the main claim, in
the title, beside a law cue, only in background, only as held fixed, ...), and a small logistic
regression (:class:`VariableModel`, weights in ``data/claims_variables.json``, fitted on the dev
and external tuning labels by ``benchmarks/fit_claim_variables.py``) keeps the candidates whose
probability reaches its threshold. Each feature is a plain fact about the abstract, and
``VariableModel.contributions`` gives every feature's term in a decision.

Opt-in (``extract(paper, model=...)``): in nested cross-validation on dev and on external papers
it did not beat the rules by the margin asked on both (data/eval/README.md), so ``kb ingest``
keeps the rules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.claims import lexicon as lx
from kb.errors import BadInputError

__all__ = [
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "Candidate",
    "VariableModel",
    "assign_variables",
    "candidates",
    "default_model",
    "load_variable_model",
]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent.parent / "data" / "claims_variables.json"
"""The shipped weights (regenerate with ``benchmarks/fit_claim_variables.py --write``)."""

FEATURES: tuple[str, ...] = (
    "rules",
    "claim",
    "strong_claim",
    "main_claim",
    "title",
    "mentions",
    "law_sentence",
    "background_only",
    "setup",
    "fixed_only",
    "optimal_only",
    "first_position",
    "alone",
    "fallback",
    "claim_share",
    "others",
    "model_size",
    "data_size",
    "compute",
    "number_sentence",
    "first_sentence",
    "last_sentence",
    "sentences",
)
"""Feature names, in the order of :attr:`Candidate.values` (see :func:`candidates`)."""

# Relation cues that name a law or a functional dependence, not just a trend.
_LAW_CUES = frozenset(
    {"scaling_law", "power_law", "scales_as", "scales_predictably", "function_of", "log_linear"}
)
# A quantity held fixed while another varies: "at a fixed compute budget", "constant data".
_FIXED = re.compile(
    r"\b(?:fixed|constant|held|given|same|equal|matched|frozen|iso-?\w+)\b", re.IGNORECASE
)
# A sentence that states a number or refers to a figure/table: results are usually reported so.
_NUMBER = re.compile(r"\d|\b(?:Fig(?:ure)?|Table)\b", re.IGNORECASE)
# "compute-optimal models": the phrase describes models trained optimally, not a quantity varied.
_OPTIMAL_X = re.compile(r"\b(?:compute|data|token|parameter|inference)[- ]optimal\b", re.IGNORECASE)


class Reading(Protocol):
    """What :func:`candidates` reads of a sentence (``extract.SentenceReading`` has it)."""

    start: int
    end: int
    relations: list[str]
    strong: bool
    background: bool
    release: bool
    variables: list[str]


@dataclass(frozen=True)
class Candidate:
    """One scale quantity a paper names, with its feature values (in :data:`FEATURES` order)."""

    variable: str
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        """Feature name -> value."""
        return dict(zip(FEATURES, self.values, strict=True))


def candidates(
    text: str,
    title_variables: Sequence[str],
    readings: Sequence[Reading],
    claim_readings: Sequence[Reading],
    rule_variables: Sequence[str],
    variables_of: _VariablesOf,
) -> list[Candidate]:
    """Every quantity named in the title or abstract, with its features.

    Args:
        text: the abstract the readings' offsets point into.
        title_variables: quantities the title names.
        readings: every sentence's reading, in order.
        claim_readings: the sentences the rules made claims (with further findings).
        rule_variables: the union of the rules' claim variables (their fallbacks included).
        variables_of: the lexicon's reading of a piece of text (``extract._variables``).
    """
    claims = list(claim_readings)
    main = next((r for r in claims if r.strong), claims[0] if claims else None)
    named: dict[str, list[int]] = {}
    for i, r in enumerate(readings):
        for v in r.variables:
            named.setdefault(v, []).append(i)
    n = max(len(readings), 1)
    out: list[Candidate] = []
    for v in sorted(set(named) | set(title_variables)):
        where = [readings[i] for i in named.get(v, [])]
        own = [r for r in where if not r.background and not r.release]
        in_claims = [r for r in claims if v in r.variables]
        bodies = [text[r.start : r.end] for r in where]
        values = {
            "rules": float(v in rule_variables),
            "claim": float(bool(in_claims)),
            "strong_claim": float(any(r.strong for r in in_claims)),
            "main_claim": float(main is not None and v in main.variables),
            "title": float(v in title_variables),
            "mentions": math.log1p(len(own)),
            "law_sentence": float(any(_LAW_CUES.intersection(r.relations) for r in own)),
            "background_only": float(bool(where) and not own and v not in title_variables),
            "setup": float(any(lx.SETUP.search(text[r.start : r.end]) for r in own)),
            "fixed_only": float(bool(bodies) and all(_FIXED.search(b) for b in bodies)),
            "optimal_only": float(bool(bodies) and all(_only_optimal(b, v, variables_of)
                                                       for b in bodies)),
            "first_position": 0.0 if v in title_variables else named[v][0] / n,
            "alone": float(any(r.variables == [v] for r in in_claims)),
            "fallback": float(v in rule_variables and not in_claims),
            "claim_share": len(in_claims) / max(len(claims), 1),
            "others": math.log1p(len(set(named) | set(title_variables)) - 1),
            "model_size": float(v == "model_size"),
            "data_size": float(v == "data_size"),
            "compute": float(v == "compute"),
            "number_sentence": float(any(_NUMBER.search(text[r.start : r.end]) for r in own)),
            "first_sentence": float(0 in named.get(v, [])),
            "last_sentence": float(len(readings) - 1 in named.get(v, [])),
            "sentences": math.log1p(len(where)),
        }  # fmt: skip
        out.append(Candidate(v, tuple(values[f] for f in FEATURES)))
    return out


class _VariablesOf(Protocol):
    def __call__(self, body: str, folded: str | None = None) -> list[str]: ...


def _only_optimal(body: str, variable: str, variables_of: _VariablesOf) -> bool:
    """Whether ``variable`` is named in ``body`` only inside an "X-optimal" phrase."""
    if not _OPTIMAL_X.search(body):
        return False
    return variable not in variables_of(_OPTIMAL_X.sub(" ", body))


class VariableModel(BaseModel):
    """A logistic regression over :data:`FEATURES`: keep a candidate when P >= ``threshold``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] = Field(description="feature names, in FEATURES order")
    coefficients: list[float] = Field(description="one weight per feature (standardised inputs)")
    means: list[float] = Field(description="per-feature mean used to standardise")
    scales: list[float] = Field(description="per-feature scale used to standardise (> 0)")
    intercept: float
    threshold: float = Field(ge=0.0, le=1.0, description="probability at which to keep")
    trained_on: str = Field(description="what the weights were fitted on, and how")

    @model_validator(mode="after")
    def _consistent(self) -> VariableModel:
        if tuple(self.features) != FEATURES:
            raise ValueError(f"features must be {list(FEATURES)}, got {self.features}")
        for name in ("coefficients", "means", "scales"):
            if len(getattr(self, name)) != len(FEATURES):
                raise ValueError(f"{name} must have {len(FEATURES)} values")
        if any(s <= 0 for s in self.scales):
            raise ValueError("scales must be positive")
        return self

    def contributions(self, candidate: Candidate) -> dict[str, float]:
        """Each feature's term in the log-odds of keeping ``candidate``."""
        return {
            f: w * (x - m) / s
            for f, w, x, m, s in zip(
                FEATURES, self.coefficients, candidate.values, self.means, self.scales, strict=True
            )
        }

    def probability(self, candidate: Candidate) -> float:
        """Probability that the paper is about ``candidate.variable``."""
        z = self.intercept + sum(self.contributions(candidate).values())
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def choose(self, found: Sequence[Candidate]) -> list[str]:
        """The kept variables; the most probable one when none reaches the threshold."""
        if not found:
            return []
        scored = [(self.probability(c), c.variable) for c in found]
        kept = sorted(v for p, v in scored if p >= self.threshold)
        return kept or [max(scored)[1]]


def load_variable_model(path: Path) -> VariableModel:
    """Read a weights file; a missing, unreadable or inconsistent file raises ``BadInputError``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the claim-variable weights ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); regenerate it with "
            "benchmarks/fit_claim_variables.py --write"
        ) from exc
    try:
        return VariableModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise BadInputError(
            f"{path}: claim-variable weights field {where}: {first['msg']}; regenerate it with "
            "benchmarks/fit_claim_variables.py --write"
        ) from exc


@lru_cache(maxsize=1)
def default_model() -> VariableModel:
    """The shipped weights (:data:`DEFAULT_WEIGHTS`), read once per process."""
    return load_variable_model(DEFAULT_WEIGHTS)


def assign_variables(
    claim_variables: Sequence[Sequence[str]], chosen: Sequence[str]
) -> list[list[str]]:
    """Each claim's variables restricted to ``chosen``, so their union is exactly ``chosen``.

    A claim keeps the chosen quantities its sentence (or the rules' fallback) names; one naming
    none of them takes all of ``chosen``; chosen quantities no claim names go to the first claim
    (the paper's finding is about them).
    """
    keep = set(chosen)
    out = [sorted(keep.intersection(vs)) or sorted(keep) for vs in claim_variables]
    if out:
        left = keep.difference(*out)
        out[0] = sorted(set(out[0]) | left)
    return out
