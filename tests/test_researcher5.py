"""A researcher's questions to the CLI and what misled them (session 14).

Registry values are checked against the paper they come from; everything else is invented.
No model is loaded.
"""

from __future__ import annotations

import pytest

from kb.compare import compare, unavailable
from kb.derive import derived_here, view_of_law
from kb.registry import DEFAULT_REGISTRY, load_registry
from kb.store import Store

GOPHER = 5.76e23  # FLOPs of Gopher and Chinchilla (Hoffmann et al. 2022)


@pytest.fixture
def registry_store(store: Store) -> Store:
    store.upsert(load_registry(DEFAULT_REGISTRY))
    return store


# -- "Chinchilla: how many tokens per parameter?" ---------------------------------------------
# Hoffmann et al.'s Table 3 (Approach 1's projections) states the optimal model size and token
# count at nine budgets: about 20 tokens per parameter. kb compare gave only Approach 3's 92.7
# at Gopher's budget for that paper, and said Approach 1 states no optimal sizes at any budget.


def test_approach1_table3_ratio_at_gophers_budget(registry_store: Store) -> None:
    rows = {
        r.source_id: r
        for r in compare(registry_store, quantity="tokens_per_param", at_flops=GOPHER)
    }
    row = rows["hoffmann2022_approach1"]
    assert row.value == pytest.approx(1.5e12 / 67e9, abs=0.05)  # Table 3: 67B, 1.5T tokens
    assert row.method == "formula"  # a ratio of two printed sizes: derived here, not stated
    assert "derived here" in row.derivation
    assert "Table 3" in row.derivation
    # The approach-3 value is still there, beside it
    assert rows["hoffmann2022_approach3"].value == pytest.approx(92.6, abs=0.1)


def test_approach1_ratios_are_marked_derived_here(registry_store: Store) -> None:
    (law,) = [x for x in load_registry(DEFAULT_REGISTRY) if x.law_id == "hoffmann2022_approach1"]
    ours = derived_here(view_of_law(law))
    stated = {k for k in law.derived if k.startswith("tokens_per_param@")}
    assert len(stated) == 9
    assert ours == stated  # a and b are the paper's (Table 2), the ratios ours
    # every ratio is Tokens / Parameters of its row, about 20 at every budget
    assert all(20.0 <= law.derived[k] <= 22.5 for k in stated)


def test_approach1_without_a_ratio_at_the_budget_names_the_budgets_it_has(
    registry_store: Store,
) -> None:
    missing = {m.source_id: m.reason for m in unavailable(registry_store, "tokens_per_param")}
    reason = missing["hoffmann2022_approach1"]
    assert "only at C = 1.92e+19" in reason
    assert "5.76e+23" in reason
    assert "1.3e+28" in reason
    assert "not at 1e+24" in reason
    # Approach 2 states no sizes at all: its reason is unchanged
    assert "without their coefficients" in missing["hoffmann2022_approach2"]
