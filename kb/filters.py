"""Search filters: the ``SearchFilters`` model and the SQL condition it stands for.

``kb.search.Searcher`` turns a ``SearchFilters`` into the set of papers a query may return
(``where()`` is a condition over ``papers p``, with the claims and exponents tables joined by
``EXISTS``, and the papers the law registry holds exponents of passed in as ids, since a law
links to its paper through a title hash SQL cannot compute); ``kb search`` and the app's search
page build one from their options/widgets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.records import DOMAINS, VARIABLES, ReportedLaw
from kb.registry import law_paper_ids
from kb.store import Store

__all__ = [
    "HAS_EXPONENT_HELP",
    "HAS_EXPONENT_OPTION_HELP",
    "VARIABLE_HELP",
    "SearchFilters",
    "exponent_law_papers",
    "law_domain_papers",
    "law_exponent_rows",
    "law_exponent_variables",
    "law_exponents",
    "law_paper_years",
]

# The one wording of the filter, for the model's field, `kb search --has-exponent` and the app's
# "Has an exponent" checkbox (two wordings of it had drifted apart).
HAS_EXPONENT_HELP = (
    "Only papers that report a scaling exponent: stated in the abstract (kb exponents) or held "
    "by a law of the registry (kb laws --paper)."
)
#: The same text under the name the app's Search page imports.
HAS_EXPONENT_OPTION_HELP = HAS_EXPONENT_HELP
# `kb search --variable` and the model's field.
VARIABLE_HELP = (
    "Only papers with a claim or exponent about this variable: in the abstract (kb claims, "
    "kb exponents) or an exponent of a law of the registry (kb laws --json: exponents)."
)

# Parameter names the registry gives exponents (alpha_N, beta, gamma_D, eta_exp, exp_N, ...).
_EXPONENT_NAME = re.compile(r"^(alpha|beta|gamma|eta_exp|B_exp|exp_)", re.IGNORECASE)
# One power in a formula: what follows a '^', a bracketed group or one signed name/number.
_POWER = re.compile(r"\^\s*(\([^()]*\)|-?\s*[A-Za-z_][A-Za-z0-9_']*)")
# A power printed as a number, ``C_min^0.73``, ``t^0.22`` (a parameter holding that value is an
# exponent whatever its name: Alabdulmohsin et al.'s ``width ∝ t^0.22`` with ``s_width = 0.22``).
_NUMBER_POWER = re.compile(r"\^\s*\(?\s*-?\s*(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)")
# An indexed power, ``t^s_k``: a stem with a generic index letter (k, i, j), standing for each
# parameter ``s_<name>`` of the stem (``s_width``, ``s_depth``). Not a quantity's subscript:
# Kumar et al.'s ``D^gamma_D`` names gamma_D alone, not their ``gamma_post``.
_INDEXED = re.compile(r"^([A-Za-z]+)_([ijk])$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A power with its base: a bracketed group or one name before '^', then the exponent (a bracketed
# group, a signed name or a signed number: Kaplan et al.'s "C_min^0.73").
_BASED_POWER = re.compile(
    r"(\([^()]*\)|[A-Za-z_][A-Za-z0-9_']*)\s*\^\s*"
    r"(\([^()]*\)|-?\s*[A-Za-z_][A-Za-z0-9_']*|-?\s*\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
)
# The quantity a power's base stands for, by the convention papers write laws in (N_c, N_eff,
# C_min, S_min are N, N, C, S). ingest.claims.grammar.BASE_VARIABLE is the abstracts'
# counterpart; kb may not import ingest, and the registry's formulas use fewer letters.
_BASE_VARIABLE = {
    "N": "model_size", "D": "data_size", "C": "compute", "B": "batch_size",
    "S": "training_steps", "width": "width", "depth": "depth", "mlp": "width",
}  # fmt: skip
# "mlp" is width: the MLP (feed-forward) dimension is the width of the MLP block, a layer's size
# as the model width is the attention block's, and VARIABLES has no quantity of its own for it;
# Alabdulmohsin et al. scale it as one of the shape's widths (s_mlp beside s_width, s_depth).
# Their ``width ∝ t^0.22`` has base t (compute), which this table leaves out, so s_width,
# s_depth and s_mlp take their names' suffixes: the shape dimension each exponent allocates.
# Words of a law's name after " vs " (or its conventions.variable) naming one quantity: the
# last resort for an exponent whose power has no conventional base (Hestness et al.'s m^beta_g,
# "error vs training set size").
_NAMED_VARIABLE = {
    "compute": ("compute", "flop"),
    "data_size": ("training set", "dataset", "tokens", "data"),
    "model_size": ("parameters", "model size"),
    "training_steps": ("steps",),
    "batch_size": ("batch size",),
}


def law_exponents(law: ReportedLaw) -> dict[str, float]:
    """The exponents a registry law holds: its parameters that stand in a power of its formula
    (``N^alpha``, ``(N_c/N)^alpha_N``, ``x^-c0``; an indexed ``t^s_k`` stands for every ``s_*``
    parameter; a power printed as a number, ``t^0.22``, for the parameter holding it), or whose
    name says exponent (``alpha``,
    ``gamma_D``, ``exp_N``, ``eta_exp``) where the formula does not use that name elsewhere
    (Cherti et al.'s ``E(C) = beta C^alpha``: beta is a coefficient; Kumar et al.'s
    ``exp(-P_w/gamma_w)``: a scale), then the derived allocation exponents ``a`` and ``b``.
    A law that records only its form (``params = {}``) holds none.
    """
    in_power = {n for group in _POWER.findall(law.formula) for n in _NAME.findall(group)}
    stems = {m.group(1) + "_" for n in in_power if (m := _INDEXED.match(n))}
    numbers = _NUMBER_POWER.findall(law.formula)
    named = set(_NAME.findall(law.formula))
    found = {
        k: v
        for k, v in law.params.items()
        if k in in_power
        or k.startswith(tuple(stems))
        or any(_same_number(n, v) for n in numbers)
        or (k not in named and _EXPONENT_NAME.match(k))
    }
    found.update({k: v for k, v in law.derived.items() if k in ("a", "b")})
    return found


def law_exponent_variables(law: ReportedLaw) -> dict[str, str | None]:
    """The scale quantity (one of ``kb.records.VARIABLES``) of each exponent of
    :func:`law_exponents`, or None when the law does not say.

    As an abstract's exponent (``kb exponents``), an exponent is of the quantity it is the power
    of: the base of the power whose whole exponent it is (``B / D^beta``: data_size;
    ``N_opt ∝ C_min^0.73`` with ``exp_N = 0.73``: compute), else its name's suffix (``alpha_N``
    inside Kaplan et al.'s ``(alpha_N / alpha_D)``: model_size; ``alpha_B``: batch_size), else,
    for the allocation exponents ``a`` and ``b`` (``N_opt ∝ C^a``), compute, else the one
    quantity the law's name puts after " vs " ("error vs training set size": data_size).
    """
    exponents = law_exponents(law)
    bases: dict[str, set[str]] = {}
    for base, power in _BASED_POWER.findall(law.formula):
        bare = power.strip("() ").lstrip("-").strip()
        names = {n for n in exponents if n == bare or _same_number(bare, exponents[n])}
        found = {_BASE_VARIABLE.get(_letter(n)) for n in _NAME.findall(base)} - {None}
        for name in names:
            bases.setdefault(name, set()).update(v for v in found if v is not None)
    named = _named_variable(law)
    out: dict[str, str | None] = {}
    for name in exponents:
        of_base = bases.get(name, set())
        suffix = _BASE_VARIABLE.get(_letter(name.partition("_")[2])) if "_" in name else None
        if len(of_base) == 1:
            out[name] = next(iter(of_base))
        elif suffix is not None:
            out[name] = suffix
        elif name in ("a", "b") and not of_base:
            out[name] = "compute"
        else:
            out[name] = named
    return out


def law_exponent_rows(law: ReportedLaw) -> list[dict[str, Any]]:
    """The law's exponents as rows: ``symbol`` (the registry's parameter name), ``value``,
    ``variable`` (:func:`law_exponent_variables`; None: not said) and ``derived`` (True for the
    allocation exponents a, b the registry derives rather than the paper's fitted values)."""
    variables = law_exponent_variables(law)
    return [
        {
            "symbol": name,
            "value": value,
            "variable": variables[name],
            "derived": name not in law.params,
        }
        for name, value in law_exponents(law).items()
    ]


def _letter(name: str) -> str:
    """A name as its quantity's letter: ``N_c`` and ``N_eff`` are N, ``C_min`` is C."""
    return name if name in _BASE_VARIABLE else name.split("_")[0]


def _same_number(text: str, value: float) -> bool:
    try:
        return math.isclose(float(text.replace(" ", "")), abs(value), rel_tol=1e-6)
    except ValueError:
        return False


def _named_variable(law: ReportedLaw) -> str | None:
    text = (law.conventions.get("variable", "") + " " + law.name.split(" vs ")[-1]).lower()
    if " vs " not in law.name and "variable" not in law.conventions:
        return None
    found = {v for v, words in _NAMED_VARIABLE.items() if any(w in text for w in words)}
    return next(iter(found)) if len(found) == 1 else None


def exponent_law_papers(
    store: Store, laws: Iterable[ReportedLaw] | None = None, *, variable: str | None = None
) -> list[str]:
    """Ids of the corpus papers that reported a law with an exponent, among ``laws`` (default:
    the store's ``laws`` table); laws whose paper is not in the corpus are left out. With
    ``variable``, only exponents of that quantity count (:func:`law_exponent_variables`)."""
    pool = [
        law
        for law in (store.select(ReportedLaw) if laws is None else laws)
        if (variable in law_exponent_variables(law).values() if variable else law_exponents(law))
    ]
    return sorted({p for p in law_paper_ids(store, pool).values() if p is not None})


def law_paper_years(store: Store, laws: Iterable[ReportedLaw] | None = None) -> dict[str, int]:
    """The year the registry gives each corpus paper it holds laws of (the earliest, if its
    laws disagree), among ``laws`` (default: the store's ``laws`` table). A year filter reads
    it for a paper the listings gave no date: 207 of the 270 seed papers have none, Kaplan et
    al. 2020 among them, while the registry records its year."""
    pool = list(store.select(ReportedLaw) if laws is None else laws)
    papers = law_paper_ids(store, pool)
    years: dict[str, int] = {}
    for law in pool:
        paper = papers[law.law_id]
        if paper is not None:
            years[paper] = min(law.year, years.get(paper, law.year))
    return years


def law_domain_papers(
    store: Store, domain: str, laws: Iterable[ReportedLaw] | None = None
) -> list[str]:
    """Ids of the corpus papers with a registry law of ``domain`` (``conventions.domain``),
    among ``laws`` (default: the store's). A paper has one domain label; Hestness et al. 2017,
    labelled language, reports an ImageNet law the registry files under vision."""
    pool = [
        law
        for law in (store.select(ReportedLaw) if laws is None else laws)
        if law.conventions.get("domain") == domain
    ]
    return sorted({p for p in law_paper_ids(store, pool).values() if p is not None})


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
        None, description=f"{VARIABLE_HELP} One of {', '.join(VARIABLES)}."
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

    def where(
        self,
        exponent_papers: Sequence[str] = (),
        variable_papers: Sequence[str] = (),
        paper_years: Mapping[str, int] | None = None,
        domain_papers: Sequence[str] = (),
    ) -> tuple[str, list[Any]]:
        """SQL condition over ``papers p`` with its parameters.

        ``exponent_papers``: the papers the law registry holds exponents of
        (:func:`exponent_law_papers`), which ``has_exponent`` counts beside the abstracts'.
        ``variable_papers``: those it holds an exponent of ``variable`` of
        (``exponent_law_papers(..., variable=...)``), which ``variable`` counts likewise.
        ``paper_years``: the registry's year of a paper (:func:`law_paper_years`), which the
        year filters read when the paper has no publication date. ``domain_papers``: those
        with a law of ``domain`` (:func:`law_domain_papers`), which ``domain`` counts beside
        the paper's own label.
        """
        parts: list[str] = []
        params: list[Any] = []
        year = "year(p.published)"
        year_params: list[Any] = []
        if paper_years:
            year = (
                "coalesce(year(p.published), list_extract(?::INTEGER[], "
                "list_position(?::VARCHAR[], p.paper_id)))"
            )
            year_params = [list(paper_years.values()), list(paper_years)]
        if self.year_min is not None:
            parts.append(f"{year} >= ?")
            params += [*year_params, self.year_min]
        if self.year_max is not None:
            parts.append(f"{year} <= ?")
            params += [*year_params, self.year_max]
        if self.domain is not None:
            parts.append("(p.domain = ? OR list_contains(?::VARCHAR[], p.paper_id))")
            params += [self.domain, list(domain_papers)]
        if self.studies_scaling_law is not None:
            parts.append("p.studies_scaling_law = ?")
            params.append(self.studies_scaling_law)
        if self.variable is not None:
            parts.append(
                "(EXISTS (SELECT 1 FROM claims c WHERE c.paper_id = p.paper_id "
                "AND list_contains(c.variables, ?)) OR EXISTS (SELECT 1 FROM exponents e "
                "WHERE e.paper_id = p.paper_id AND e.variable = ?) "
                "OR list_contains(?, p.paper_id))"
            )
            params += [self.variable, self.variable, list(variable_papers)]
        if self.has_exponent is not None:
            exists = (
                "(EXISTS (SELECT 1 FROM exponents e WHERE e.paper_id = p.paper_id) "
                "OR list_contains(?, p.paper_id))"
            )
            parts.append(exists if self.has_exponent else f"NOT {exists}")
            params.append(list(exponent_papers))
        return " AND ".join(parts) or "TRUE", params
