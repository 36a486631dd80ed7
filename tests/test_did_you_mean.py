"""Suggestions for a mistyped name: a prefix or part of a name finds it, as a close spelling
does (`kb points epoch`, `kb compare --reference kaplan2020` suggested nothing: difflib's
similarity ratio of a short prefix to a long name is under its cutoff)."""

from __future__ import annotations

import pytest

from kb.compare import compare
from kb.datasets import dataset_hint
from kb.errors import NotFoundError, did_you_mean
from kb.records import ReportedLaw
from kb.registry import load_registry
from kb.store import Store

NAMES = ["epoch_chinchilla", "besiroglu_points", "gadre_runs", "kaplan2020_l_n", "kaplan2020_l_d"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("epoch", "did you mean epoch_chinchilla? "),
        ("EPOCH", "did you mean epoch_chinchilla? "),
        ("chinchilla", "did you mean epoch_chinchilla? "),
        ("epoch_chinchila", "did you mean epoch_chinchilla? "),  # a typo: difflib
        ("kaplan2020", "did you mean kaplan2020_l_d or kaplan2020_l_n? "),
        ("nothing like it", ""),
        ("  ", ""),
    ],
)
def test_did_you_mean(name: str, says: str) -> None:
    assert did_you_mean(name, NAMES) == says


def test_prefix_first_and_the_rest_counted() -> None:
    names = ["b_a", "a_1", "a_2", "a_3", "a_4"]
    assert did_you_mean("a", names, n=2) == "did you mean a_1 or a_2 (or 3 more)? "


def test_dataset_hint_finds_a_prefix() -> None:
    assert dataset_hint("epoch", NAMES).startswith("did you mean epoch_chinchilla? ")


def test_compare_reference_suggests_the_paper_s_laws(tmp_path: object) -> None:
    laws: list[ReportedLaw] = [law for law in load_registry() if law.law_id.startswith("kaplan")]
    db = f"{tmp_path}/kb.duckdb"
    with Store(db) as s:
        s.upsert(laws)
        with pytest.raises(NotFoundError, match=r"did you mean kaplan2020_\w+ or .*more\)\?"):
            compare(s, quantity="alpha", reference="kaplan2020")
