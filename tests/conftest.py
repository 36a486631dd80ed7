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
