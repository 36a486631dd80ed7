"""scaling-kb: a literature knowledge base and query service for neural scaling laws."""

from kb.errors import (
    BadInputError,
    FitError,
    IndexMismatchError,
    KBError,
    NotFoundError,
    ParseError,
    UnknownLawError,
)
from kb.records import (
    Appearance,
    Claim,
    Dataset,
    Exponent,
    FitRecord,
    Paper,
    Point,
    ReportedLaw,
    paper_id_for,
)
from kb.store import Store, staged

__all__ = [
    "Appearance",
    "BadInputError",
    "Claim",
    "Dataset",
    "Exponent",
    "FitError",
    "FitRecord",
    "IndexMismatchError",
    "KBError",
    "NotFoundError",
    "Paper",
    "ParseError",
    "Point",
    "ReportedLaw",
    "Store",
    "UnknownLawError",
    "paper_id_for",
    "staged",
]
