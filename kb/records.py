"""Typed records, one pydantic model per DuckDB table.

Each model names its table in ``table`` and its primary key in ``key``; ``kb.store`` holds the
matching ``CREATE TABLE`` and ``tests/test_store.py`` checks that the two agree. Ids are derived,
never counted (see ``paper_id_for``), so ingesting the same input twice is a no-op upsert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "DIRECTIONS",
    "DOMAINS",
    "FORMS",
    "RESPONSES",
    "VARIABLES",
    "Appearance",
    "Claim",
    "Dataset",
    "Exponent",
    "FitRecord",
    "Paper",
    "Point",
    "Record",
    "ReportedLaw",
    "clean_title",
    "normalize_arxiv_id",
    "normalize_title",
    "normalize_whitespace",
    "paper_id_for",
    "stable_id",
]

DOMAINS = (
    "language", "vision", "multimodal", "speech", "robotics", "time_series", "science",
    "recsys", "rl", "theory", "other",
)  # fmt: skip
RESPONSES = (
    "loss", "error", "accuracy", "downstream_performance", "optimal_hyperparameter",
    "optimal_model_size", "efficiency", "other",
)  # fmt: skip
VARIABLES = (
    "model_size", "data_size", "compute", "inference_compute", "training_steps", "batch_size",
    "width", "depth", "num_experts", "precision", "datastore_size", "finetuning_data", "other",
)  # fmt: skip
FORMS = (
    "power_law", "power_law_plus_constant", "log_linear", "exponential", "broken_power_law",
    "sigmoidal", "other", "unspecified",
)  # fmt: skip
DIRECTIONS = ("improves", "worsens", "non_monotonic", "saturates", "unspecified")

_NOT_ALNUM = re.compile(r"[\W_]+")
# Modern ids (2101.00001, optional version) and old-style ids (hep-th/9901001).
# The old-style archive name starts only where a run of its letters starts (the lookbehind):
# a match from inside the run implies one from its start, which ``search`` finds first, so the
# ids read are the same, but a long run of letters that is no id ("a" * 16000, pasted into
# `kb search`) is scanned once instead of once per letter (30-56 s, quadratic).
_ARXIV = re.compile(
    r"(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?"
    r"(?P<id>\d{4}\.\d{4,5}|(?<![a-z\-])[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?$",
    re.IGNORECASE,
)


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends.

    ``str.split()`` splits on exactly the characters ``\\s`` matches (``str.isspace``), and is
    4x faster than ``re.sub`` on an abstract: it runs on every title and abstract ingested.
    """
    return " ".join(text.split())


# LaTeX commands that only set a font or size. Listings print them with the backslash and the
# braces stripped ("Inference Scaling {\\scriptsize F}Laws" arrives as "scriptsizeFLaws"); the
# arXiv API keeps them. Without a backslash only names that are no English word are removed,
# and only where glued to what they set (a capital or a brace): "Tiny Models" stays.
_FONT_COMMANDS = (
    "scriptsize|footnotesize|normalsize|textsc|textbf|textit|texttt|textrm|textsf|textup|"
    "mathrm|mathbf|mathsf|mathit|mathtt"
)
_SIZES = "tiny|small|large|Large|LARGE|huge|Huge|em|bf|it|sc|rm"
_FONT_BRACED = re.compile(rf"\{{\\(?:{_FONT_COMMANDS}|{_SIZES})(?![A-Za-z])\s*([^{{}}]*)\}}")
_FONT_ARG = re.compile(
    rf"(?:\\(?:{_FONT_COMMANDS}|emph|underline)|(?<![A-Za-z\\])(?:{_FONT_COMMANDS}))"
    rf"\s*\{{([^{{}}]*)\}}"
)
_FONT_GLUED = re.compile(rf"(?<![A-Za-z\\])(?:{_FONT_COMMANDS})(?=[A-Z])")


def clean_title(title: str) -> str:
    """``title`` without LaTeX font and size commands (their text kept), whitespace collapsed.

    >>> clean_title("Inference Scaling scriptsizeFLaws: The Limits")
    'Inference Scaling FLaws: The Limits'
    >>> clean_title(r"Inference Scaling {\\scriptsize F}Laws")
    'Inference Scaling FLaws'
    >>> clean_title(r"On textit{Capacity} and \\textbf{Tiny} Models")
    'On Capacity and Tiny Models'
    >>> clean_title("Tiny Models, large Gains")  # English words without a backslash stay
    'Tiny Models, large Gains'
    """
    text = _FONT_BRACED.sub(r"\1", title)
    text = _FONT_ARG.sub(r"\1", text)
    text = normalize_whitespace(_FONT_GLUED.sub("", text))
    return text or normalize_whitespace(title)  # a title that is only a command stays as it was


