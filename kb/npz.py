"""Reading the small learned-model files shipped in ``data/`` (``.npz`` with a JSON ``meta``)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from pydantic import ValidationError

from kb.errors import BadInputError

__all__ = ["load_model_file"]

T = TypeVar("T")


def load_model_file(
    path: str | Path, what: str, expected: str, build: Callable[[np.lib.npyio.NpzFile], T]
) -> T:
    """``build(npz)`` for the file at ``path``, opened without pickles.

    Raises:
        BadInputError: ``"<path>: <what> not found"``, or ``"<path>: not a <what> (expected
            <expected>): <detail>"`` when the file is not a zip, lacks an array, or ``build``
            rejects its contents (a ``ValueError``, pydantic's included).
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as npz:
            return build(npz)
    except FileNotFoundError as err:
        raise BadInputError(f"{p}: {what} not found") from err
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        # ValidationError and JSONDecodeError are ValueErrors
        detail = err if not isinstance(err, ValidationError) else err.errors()[0]["msg"]
        raise BadInputError(f"{p}: not a {what} (expected {expected}): {detail}") from err
