"""A small, self-contained reader of the seed listings, for labelling and benchmarking claims.

The seed files are scraped paper listings: a title line, then an abstract line, separated by
blank lines and interleaved with page furniture ("Subscribe", "Daily Papers") and metadata lines
("• 5 authors", "·", "Jul 3, 2024 3"). One file is compact: no blank lines, and its first title
is glued to "Subscribe". This reader pairs each title with the abstract that follows it; it is a
stand-in for ``ingest.listings`` and only needs to be good enough to label abstracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.records import normalize_whitespace, paper_id_for

__all__ = ["SeedPaper", "read_seed_dir", "read_seed_file"]

_FURNITURE = {
    "new",
    "subscribe",
    "daily papers",
    "byak and the research community",
    "·",
}
_META = re.compile(r"^(?:•\s*\d+\s+authors?|[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?(?: \d+)?|\d+|·)$")
_MIN_ABSTRACT = 150  # characters: shorter lines are titles or furniture, not abstracts


@dataclass(frozen=True)
class SeedPaper:
    """One (title, abstract) pair read from a seed file."""

    paper_id: str
    title: str
    abstract: str
    source: str
    line: int


def _is_noise(line: str) -> bool:
    low = line.casefold()
    return (
        not line
        or low in _FURNITURE
        or low.startswith("get trending papers")
        or bool(_META.match(line))
    )


def read_seed_file(path: Path) -> list[SeedPaper]:
    """The (title, abstract) pairs of one seed file, in file order."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = normalize_whitespace(raw)
        if line.startswith("Subscribe") and len(line) > len("Subscribe"):
            line = line[len("Subscribe") :].strip()
        if not _is_noise(line):
            lines.append((number, line))
    papers: list[SeedPaper] = []
    i = 0
    while i + 1 < len(lines):
        (number, title), (_, abstract) = lines[i], lines[i + 1]
        if len(title) < _MIN_ABSTRACT and len(abstract) >= _MIN_ABSTRACT:
            papers.append(SeedPaper(paper_id_for(title), title, abstract, str(path), number))
            i += 2
        else:
            i += 1
    return papers


def read_seed_dir(folder: Path) -> list[SeedPaper]:
    """Distinct papers of every ``*.txt`` in ``folder`` (first appearance wins), sorted by id."""
    seen: dict[str, SeedPaper] = {}
    for path in sorted(folder.glob("*.txt")):
        for paper in read_seed_file(path):
            seen.setdefault(paper.paper_id, paper)
    return sorted(seen.values(), key=lambda p: p.paper_id)