def normalize_title(title: str) -> str:
    """Title as an identity key: NFKC, case-folded, punctuation dropped, spaces collapsed.

    Font commands are dropped first (:func:`clean_title`), so a listing's "scriptsizeFLaws" and
    the arXiv API's "{\\scriptsize F}Laws" give the same key as "FLaws".
    """
    text = unicodedata.normalize("NFKC", clean_title(title)).casefold()
    # [\W_] is exactly "not str.isalnum()" (re's \w is isalnum() or "_"); one regex pass
    # instead of a Python loop per character.
    return _NOT_ALNUM.sub(" ", text).strip()


def normalize_arxiv_id(raw: str) -> str | None:
    """Return the bare arXiv id (no prefix, no version), or None if ``raw`` is not one.

    >>> normalize_arxiv_id("http://arxiv.org/abs/2203.15556v2")
    '2203.15556'
    """
    match = _ARXIV.search(raw.strip())
    return match.group("id") if match else None


def stable_id(*parts: str, length: int = 16) -> str:
    """A short hex digest of ``parts``: the derived id of a row."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def paper_id_for(title: str, arxiv_id: str | None = None) -> str:
    """``arxiv:<id>`` when the arXiv id is known, else ``t:<hash of the normalised title>``."""
    if arxiv_id:
        norm = normalize_arxiv_id(arxiv_id)
        if norm:
            return f"arxiv:{norm}"
    return f"t:{stable_id(normalize_title(title))}"


class Record(BaseModel):
    """Base of every stored record: frozen, strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    table: ClassVar[str]
    key: ClassVar[tuple[str, ...]]

    def row(self) -> dict[str, Any]:
        """The record as a plain dict, in field order (what the store writes)."""
        return self.model_dump()


class Paper(Record):
    """A paper: one row however many listings it appears in."""

    table: ClassVar[str] = "papers"
    key: ClassVar[tuple[str, ...]] = ("paper_id",)

    paper_id: str = Field(description="'arxiv:<id>' when known, else 't:<title hash>'")
    arxiv_id: str | None = Field(None, description="bare arXiv id without version, if known")
    title: str = Field(description="title as written, whitespace normalised")
    abstract: str = Field("", description="abstract as written, whitespace normalised")
    authors: list[str] = Field(default_factory=list, description="author names, if given")
    n_authors: int | None = Field(None, description="author count, from the listing or authors")
    published: dt.date | None = Field(None, description="publication date; None if not given")
    upvotes: int | None = Field(None, description="listing upvotes, if shown")
    organization: str | None = Field(None, description="organisation line of the listing")
    categories: list[str] = Field(default_factory=list, description="arXiv categories")
    studies_scaling_law: bool | None = Field(
        None, description="abstract reports or analyses a quantitative scaling relationship"
    )
    domain: str | None = Field(None, description=f"one of {', '.join(DOMAINS)}")
    extractor_version: str | None = Field(None, description="claim extractor that labelled it")

    @field_validator("abstract")
    @classmethod
    def _squash(cls, value: str) -> str:
        return normalize_whitespace(value)

    @field_validator("title")
    @classmethod
    def _clean_title(cls, value: str) -> str:
        return clean_title(value)


class Appearance(Record):
    """One entry of one listing file: where a paper was seen."""

    table: ClassVar[str] = "appearances"
    key: ClassVar[tuple[str, ...]] = ("source", "position")

    paper_id: str
    source: str = Field(description="the listing file, as an absolute path")
    position: int = Field(description="1-based entry number within the file")
    line: int = Field(description="1-based line of the entry's title in the file")
    format: str = Field(description="input format the file was read as")
    raw_date: str | None = Field(None, description="date text as the listing printed it")


class Claim(Record):
    """A finding stated in an abstract, with the sentence that states it."""

    table: ClassVar[str] = "claims"
    key: ClassVar[tuple[str, ...]] = ("claim_id",)

    claim_id: str
    paper_id: str
    response: str = Field(description=f"what scales: one of {', '.join(RESPONSES)}")
    variables: list[str] = Field(description=f"scale quantities, from {', '.join(VARIABLES)}")
    form: str = Field(description=f"functional form: one of {', '.join(FORMS)}")
    direction: str = Field(description=f"one of {', '.join(DIRECTIONS)}")
    evidence: str = Field(description="exact abstract text of the sentence that states it")
    span_start: int = Field(description="character offset of the evidence in the abstract")
    span_end: int = Field(description="end offset (exclusive) of the evidence in the abstract")
    extractor_version: str


