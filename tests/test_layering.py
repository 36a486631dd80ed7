"""Imports point one way: app -> kb <- ingest; only kb.cli (the composition root) imports ingest."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_kb_imports_ingest_only_from_the_cli() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "kb").rglob("*.py")
        if "ingest" in _imports(p) and "cli" not in p.relative_to(ROOT / "kb").parts
    ]
    assert offenders == []


def test_app_never_imports_ingest_or_heavy_logic() -> None:
    forbidden = {"ingest", "scipy", "re", "duckdb", "faiss"}
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden)
        for p in (ROOT / "app").rglob("*.py")
        if _imports(p) & forbidden
    }
    assert offenders == {}


def test_ingest_never_imports_app() -> None:
    assert [p for p in (ROOT / "ingest").rglob("*.py") if "app" in _imports(p)] == []
