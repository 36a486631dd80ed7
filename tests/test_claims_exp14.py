"""exp14: exponents a researcher could not find, or found wrong.

1. The registry: Alabdulmohsin et al.'s shape exponents (``x_k* = O(t^s_k)``, ``width ∝ t^0.22``;
   params s_width, s_depth, s_mlp) were no exponents to ``law_exponents``, so ``kb exponents``'
   note, ``--has-exponent``, ``--variable width``/``depth`` and ``kb laws --json`` missed them.
2. Abstracts: a symbol whose power's base was not found took its printed sign and the sentence's
   variable (see the section below).
"""

from __future__ import annotations

import pytest

from ingest.claims import extract
from kb.filters import exponent_law_papers, law_exponent_variables, law_exponents
from kb.records import Paper, ReportedLaw
from kb.registry import load_registry
from kb.store import Store

# -- 1. registry laws: exponents written as a power, whatever their letter ---------------------


def _shape_law() -> ReportedLaw:
    return {law.law_id: law for law in load_registry()}["alabdulmohsin2023_vit_shape"]


def test_the_vit_shape_laws_exponents_are_exponents() -> None:
    law = _shape_law()
    assert law_exponents(law) == {"s_width": 0.22, "s_depth": 0.45, "s_mlp": 0.6, "a": 0.398}
    # each exponent of the shape dimension it allocates; the MLP dimension is a width
    assert law_exponent_variables(law) == {
        "s_width": "width", "s_depth": "depth", "s_mlp": "width", "a": "compute",
    }  # fmt: skip


def _invented(formula: str, params: dict[str, float]) -> ReportedLaw:
    return ReportedLaw(
        law_id="x", arxiv_id="2999.00002", title="Invented", year=2024, name="x",
        formula=formula, params=params, source="invented", verified=False, notes="invented",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("formula", "params", "expected"),
    [
        # an indexed power stands for each parameter of its stem, whatever the letter
        ("h_k* ∝ C^r_k", {"r_heads": 0.3, "r_layers": 0.5}, {"r_heads": 0.3, "r_layers": 0.5}),
        # a power printed as a number is the parameter holding it
        ("width ∝ t^0.22", {"q_width": 0.22, "c": 3.0}, {"q_width": 0.22}),
        ("depth ∝ t^(-0.45)", {"q_depth": -0.45}, {"q_depth": -0.45}),
        # a quantity's subscript is no index: gamma_post is a scale in exp(), not an exponent
        ("C (D^gamma_D / N^gamma_N) exp(-P / gamma_post)",
         {"gamma_D": 0.5, "gamma_N": 0.3, "gamma_post": 0.6}, {"gamma_D": 0.5, "gamma_N": 0.3}),
        # a coefficient equal to no printed power stays a coefficient
        ("L = A N^0.3", {"A": 2.0}, {}),
    ],
)  # fmt: skip
def test_exponents_written_as_powers_whatever_their_letter(
    formula: str, params: dict[str, float], expected: dict[str, float]
) -> None:
    assert law_exponents(_invented(formula, params)) == expected


def test_has_exponent_and_variable_width_count_the_shape_law() -> None:
    law = _shape_law()
    paper = Paper(paper_id="arxiv:2305.13035", arxiv_id="2305.13035", title=law.title)
    with Store(":memory:") as store:
        store.upsert([paper, law])
        assert exponent_law_papers(store) == [paper.paper_id]
        assert exponent_law_papers(store, variable="width") == [paper.paper_id]
        assert exponent_law_papers(store, variable="depth") == [paper.paper_id]
        assert exponent_law_papers(store, variable="model_size") == []


# -- 2. abstracts: a symbol is the power of the quantity its formula puts it on ----------------
#
# As written in the brief ("L(N, D) = E + A N^{-alpha} + B D^{-0.27} with alpha = 0.31") the
# extractor already stored alpha as -0.31 of model_size. The symptom (alpha +0.31 and the
# sentence's variable, D's printed power right) came from formulas whose power's base the rules
# did not find: a coefficient over the scale letter, ``(A/N)^{alpha}``, and a LaTeX fraction,
# ``\frac{A}{N^{\alpha}}`` (there even the printed ``\frac{B}{D^{0.27}}`` was stored +0.27).

_INTRO = "We train language models from 10M to 1B parameters on up to 100B tokens. "


def _rows(abstract: str) -> list[tuple[str | None, float, str]]:
    paper = Paper(paper_id="t:exp14", title="Scaling laws for language models", abstract=abstract)
    return sorted(
        ((e.symbol, e.value, e.variable) for e in extract(paper).exponents),
        key=lambda r: (r[0] or "", r[1]),
    )


@pytest.mark.parametrize(
    "law",
    [
        "L(N, D) = E + (A/N)^{alpha} + B D^{-0.27}",
        "L(N, D) = E + (A / N)^{\\alpha} + B D^{-0.27}",
        "L(N, D) = E + \\frac{A}{N^{\\alpha}} + B D^{-0.27}",
        "L(N, D) = E + frac{A}{N^{alpha}} + B D^{-0.27}",  # backslashes stripped
        "L(N, D) = E + \\dfrac{A}{N^{\\alpha}} + B D^{-0.27}",
        "L(N, D) = E + A N^{-alpha} + B D^{-0.27}",  # as the brief wrote it: read right before too
    ],
)
@pytest.mark.parametrize(
    "tail", [" with alpha = 0.31.", " with alpha = 0.31 for model size.", ", where alpha=0.31."]
)
def test_a_symbol_is_the_power_of_its_base_however_the_formula_divides(law: str, tail: str) -> None:
    assert _rows(_INTRO + "Our fitted law is " + law + tail) == [
        (None, -0.27, "data_size"),
        ("alpha", -0.31, "model_size"),
    ]


def test_a_printed_power_in_a_fractions_denominator_is_negative() -> None:
    law = "L(N, D) = E + \\frac{A}{N^{0.31}} + \\frac{B}{D^{0.27}}."
    assert _rows(_INTRO + "Our fitted law is " + law) == [
        (None, -0.31, "model_size"),
        (None, -0.27, "data_size"),
    ]


def test_a_coefficient_ratio_with_a_printed_power() -> None:
    assert _rows(_INTRO + "Our fitted law is L(N) = E + (A/N)^{0.31}.") == [
        (None, -0.31, "model_size")
    ]


@pytest.mark.parametrize(
    ("law", "expected"),
    [
        # the power in a fraction's numerator is no divisor
        ("L(N) = \\frac{N^{\\alpha}}{Z} with alpha = 0.31.", [("alpha", 0.31, "model_size")]),
        # a ratio of two scale letters is no coefficient's: tokens per parameter, not read as N's
        ("L = E + (D/N)^{alpha} with alpha = 0.31.", [("alpha", 0.31, "other")]),
        # the constant over its letter keeps Kaplan et al.'s reading
        ("L(N) = (N_c/N)^{alpha_N} with alpha_N = 0.076.", [("alpha", -0.076, "model_size")]),
    ],
)
def test_what_the_division_rules_leave_alone(
    law: str, expected: list[tuple[str | None, float, str]]
) -> None:
    assert _rows(_INTRO + "Our fitted law is " + law) == expected
