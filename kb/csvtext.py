"""Which character separates a CSV's cells, read off its header row.

Spreadsheet exports in locales where the comma is the decimal mark use ``;``; some tools write
tabs. Used by the listing reader (``ingest.formats``) and the upload reader (``kb.uploads``).
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["SEPARATORS", "header_delimiter"]

SEPARATORS = (",", ";", "\t")


def header_delimiter(text: str, required: Collection[str] = ()) -> str:
    """The separator under which the header row names every ``required`` column
    (case-insensitive); failing that, the one the header uses most (a comma on a tie), so a
    missing column is reported with the header split as its writer meant it."""
    header = text.split("\n", 1)[0]
    wanted = {c.lower() for c in required}
    if wanted:
        for sep in SEPARATORS:
            if wanted <= {h.strip().strip('"').lower() for h in header.split(sep)}:
                return sep
    return max(SEPARATORS, key=header.count)
