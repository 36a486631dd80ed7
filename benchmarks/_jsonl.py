"""JSON-lines files for the benchmark scripts: every non-blank line one JSON object.

A broken line stops the script (``SystemExit``) with a message naming the file and the line, as
the scripts' users fix the file by hand; files are rewritten atomically, so a failure never
leaves one half-written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kb.plotfile import atomic_file


def read_jsonl_lines(path: Path) -> list[tuple[dict[str, Any], str]]:
    """Each JSON object of ``path`` with where it is (``"<path>, line <n>"``)."""
    out: list[tuple[dict[str, Any], str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise SystemExit(f"{where}: expected a JSON object")
        out.append((item, where))
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of ``path``, in file order."""
    return [item for item, _ in read_jsonl_lines(path)]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` to ``path`` atomically (a temporary file renamed over it)."""
    with atomic_file(path, "the JSON-lines file") as fh:
        for row in rows:
            fh.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
