"""Errors raised by scaling-kb.

Every message says what was wrong, where (file:line, paper id, row), what was expected and,
where there is one, the fix. The CLI turns any ``KBError`` into a one-line message and exit 1.
"""

from __future__ import annotations


class KBError(Exception):
    """Base class of every error the library raises on purpose."""


class ParseError(KBError):
    """An input file could not be read as the format it claims (or was detected) to be."""


class BadInputError(KBError):
    """A value or record is invalid: wrong type, unit, range, or a missing column."""


class UnknownLawError(KBError):
    """A law form, recipe or registry law was named that does not exist."""


class FitError(KBError):
    """A fit could not be made: no start converged, too few points, inputs missing."""


class IndexMismatchError(KBError):
    """The search index on disk does not match the store (model, dimension, or rows)."""


class NotFoundError(KBError):
    """A paper, dataset or other named object is not in the knowledge base."""
