"""A small, self-contained reader of the seed listings, for search development and benchmarks.

It extracts (title, abstract) pairs from ``shared/seeds/*.txt`` well enough for evaluation: the
real parser is ``ingest.pipeline``, which the lead swaps in when the branches meet. Two layouts
are seen: blank-line separated entries (title, abstract, optional metadata lines such as
``• 5 authors``, a date with upvotes, an organisation), and one compact file where a title line
is directly followed by its abstract line.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.records import Paper, paper_id_for
from kb.store import Store

_BOILERPLATE = re.compile(
    r"^(new|subscribe|daily papers|byak and the research community|get trending papers.*|"
    r"[a-z]{3} \d{1,2}|·|•.*|\d+ authors?|[a-z]{3} \d{1,2}(, \d{4})?( \d+)?|\d+)$",
    re.IGNORECASE,
)
_SUBSCRIBE = re.compile(r"^Subscribe(?=\S)")


def _is_meta(line: str) -> bool:
    return bool(_BOILERPLATE.match(line.strip())) or line.strip().startswith(("•", "·"))


def _looks_like_abstract(line: str) -> bool:
    return len(line) > 200 or (len(line.split()) > 25 and line.rstrip().endswith((".", ")")))


def read_seed(path: Path) -> list[tuple[str, str]]:
    """(title, abstract) pairs of one seed listing, in file order."""
    lines = [_SUBSCRIBE.sub("", ln).strip() for ln in path.read_text("utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not _is_meta(ln)]
    pairs: list[tuple[str, str]] = []
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if not _looks_like_abstract(line) and _looks_like_abstract(nxt):
            pairs.append((line, nxt))
    return pairs


def read_seeds(seeds: Path) -> list[Paper]:
    """Distinct papers of every ``*.txt`` listing in ``seeds`` (first abstract seen wins)."""
    papers: dict[str, Paper] = {}
    for path in sorted(seeds.glob("*.txt")):
        for title, abstract in read_seed(path):
            pid = paper_id_for(title)
            papers.setdefault(pid, Paper(paper_id=pid, title=title, abstract=abstract))
    return list(papers.values())


def load_seeds(store: Store, seeds: Path) -> int:
    """Upsert the seed papers into ``store``; returns how many."""
    papers = read_seeds(seeds)
    with store.transaction():
        store.upsert(papers)
    return len(papers)
