"""Search filters: the ``SearchFilters`` model and the SQL condition it stands for.

``kb.search.Searcher`` turns a ``SearchFilters`` into the set of papers a query may return
(``where()`` is a condition over ``papers p``, with the claims and exponents tables joined by
``EXISTS``); ``kb search`` and the app's search page build one from their options/widgets.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.records import DOMAINS, VARIABLES

__all__ = ["SearchFilters"]


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
    has_exponent: bool | None = Field(None, description="the abstract states an exponent value")

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

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition over ``papers p`` with its parameters."""
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
            exists = "EXISTS (SELECT 1 FROM exponents e WHERE e.paper_id = p.paper_id)"
            parts.append(exists if self.has_exponent else f"NOT {exists}")
        return " AND ".join(parts) or "TRUE", params
