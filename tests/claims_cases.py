"""What the tests of the extractor's mathematics share (``tests/test_claims_math*.py``): read a
sentence as one abstract, compare its exponents with the expected (value, variable) pairs, and
check that the literal prefilter changes no reading of a file's sentences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import ingest.claims.exponents as ex
from ingest.claims import extract
from ingest.claims.exponents import find_exponents
from ingest.claims.sentences import sentence_spans
from kb.records import Paper

Expected = list[tuple[float, str | None]]


def paper(abstract: str, pid: str = "t:math") -> Paper:
    return Paper(paper_id=pid, title="A Study", abstract=abstract)


def found(text: str) -> Expected:
    """(value, variable from the rule) of every exponent of ``text`` read as one abstract."""
    return [
        (e.value, e.variable)
        for s, e_ in sentence_spans(text)
        for e in find_exponents(text, (s, e_))
    ]


def rows(text: str) -> list[tuple[float, str]]:
    """(value, variable) of the exponent rows ``extract`` stores for ``text``."""
    return [(e.value, e.variable) for e in extract(paper(text)).exponents]


def check(text: str, expected: Expected) -> None:
    """``text`` reads exactly ``expected``, in order (values to float precision)."""
    got = found(text)
    assert [v for v, _ in got] == pytest.approx([v for v, _ in expected]), got
    assert [var for _, var in got] == [var for _, var in expected], got


def sentences_of(namespace: Mapping[str, Any]) -> list[str]:
    """Every sentence of the parametrised tests in a test module's ``globals()``."""
    texts: list[str] = []
    for fn in namespace.values():
        for mark in getattr(fn, "pytestmark", []) if callable(fn) else []:
            if mark.name == "parametrize" and "text" in str(mark.args[0]):
                texts += [v if isinstance(v, str) else v[0] for v in mark.args[1]]
    return texts


def check_prefilter_agrees(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same readings of ``texts`` with every pattern searched (what
    ``check_claims_identity.py --ungated`` proves on the seeds, which print few of these shapes)."""
    gated = [found(t) for t in texts]
    monkeypatch.setattr(ex, "finditer", lambda rx, text, folded: rx.finditer(text))
    monkeypatch.setattr(ex, "matches", lambda rx, text, folded: rx.search(text) is not None)
    assert [found(t) for t in texts] == gated
