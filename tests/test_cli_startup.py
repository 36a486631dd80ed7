"""`kb` starts without importing what only some commands use (scipy, BM25, FAISS, torch)."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

from kb.cli.search import SEARCH_MODES
from kb.search import MODES, Mode

ROOT = Path(__file__).resolve().parent.parent

# Imported by a command's body when it runs, never by `import kb.cli` (so `kb --help`,
# `kb stats` or `kb papers` do not pay for them).
DEFERRED = [
    "scipy", "bm25s", "numba", "faiss", "torch", "sentence_transformers",
    "kb.search", "kb.index", "kb.keyword", "kb.keyword_cache", "kb.fit",
    "ingest.claims", "ingest.pipeline",
]  # fmt: skip


def test_search_mode_choices_are_the_searchers() -> None:
    assert SEARCH_MODES == MODES == typing.get_args(Mode)


def test_the_cli_imports_no_heavy_module_at_start() -> None:
    code = (
        "import json, sys; import kb.cli; "
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
