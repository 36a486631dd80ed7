"""Chart files: the formats `kb compare --plot` and `kb fit --plot` write; and the atomic write
every project file goes through (charts, data/*.json and *.npz, the keyword cache).

Light on purpose (no Altair): the CLI checks a --plot path's extension when it parses the
option, before a fit runs or a store is opened, so a typo costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from kb.errors import BadInputError, KBError

__all__ = ["PLOT_FORMATS", "atomic_file", "check_plot_path", "write_atomic"]

# mkstemp creates its file 0600; the file gets what an ordinary open() would give it.
_UMASK = os.umask(0)
os.umask(_UMASK)

# By extension: .html needs nothing more; the others are rendered by vl-convert-python.
PLOT_FORMATS: dict[str, str] = {
    ".html": "interactive page (Vega-Lite, data and scripts inlined)",
    ".svg": "vector image",
    ".png": "raster image, 2x scale",
    ".pdf": "vector document",
}


def check_plot_path(path: str | Path) -> Path:
    """``path`` as a Path when its extension is a known chart format.

    Raises:
        BadInputError: the extension is not one of ``PLOT_FORMATS`` (the message lists them), or
            the folder it names does not exist.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        got = f"extension {suffix!r}" if suffix else "no extension"
        raise BadInputError(
            f"{path}: {got}; expected a chart file ending in one of " + ", ".join(PLOT_FORMATS)
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInputError(f"{path}: folder {parent} is read-only; choose a writable folder")
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], what: str = "the file") -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to: a temporary file beside it, renamed
    over ``path`` when the block ends, so a reader (or a failed run) never sees half a file;
    removed, and ``path`` left as it was, when the block raises.

    Raises:
        KBError: the file could not be written (a folder made read-only since, a full disk);
            the message names ``path`` and ``what`` it is.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise KBError(f"{path}: cannot write {what}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise KBError(f"{path}: cannot write {what}: {err.strerror or err}") from err
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str, what: str = "the file") -> None:
    """Write ``data`` (``str`` as UTF-8) to ``path`` through :func:`atomic_file`.

    Raises:
        KBError: the file could not be written (names ``path`` and ``what`` it is).
    """
    with atomic_file(path, what) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
