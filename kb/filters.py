"""Search filters: the ``SearchFilters`` model and the SQL condition it stands for.

``kb.search.Searcher`` turns a ``SearchFilters`` into the set of papers a query may return
(``where()`` is a condition over ``papers p``, with the claims and exponents tables joined by
``EXISTS``, and the papers the law registry holds exponents of passed in as ids, since a law
links to its paper through a title hash SQL cannot compute); ``kb search`` and the app's search
page build one from their options/widgets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.records import DOMAINS, VARIABLES, ReportedLaw
from kb.registry import law_paper_id
from kb.store import Store

__all__ = [
    "HAS_EXPONENT_HELP",
    "HAS_EXPONENT_OPTION_HELP",
    "SearchFilters",
    "exponent_law_papers",
    "law_exponents",
]

HAS_EXPONENT_HELP = (
    "the paper reports a scaling exponent: its abstract states an exponent value (kb exponents) "
    "or the law registry holds a law of it with a fitted exponent (kb laws --paper)"
)

# The option's and the checkbox's help (kb search --has-exponent, the app's Search page).
HAS_EXPONENT_OPTION_HELP = (
    "Only papers that report a scaling exponent: stated in the abstract (kb exponents) or held "
    "by a law of the registry (kb laws --paper)."
)

# Parameter names the registry gives exponents (alpha_N, beta, gamma_D, eta_exp, exp_N, ...).
_EXPONENT_NAME = re.compile(r"^(alpha|beta|gamma|eta_exp|B_exp|exp_)", re.IGNORECASE)
# One power in a formula: what follows a '^', a bracketed group or one signed name/number.
_POWER = re.compile(r"\^\s*(\([^()]*\)|-?\s*[A-Za-z_][A-Za-z0-9_']*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def law_exponents(law: ReportedLaw) -> dict[str, float]:
    """The exponents a registry law holds: its parameters that stand in a power of its formula
    (``N^alpha``, ``(N_c/N)^alpha_N``, ``x^-c0``), or whose name says exponent (``alpha``,
    ``gamma_D``, ``exp_N``, ``eta_exp``) where the formula does not use that name elsewhere
    (Cherti et al.'s ``E(C) = beta C^alpha``: beta is a coefficient; Kumar et al.'s
    ``exp(-P_w/gamma_w)``: a scale), then the derived allocation exponents ``a`` and ``b``.
    A law that records only its form (``params = {}``) holds none.
    """
    in_power = {n for group in _POWER.findall(law.formula) for n in _NAME.findall(group)}
    named = set(_NAME.findall(law.formula))
    found = {
        k: v
        for k, v in law.params.items()
        if k in in_power or (k not in named and _EXPONENT_NAME.match(k))
    }
    found.update({k: v for k, v in law.derived.items() if k in ("a", "b")})
    return found


def exponent_law_papers(store: Store, laws: Iterable[ReportedLaw] | None = None) -> list[str]:
    """Ids of the corpus papers that reported a law with an exponent, among ``laws`` (default:
    the store's ``laws`` table); laws whose paper is not in the corpus are left out."""
    pool = store.select(ReportedLaw) if laws is None else laws
    found = {law_paper_id(store, law) for law in pool if law_exponents(law)}
    return sorted(p for p in found if p is not None)


class SearchFilters(BaseModel):
    """Restrict results; every filter left as None lets everything through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year_min: int | None = Field(None, description="published in this year or later")
    year_max: int | None = Field(None, description="published in this year or earlier")
    domain: str | None = Field(None, description=f"one of {', '.join(DOMAINS)}")
    studies_scaling_law: bool | None = Field(
        None, description="only papers labelled as studying (True) or not (False) a scaling law"
    )
    variable: str | None = Field(
        None, description=f"a claim or exponent concerns this variable: {', '.join(VARIABLES)}"
    )
    has_exponent: bool | None = Field(None, description=HAS_EXPONENT_HELP)

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, value: str | None) -> str | None:
        if value is not None and value not in DOMAINS:
            raise ValueError(f"unknown domain {value!r}; expected one of {', '.join(DOMAINS)}")
        return value

    @field_validator("variable")
    @classmethod
    def _known_variable(cls, value: str | None) -> str | None:
        if value is not None and value not in VARIABLES:
            raise ValueError(f"unknown variable {value!r}; expected one of {', '.join(VARIABLES)}")
        return value

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return all(v is None for v in self.model_dump().values())

    def where(self, exponent_papers: Sequence[str] = ()) -> tuple[str, list[Any]]:
        """SQL condition over ``papers p`` with its parameters.

        ``exponent_papers``: the papers the law registry holds exponents of
        (:func:`exponent_law_papers`), which ``has_exponent`` counts beside the abstracts'.
        """
        parts: list[str] = []
        params: list[Any] = []
        if self.year_min is not None:
            parts.append("year(p.published) >= ?")
            params.append(self.year_min)
        if self.year_max is not None:
            parts.append("year(p.published) <= ?")
            params.append(self.year_max)
        if self.domain is not None:
            parts.append("p.domain = ?")
            params.append(self.domain)
        if self.studies_scaling_law is not None:
            parts.append("p.studies_scaling_law = ?")
            params.append(self.studies_scaling_law)
        if self.variable is not None:
            parts.append(
                "(EXISTS (SELECT 1 FROM claims c WHERE c.paper_id = p.paper_id "
                "AND list_contains(c.variables, ?)) OR EXISTS (SELECT 1 FROM exponents e "
                "WHERE e.paper_id = p.paper_id AND e.variable = ?))"
            )
            params += [self.variable, self.variable]
        if self.has_exponent is not None:
            exists = (
                "(EXISTS (SELECT 1 FROM exponents e WHERE e.paper_id = p.paper_id) "
                "OR list_contains(?, p.paper_id))"
            )
            parts.append(exists if self.has_exponent else f"NOT {exists}")
            params.append(list(exponent_papers))
        return " AND ".join(parts) or "TRUE", params
