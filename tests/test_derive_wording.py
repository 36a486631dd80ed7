"""kb.derive: one wording for where a fit's values come from (kb.derive._stated)."""

from __future__ import annotations

from kb.derive import LawView, derive_all


def test_every_value_a_fit_computed_reads_the_same() -> None:
    """A fit's alpha and beta read "derived by the fit", its a and b "computed by the fit": the
    alpha/beta wording was an overwrite of _stated's. A stored fit's ``derived`` holds a, b, G
    and values at budgets today; any exponent in it reads as the rest."""
    view = LawView(
        source_id="f1", kind="fit", title="refit", form="compute_optimal",
        derived={"a": 0.5, "alpha": 0.3, "alpha_C": 0.05},
    )  # fmt: skip
    got = {d.quantity: d.derivation for d in derive_all(view)}
    assert set(got) == {"a", "alpha", "loss_compute"}
    assert {text.split(":")[0] for text in got.values()} == {"computed by the fit"}
