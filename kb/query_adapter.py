"""A query-side linear adapter for the embedding model: lay wording moved nearer the papers.

A general sentence encoder places "do larger networks ever get worse" far from an abstract
about inverse scaling: it never learned this field's vocabulary. A query adapter is a small
learned map applied to the query vector only (papers keep their indexed vectors, so nothing is
re-embedded):

    q' = normalise(q + (q @ down) @ up)

a residual low-rank correction (``down``: d x r, ``up``: r x d). It is fitted by
``benchmarks/fit_query_adapter.py`` on queries this project wrote for real abstracts from
OUTSIDE the seed corpus (``data/eval/adapter_queries.jsonl``; the abstracts stay outside the
repository), with a softmax over those abstracts' whole-text vectors, and shipped as
``data/query_adapter.npz``. It only means something for the encoder it was fitted with; for any
other model the searcher leaves queries as they are.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from kb.errors import BadInputError
from kb.npz import load_model_file
from kb.plotfile import atomic_file

__all__ = ["DEFAULT_ADAPTER", "AdapterMeta", "QueryAdapter", "default_adapter_path"]

DEFAULT_ADAPTER = Path(__file__).resolve().parent.parent / "data" / "query_adapter.npz"


def default_adapter_path() -> str:
    """``$KB_QUERY_ADAPTER`` if set (an empty value turns the adapter off), else the shipped
    ``data/query_adapter.npz``. An adapter fitted for another model (``$KB_MODEL``) is written
    by ``benchmarks/fit_query_adapter.py --write --out PATH`` run with that model."""
    return os.environ.get("KB_QUERY_ADAPTER", str(DEFAULT_ADAPTER))


class AdapterMeta(BaseModel):
    """What a saved adapter was fitted for and on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str = Field(description="embedding model name (kb.embed.model_name) it was fitted for")
    dim: int = Field(gt=0, description="query vector width")
    rank: int = Field(gt=0, description="width of the low-rank correction")
    trained_on: str = Field(description="training data and how the settings were chosen")


class QueryAdapter:
    """``q -> normalise(q + (q @ down) @ up)`` for one encoder.

    Raises:
        BadInputError: the matrices do not match ``meta`` (shape or non-finite values).
    """

    def __init__(self, meta: AdapterMeta, down: NDArray[np.floating], up: NDArray[np.floating]):
        down = np.ascontiguousarray(down, dtype=np.float32)
        up = np.ascontiguousarray(up, dtype=np.float32)
        if down.shape != (meta.dim, meta.rank) or up.shape != (meta.rank, meta.dim):
            raise BadInputError(
                f"query adapter: down is {down.shape} and up is {up.shape}; expected "
                f"({meta.dim}, {meta.rank}) and ({meta.rank}, {meta.dim})"
            )
        if not (np.isfinite(down).all() and np.isfinite(up).all()):
            raise BadInputError("query adapter: the matrices hold NaN or infinite values")
        self.meta = meta
        self.down = down
        self.up = up

    def fits(self, encoder: str, dim: int) -> bool:
        """True when this adapter was fitted for the encoder ``encoder`` of width ``dim``."""
        return self.meta.encoder == encoder and self.meta.dim == dim

    def apply(self, vectors: NDArray[np.floating]) -> NDArray[np.float32]:
        """The adapted, L2-normalised query vector(s); ``vectors`` is (d,) or (n, d)."""
        v = np.asarray(vectors, dtype=np.float32)
        if v.shape[-1] != self.meta.dim:
            raise BadInputError(f"query adapter for {self.meta.dim}-d vectors got shape {v.shape}")
        out = v + (v @ self.down) @ self.up
        norm = np.linalg.norm(out, axis=-1, keepdims=True)
        out = out / np.where(norm > 0, norm, 1.0)
        return np.ascontiguousarray(out, dtype=np.float32)

    def save(self, path: str | Path) -> None:
        """Write ``path`` (.npz: ``down``, ``up`` and the metadata as JSON) atomically."""
        with atomic_file(path, "the query adapter") as fh:
            np.savez_compressed(
                fh, down=self.down, up=self.up, meta=np.array(self.meta.model_dump_json())
            )

    @classmethod
    def load(cls, path: str | Path = DEFAULT_ADAPTER) -> QueryAdapter:
        """The adapter saved at ``path`` (default ``data/query_adapter.npz``).

        Raises:
            BadInputError: the file is missing or is not an adapter of a consistent shape.
        """

        def build(z: Any) -> QueryAdapter:
            meta = AdapterMeta.model_validate(json.loads(str(z["meta"])))
            return cls(meta, z["down"], z["up"])

        return load_model_file(path, "query adapter", "an .npz with down, up and meta", build)
