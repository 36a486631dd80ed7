"""Errors raised by scaling-kb.

Every message says what was wrong, where (file:line, paper id, row), what was expected and,
where there is one, the fix. The CLI turns any ``KBError`` into a one-line message and exit 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


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


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT from Ctrl-C, SIGTERM) stopped a command: raised by the ``kb`` command's
    signal handler, a ``KeyboardInterrupt`` so that every cleanup a Ctrl-C runs runs too.

    Attributes:
        signum: the signal's number; the command exits with 128 + signum, as POSIX shells do.
        note: what the command did before it stopped, for the user (None: nothing that lasts;
            the CLI then says whether the store changed).
    """

    def __init__(self, signum: int, note: str | None = None):
        super().__init__(signum)
        self.signum = signum
        self.note = note


def did_you_mean(name: str, known: Sequence[str], n: int = 3) -> str:
    """ "did you mean A or B? " for the names among ``known`` close to a mistyped ``name``, else
    "": first those that begin with it or hold it (case aside: `epoch` -> `epoch_chinchilla`,
    `kaplan2020` -> its seven laws, whose similarity ratio is too low for difflib), then
    difflib's close matches; at most ``n``, with the count of the rest."""
    low = name.strip().lower()
    if not low:
        return ""
    holding = sorted(
        (k for k in known if low in k.lower()), key=lambda k: (not k.lower().startswith(low), k)
    )
    close = holding or difflib.get_close_matches(name, list(known), n=n)
    if not close:
        return ""
    rest = len(close) - n
    shown = " or ".join(close[:n]) + (f" (or {rest} more)" if rest > 0 else "")
    return f"did you mean {shown}? "
