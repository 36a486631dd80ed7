"""A paper-level rescue read from the abstract's embedding, on top of the rules.

The rules (``extract``) decide ``studies_scaling_law`` from named cues, and a scaling paper they
miss scores nothing: no claim, no variable. Most such papers outside the seed corpus still say
what they vary in a sentence of their own; what the cues lack is the reading that the abstract as
a whole reports a relationship across scale. The rescue adds that reading from the shipped
embedding model (issue 4: "the shipped embedding model as a classifier, or a mix"):

- a logistic regression on the unit embedding of ``kb.index.paper_text`` (title, then abstract)
  gives P(the paper studies a scaling law);
- a paper the rules call negative becomes positive when P >= the model's threshold AND at least
  one of its own sentences (not background, not a release note) names a scale quantity;
- those sentences become its claims (their own variables, responses, form, direction and
  exponents, read by the same rules), so every rescued claim still points at its sentence.

Rules positives are never changed, and no paper becomes negative. The model is fitted and chosen
by ``benchmarks/fit_claim_variables.py --embed-rescue --write-rescue`` (dev + external tuning
papers) and saved as ``data/claims_rescue.npz``; it only means something for the encoder it was
fitted with (``RescueModel.fits``). Rows it writes carry ``EXTRACTOR_VERSION + model.tag``.

NOT part of ``kb ingest`` / ``kb extract``: its pre-registered confirmation (data/eval/README.md,
claims9) passed on external test papers (paper F1 0.857 -> 0.886, variables F1 0.563 -> 0.608)
but added a false positive on the seed corpus' held-out papers (paper F1 0.912 -> 0.897, below
issue 4's 0.90). It stays for ``benchmarks/bench_claims.py --rescue`` and for Python users:
``apply_rescue(paper, extract(paper), vector, RescueModel.load())``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from ingest.claims.extract import (
    Extraction,
    SentenceReading,
    explain,
    read_paper,
    sentence_rows,
)
from kb.errors import BadInputError
from kb.npz import load_model_file
from kb.plotfile import atomic_file
from kb.records import Claim, Exponent, Paper

__all__ = [
    "DEFAULT_RESCUE",
    "RescueMeta",
    "RescueModel",
    "apply_rescue",
    "needs_vector",
    "rescue_sentences",
]

DEFAULT_RESCUE = Path(__file__).resolve().parents[2] / "data" / "claims_rescue.npz"


class RescueMeta(BaseModel):
    """What a saved rescue was fitted for and on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str = Field(description="embedding model name (kb.embed.model_name) it was fitted for")
    dim: int = Field(gt=0, description="embedding width")
    intercept: float
    threshold: float = Field(gt=0.0, le=1.0, description="rescue when P >= threshold")
    trained_on: str = Field(description="training data and how the settings were chosen")


class RescueModel:
    """``P = sigmoid(w . unit(v) + b)`` over a paper's whole-text embedding ``v``.

    Raises:
        BadInputError: the weights do not match ``meta`` (shape or non-finite values).
    """

    def __init__(self, meta: RescueMeta, weights: NDArray[np.floating]):
        w = np.ascontiguousarray(weights, dtype=np.float64)
        if w.shape != (meta.dim,):
            raise BadInputError(f"claims rescue: weights are {w.shape}; expected ({meta.dim},)")
        if not (np.isfinite(w).all() and np.isfinite(meta.intercept)):
            raise BadInputError("claims rescue: the weights hold NaN or infinite values")
        self.meta = meta
        self.weights = w

    @property
    def tag(self) -> str:
        """``+rescue-<digest>``: appended to the version stamp of rows written with this model."""
        digest = hashlib.sha256(self.weights.tobytes())
        digest.update(f"{self.meta.intercept!r}:{self.meta.threshold!r}".encode())
        return f"+rescue-{digest.hexdigest()[:8]}"

    def fits(self, encoder: str, dim: int) -> bool:
        """True when this model was fitted for the encoder ``encoder`` of width ``dim``."""
        return self.meta.encoder == encoder and self.meta.dim == dim

    def probability(self, vector: NDArray[np.floating]) -> float:
        """P(the paper studies a scaling law) from its whole-text embedding (any norm)."""
        v = np.asarray(vector, dtype=np.float64).reshape(-1)
        if v.shape != (self.meta.dim,):
            raise BadInputError(f"claims rescue for {self.meta.dim}-d vectors got shape {v.shape}")
        norm = float(np.linalg.norm(v))
        z = float(self.weights @ (v / norm if norm > 0 else v)) + self.meta.intercept
        return float(1.0 / (1.0 + np.exp(-z)))

    def save(self, path: str | Path) -> None:
        """Write ``path`` (.npz: ``weights`` and the metadata as JSON) atomically."""
        with atomic_file(path, "the claims rescue model") as fh:
            meta = np.array(self.meta.model_dump_json())
            np.savez_compressed(fh, weights=self.weights, meta=meta)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RESCUE) -> RescueModel:
        """The rescue saved at ``path`` (default ``data/claims_rescue.npz``).

        Raises:
            BadInputError: the file is missing or is not a rescue model of a consistent shape.
        """

        def build(z: Any) -> RescueModel:
            return cls(RescueMeta.model_validate(json.loads(str(z["meta"]))), z["weights"])

        return load_model_file(path, "claims rescue model", "an .npz with weights and meta", build)


def rescue_sentences(paper: Paper) -> list[SentenceReading]:
    """The paper's own sentences (not background, not a release note) naming a scale quantity:
    what a rescued paper's claims are."""
    return [r for r in explain(paper) if not r.background and not r.release and r.variables]


def needs_vector(paper: Paper, extraction: Extraction) -> bool:
    """Whether the rescue could change ``extraction``: the rules call the paper negative and
    one of its own sentences names a scale quantity (only then is its embedding needed)."""
    return not extraction.studies_scaling_law and bool(rescue_sentences(paper))


def _stamp(extraction: Extraction, version: str) -> Extraction:
    return replace(
        extraction,
        claims=[c.model_copy(update={"extractor_version": version}) for c in extraction.claims],
        exponents=[
            e.model_copy(update={"extractor_version": version}) for e in extraction.exponents
        ],
        extractor_version=version,
    )


def apply_rescue(
    paper: Paper,
    extraction: Extraction,
    vector: NDArray[np.floating] | None,
    model: RescueModel,
) -> Extraction:
    """``extraction`` (the rules' reading of ``paper``) with the rescue applied.

    ``vector`` is the paper's whole-text embedding from the model's encoder; it may be None when
    ``needs_vector`` is false (the rows are then only re-stamped). The result's rows carry
    ``extraction.extractor_version + model.tag``.
    """
    version = extraction.extractor_version + model.tag
    sentences = [] if extraction.studies_scaling_law else rescue_sentences(paper)
    if not sentences:  # the rescue cannot change it (needs_vector is false)
        return _stamp(extraction, version)
    if vector is None:
        raise ValueError(f"claims rescue: paper {paper.paper_id} needs its embedding")
    if model.probability(vector) < model.meta.threshold:
        return _stamp(extraction, version)
    named = read_paper(paper).named_responses
    claims: list[Claim] = []
    exponents: list[Exponent] = []
    for r in sentences:
        rows = sentence_rows(paper, r, list(r.variables), r.form, named, version)
        claims.extend(rows[0])
        exponents.extend(rows[1])
    return replace(
        extraction,
        studies_scaling_law=True,
        claims=claims,
        exponents=exponents,
        extractor_version=version,
    )
