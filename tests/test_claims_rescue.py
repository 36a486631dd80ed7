"""The optimal-setting rescue (``claims-rules-4``): a paper with no claim whose own sentence names
an optimal setting and a scale quantity studies a scaling law (the guide: "an optimal learning
rate versus width ... a critical batch size"); everything else stays as before."""

from __future__ import annotations

import pytest

from ingest.claims import EXTRACTOR_VERSION, extract
from kb.records import Paper


def run(abstract: str, title: str = "A Study of Training") -> tuple[bool, set[str], set[str]]:
    result = extract(Paper(paper_id="t:r", title=title, abstract=abstract))
    return (
        result.studies_scaling_law,
        {v for c in result.claims for v in c.variables},
        {c.response for c in result.claims},
    )


def test_version() -> None:
    assert EXTRACTOR_VERSION == "claims-rules-4"


def test_own_optimal_setting_across_scale_is_a_finding() -> None:
    studies, variables, responses = run(
        "Choosing hyperparameters for large networks is costly. "
        "We determine the optimal learning rate for each model size in our sweep."
    )
    assert studies
    assert "model_size" in variables
    assert "optimal_hyperparameter" in responses


@pytest.mark.parametrize(
    "abstract",
    [
        # someone else's finding (background), not ours
        "Prior work has shown the optimal learning rate for each model size. "
        "We propose a new tokenizer for code.",
        # no scale quantity named
        "We determine the optimal learning rate for our new optimizer on image classification.",
        # no optimal setting: a scale quantity alone in our own sentence
        "We train a model with 7B parameters and release the weights.",
        # no first-person voice
        "The optimal learning rate for each model size is an open question.",
    ],
)
def test_no_rescue_without_all_four_conditions(abstract: str) -> None:
    assert run(abstract)[0] is False


def test_empty_and_latex_abstracts_invent_nothing() -> None:
    assert run("")[0] is False
    assert run(r"We find $\eta^{*}$ \cdot \frac{1}{2}")[0] is False
