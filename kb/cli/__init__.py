"""The ``kb`` command: one click group; each area's commands live in a module of this package.

This package is the composition root: the only part of ``kb`` allowed to import ``ingest``
(``tests/test_layering.py`` checks). A command parses options, makes one or two library calls
and formats the output; results go to stdout, logs, progress and errors to stderr.
"""

from __future__ import annotations

import importlib
import pkgutil

from kb.cli._common import cli

__all__ = ["cli"]

# Every module kb/cli/<name>.py registers its commands on `cli` when imported.
for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
