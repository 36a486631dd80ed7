"""Shared fixtures: an in-memory store, the shared-data location, Hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kb.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Third-party data stays outside the repo; tests read it from ../shared unless told otherwise.
SHARED = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared")).resolve()

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty in-memory store with the full schema."""
    with Store(":memory:") as s:
        yield s


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder (seeds, datasets); skips if it is absent on this machine."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set KB_SHARED)")
    return SHARED


def seed_app_store(path: Path) -> None:
    """A small knowledge base for app tests: two papers, claims and an exponent."""
    from kb.records import Appearance, Claim, Exponent, Paper, paper_id_for

    abstract = (
        "We study how loss scales. Loss follows a power law in model size with exponent 0.07. "
        "Nothing else here."
    )
    sentence = "Loss follows a power law in model size with exponent 0.07."
    start = abstract.index(sentence)
    pid = paper_id_for("Invented Scaling Laws for Testing")
    other = paper_id_for("An Unrelated Method Paper")
    with Store(path) as s:
        s.upsert(
            [
                Paper(paper_id=pid, title="Invented Scaling Laws for Testing", abstract=abstract,
                      n_authors=3, upvotes=5, studies_scaling_law=True, domain="language"),
                Paper(paper_id=other, title="An Unrelated Method Paper",
                      abstract="A method. It is fast.", studies_scaling_law=False, domain="vision"),
                Appearance(paper_id=pid, source="/x/listing.txt", position=1, line=3,
                           format="listing"),
                Claim(claim_id="c1", paper_id=pid, response="loss", variables=["model_size"],
                      form="power_law", direction="improves", evidence=sentence,
                      span_start=start, span_end=start + len(sentence), extractor_version="t"),
                Exponent(exponent_id="e1", paper_id=pid, claim_id="c1", value=0.07,
                         variable="model_size", text="exponent 0.07",
                         span_start=abstract.index("exponent 0.07"),
                         span_end=abstract.index("exponent 0.07") + 13, extractor_version="t"),
            ]
        )  # fmt: skip


ONE_PAPER_TITLE = "Invented Loss Curves"


@pytest.fixture
def one_paper_db(tmp_path: Path) -> Path:
    """A store file with one invented paper and one claim (no search index, no laws): the CLI
    tests' knowledge base (tests/test_cli_qa.py, tests/test_cli_polish.py)."""
    from kb.records import Claim, Paper, paper_id_for

    path = tmp_path / "kb.duckdb"
    pid = paper_id_for(ONE_PAPER_TITLE)
    sentence = "Loss falls as a power law in model size."
    with Store(path) as s:
        s.upsert(
            [
                Paper(paper_id=pid, title=ONE_PAPER_TITLE, abstract=sentence, domain="language"),
                Claim(claim_id="c1", paper_id=pid, response="loss", variables=["model_size"],
                      form="power_law", direction="improves", evidence=sentence, span_start=0,
                      span_end=len(sentence), extractor_version="t"),
            ]
        )  # fmt: skip
    return path


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """KB_DB pointing at a small seeded store; Streamlit caches cleared before and after.

    Caches outlive an AppTest (streamlit/streamlit#9139), so every app test starts clean.
    """
    import streamlit as st

    path = tmp_path / "kb.duckdb"
    seed_app_store(path)
    monkeypatch.setenv("KB_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()