class Exponent(Record):
    """A number stated as the exponent or slope of a law."""

    table: ClassVar[str] = "exponents"
    key: ClassVar[tuple[str, ...]] = ("exponent_id",)

    exponent_id: str
    paper_id: str
    claim_id: str | None = None
    symbol: str | None = Field(None, description="exponent as the paper names it, e.g. 'alpha'")
    value: float
    variable: str = Field(description=f"the scale quantity, from {', '.join(VARIABLES)}")
    text: str = Field(description="exact abstract text the value was read from")
    span_start: int
    span_end: int
    extractor_version: str


class Dataset(Record):
    """A folder of released scaling data, with its provenance."""

    table: ClassVar[str] = "datasets"
    key: ClassVar[tuple[str, ...]] = ("name",)

    name: str = Field(description="the folder name, e.g. 'epoch_chinchilla'")
    arxiv_id: str | None = Field(None, description="the paper the data belongs to")
    paper_title: str | None = None
    source_repo: str | None = Field(None, description="public repository URL of the original")
    source_commit: str | None = None
    source_paths: list[str] = Field(default_factory=list, description="paths in that repo")
    license: str | None = None
    caveats: str = ""
    n_points: int = 0
    path: str = Field(description="local folder it was read from")
    adapter_version: str


class Point(Record):
    """One measured value of a released dataset, in the common schema."""

    table: ClassVar[str] = "points"
    key: ClassVar[tuple[str, ...]] = ("point_id",)

    point_id: str = Field(description="derived from dataset, file and row")
    dataset: str
    run_key: str | None = Field(None, description="groups the points of one training run")
    n_params: float | None = Field(None, description="model size, parameters")
    n_params_kind: str | None = Field(None, description="'total', 'non_embedding' or 'unknown'")
    n_tokens: float | None = Field(None, description="training tokens")
    compute_flops: float | None = Field(None, description="training compute, FLOP")
    compute_method: str | None = Field(None, description="how compute was counted, e.g. '6ND'")
    metric: str = Field(description="what was measured, e.g. 'val_loss'")
    value: float
    unit: str = Field(description="unit of value, e.g. 'nats/token', 'fraction'")
    step: int | None = Field(None, description="training step, where the data is a curve")
    derived: list[str] = Field(default_factory=list, description="fields the adapter derived")
    source_file: str = Field(description="file within the dataset folder")
    source_row: int = Field(description="1-based data row in that file")
    extras: dict[str, Any] = Field(default_factory=dict, description="the remaining columns")


class ReportedLaw(Record):
    """A law as a paper reported it (the curated registry in data/)."""

    table: ClassVar[str] = "laws"
    key: ClassVar[tuple[str, ...]] = ("law_id",)

    law_id: str = Field(description="registry key, e.g. 'hoffmann2022_approach3'")
    arxiv_id: str
    title: str
    year: int
    name: str = Field(description="short human name of the law")
    form: str | None = Field(None, description="law form in kb.laws it can be refit with")
    formula: str
    params: dict[str, float] = Field(description="fitted parameter name -> value")
    intervals: dict[str, list[float]] = Field(
        default_factory=dict, description="parameter -> [low, high] as reported"
    )
    derived: dict[str, float] = Field(default_factory=dict, description="e.g. a, b")
    conventions: dict[str, str] = Field(
        default_factory=dict, description="what N counts, compute counting, loss units, data"
    )
    dataset: str | None = Field(None, description="our dataset it was fitted on, if any")
    source: str = Field(description="exact location: section, equation, table")
    verified: bool = Field(description="every number checked against the paper itself")
    notes: str = ""


class FitRecord(Record):
    """A stored fit of a law form to a dataset."""

    table: ClassVar[str] = "fits"
    key: ClassVar[tuple[str, ...]] = ("fit_id",)

    fit_id: str = Field(description="derived from dataset, law, recipe, options and seed")
    dataset: str
    law: str
    recipe: str
    metric: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, float]
    intervals: dict[str, list[float]] = Field(default_factory=dict)
    derived: dict[str, float] = Field(default_factory=dict)
    objective: float
    n_points: int
    n_starts: int
    n_converged: int
    seed: int
    holdout: dict[str, Any] | None = None
    version: str
    created_at: dt.datetime
