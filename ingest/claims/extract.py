"""Rule-based extraction of scaling claims and exponents from one paper's title and abstract.

A sentence states a claim when it carries a relation cue (a strong one such as "scaling law",
"power law", "scales as", "scaling behavior"; or a weak one such as a trend "improves as ...
increases" together with a scale variable) and is not background (a sentence recalling what
others found, with no first person). Each claim gets one row per response the sentence names;
the paper studies a scaling law when it has a claim, or its title names a law and its abstract
has a relation cue (a title naming "scaling laws" also accepts its law sentences, else its own
sentences varying a scale quantity across a range). In a paper
that has a claim, its own sentences naming a scale quantity with a support cue ("we find", "is
related to", "predict") are further claims. A claim naming no
scale quantity takes the title's, else those the abstract varies, else those a background law is
defined over, else the one the abstract names most often. Form and direction come from
``ingest.claims.trends``. Every decision is a named pattern of ``ingest.claims.lexicon`` or
``ingest.claims.trends`` and ``explain()`` lists which ones fired for a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.claims import lexicon as lx
from ingest.claims.exponents import ExponentMatch, find_exponents
from ingest.claims.prefilter import fold, matches, may_match, register, sub
from ingest.claims.sentences import sentence_spans
from ingest.claims.trends import read_direction, read_form
from ingest.claims.variables import (
    Candidate,
    VariableModel,
    assign_variables,
    candidates,
)
from kb.records import Claim, Exponent, Paper, stable_id
from kb.sentences import MAX_SENTENCES  # re-exported: the extractor's cap is the index's

__all__ = [
    "EXTRACTOR_VERSION",
    "MAX_ABSTRACT_CHARS",
    "MAX_SENTENCES",
    "VARIABLE_MODEL_TAG",
    "Extraction",
    "PaperReading",
    "SentenceReading",
    "explain",
    "extract",
    "read_paper",
]

EXTRACTOR_VERSION = "claims-rules-14"
"""Stamped on every paper label, claim and exponent row; bump when any rule changes output."""

register(
    *(rx for rx, _ in lx.RELATION_PATTERNS.values()),
    *lx.VARIABLE_PATTERNS.values(),
    *lx.RESPONSE_PATTERNS.values(),
    *(rx for _, rx in lx.DOMAIN_PATTERNS),
    lx.BACKGROUND, lx.RELEASE, lx.NOT_A_LAW, lx.HEARSAY, lx.COMPLEXITY, lx.SETUP,
    lx.SCALING_FACTOR, lx.DATA_PROPERTY,
    lx.FIRST_PERSON, lx.PREDICTION_ACCURACY, lx.DOWNSTREAM_EXPLICIT,
    *lx.SUPPORT_PATTERNS.values(),
)  # fmt: skip

SUPPORT_CUES: tuple[str, ...] = (
    "correlated", "depends_on", "finding", "fixed_budget", "given_more", "predicts", "related",
)  # fmt: skip
"""The ``lexicon.SUPPORT_PATTERNS`` that make a sentence of a positive paper a further finding.

Chosen by 5-fold cross-validation on the dev split among four declared approaches (none,
reported results only, stated links only, both): ``benchmarks/cv_claims.py``; data/eval/README.md
gives the figures.
"""

VARIABLE_MODEL_TAG = "+variable-model"
"""Appended to the version stamp of rows whose variables a ``VariableModel`` chose."""

_OPTIMAL_SETTINGS = frozenset({"optimal_hyperparameter", "optimal_model_size"})

MAX_ABSTRACT_CHARS = 20_000
"""Abstracts are a few thousand characters; beyond this only the first part is read."""


@dataclass(frozen=True)
class Extraction:
    """What the extractor read from one paper."""

    paper_id: str
    studies_scaling_law: bool
    domain: str
    claims: list[Claim]
    exponents: list[Exponent]
    extractor_version: str = EXTRACTOR_VERSION


@dataclass
class SentenceReading:
    """Why one sentence did or did not become a claim (the cues that fired)."""

    start: int
    end: int
    relations: list[str] = field(default_factory=list)
    strong: bool = False
    background: bool = False
    first_person: bool = False
    release: bool = False
    variables: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    form: str = "unspecified"
    direction: str = "unspecified"
    exponents: list[ExponentMatch] = field(default_factory=list)
    # support cues (``lexicon.SUPPORT_PATTERNS``), read only where they can matter: a sentence of
    # our own that names a scale quantity and is not a claim by itself
    support: list[str] = field(default_factory=list)

    @property
    def is_claim(self) -> bool:
        """A claim: not background, a relation cue, and a scale variable or exponent; a strong
        cue such as "scaling law" also counts with a performance measure or as our finding."""
        if self.background or self.release or not self.relations:
            return False
        if self.variables or self.exponents:
            return True
        if self.first_person and _OPTIMAL_SETTINGS & set(self.responses):
            return True  # "we predict the largest useful batch size": an optimum across scale
        return self.strong and (bool(self.responses) or self.first_person)


def read_sentence(text: str, start: int, end: int) -> SentenceReading:
    """Apply every cue to ``text[start:end]``.

    Each pattern runs behind ``ingest.claims.prefilter``'s literal gate, which skips only
    searches that cannot match: the reading is the one every pattern would give.
    """
    body = text[start:end]
    folded = fold(body)
    reading = SentenceReading(start, end)
    cues, cues_folded = _sub(lx.HEARSAY, *_sub(lx.NOT_A_LAW, body, folded))
    reading.first_person = matches(lx.FIRST_PERSON, body, folded)
    complexity = matches(lx.COMPLEXITY, cues, cues_folded)
    _read_relations(reading, cues, cues_folded, complexity=complexity)
    if reading.relations:
        # "per-channel scaling coefficients" is a multiplicative factor, not a law of scale: read
        # the cues again without it (only when a cue fired, since most sentences have none).
        factored, factored_folded = _sub(lx.SCALING_FACTOR, cues, cues_folded)
        if factored != cues:
            reading.relations, reading.strong = [], False
            _read_relations(reading, factored, factored_folded, complexity=complexity)
    cites_law = matches(lx.HEARSAY, body, folded)
    reading.release = matches(lx.RELEASE, body, folded)
    reading.background = (matches(lx.BACKGROUND, body, folded) or cites_law) and not (
        reading.first_person and not (cites_law and not reading.strong)
    )
    reading.variables = _variables(body, folded)
    reading.responses = _responses(body, folded)
    reading.form = read_form(body, folded=folded)
    reading.direction = read_direction(body, reading.responses, folded=folded)
    reading.exponents = find_exponents(text, (start, end), folded=folded)
    if reading.variables and not (reading.background or reading.release or reading.is_claim):
        # only a sentence that could be a further finding (see ``_supporting``) needs them
        reading.support = [
            name for name, rx in lx.SUPPORT_PATTERNS.items() if matches(rx, body, folded)
        ]
    return reading


def _read_relations(
    reading: SentenceReading, cues: str, cues_folded: str, *, complexity: bool
) -> None:
    """Add the relation cues of ``cues`` to ``reading``; weak ones not in a cost sentence."""
    for name, (rx, strong) in lx.RELATION_PATTERNS.items():
        if complexity and not strong:
            continue  # "scales linearly in the input size" is a cost, not a law
        if matches(rx, cues, cues_folded):
            reading.relations.append(name)
            reading.strong = reading.strong or strong


def _supporting(
    readings: list[SentenceReading], claim_readings: list[SentenceReading]
) -> list[SentenceReading]:
    """``claim_readings`` with the paper's further findings (see ``SUPPORT_CUES``), in order.

    Only for a paper that already has a claim: a sentence of its own (not background or a
    release note) naming a scale quantity and a support cue in use.
    """
    chosen = {id(r) for r in claim_readings}
    cues = set(SUPPORT_CUES)
    return [
        r
        for r in readings
        if id(r) in chosen
        or (not r.background and not r.release and r.variables and cues.intersection(r.support))
    ]


def _sub(rx: re.Pattern[str], body: str, folded: str, *, scan: bool = True) -> tuple[str, str]:
    """``rx`` replaced by a space in ``body``, with the result's folded text (``scan`` as in
    ``prefilter.fold``: worth it when many patterns follow)."""
    out = sub(rx, " ", body, folded)
    return (body, folded) if out == body else (out, fold(out, scan=scan))


def _variables(body: str, folded: str | None = None) -> list[str]:
    folded = fold(body) if folded is None else folded
    # "optimal batch size" is a response: its words do not make batch size a variable.
    body, folded = _sub(lx.RESPONSE_PATTERNS["optimal_hyperparameter"], body, folded)
    found = [name for name, rx in lx.VARIABLE_PATTERNS.items() if matches(rx, body, folded)]
    # "training data quality" is a property of the data, not its amount: data counts only when
    # named outside such phrases.
    if "data_size" in found:
        rest, rest_folded = _sub(lx.DATA_PROPERTY, body, folded, scan=False)
        if rest != body and not matches(lx.VARIABLE_PATTERNS["data_size"], rest, rest_folded):
            found.remove("data_size")
    # Specific quantities win over the generic words they contain ("fine-tuning data" is data).
    if "finetuning_data" in found and "data_size" in found and not _generic_data(body, folded):
        found.remove("data_size")
    if "inference_compute" in found and "compute" in found and not _training_compute(body, folded):
        found.remove("compute")
    return sorted(found)


def _other_field(title: str, abstract: str) -> bool:
    """Whether the paper names another field (``lexicon.OTHER_FIELD``) and no ML term."""
    text = f"{title}\n{abstract}"
    # ML terms come early in an ML abstract, so this search usually stops after a few words.
    return not lx.ML_CONTEXT.search(text) and bool(lx.OTHER_FIELD.search(text))


def _names_setup(body: str) -> bool:
    return matches(lx.SETUP, body, fold(body, scan=False))


def _most_named(variables: list[str]) -> list[str]:
    """The quantities named in the most sentences (all of them on a tie)."""
    if not variables:
        return []
    top = max(variables.count(v) for v in variables)
    return sorted({v for v in variables if variables.count(v) == top})


def _generic_data(body: str, folded: str) -> bool:
    return _still_named(body, folded, "data_size", "finetuning_data")


def _training_compute(body: str, folded: str) -> bool:
    return _still_named(body, folded, "compute", "inference_compute")


def _still_named(body: str, folded: str, variable: str, specific: str) -> bool:
    """Whether ``variable`` is named in ``body`` outside the matches of ``specific``."""
    rest, rest_folded = _sub(lx.VARIABLE_PATTERNS[specific], body, folded, scan=False)
    return matches(lx.VARIABLE_PATTERNS[variable], rest, rest_folded)


def _responses(body: str, folded: str | None = None) -> list[str]:
    """Measures the sentence names; bare "performance" is returned as ``GENERIC``."""
    folded = fold(body) if folded is None else folded
    body, folded = _sub(lx.PREDICTION_ACCURACY, body, folded)
    found = [name for name, rx in lx.RESPONSE_PATTERNS.items() if matches(rx, body, folded)]
    if "downstream_performance" in found and not matches(lx.DOWNSTREAM_EXPLICIT, body, folded):
        found[found.index("downstream_performance")] = GENERIC
    specific = [r for r in found if r != GENERIC]
    # A sentence naming loss or accuracy besides "performance" is about that measure.
    return sorted(specific or found)


GENERIC = "performance"
"""Marker for an unnamed measure ("performance"); resolved per paper by ``_resolve``."""


def _resolve(responses: list[str], named: list[str]) -> list[str]:
    """A claim's responses with ``GENERIC`` made concrete.

    An unnamed measure means the measure (loss, error or accuracy) the paper's claims name most
    often (the first named on a tie); with none named, performance on tasks.
    """
    measures = [r for r in named if r in ("loss", "error", "accuracy")]
    concrete = (
        max(dict.fromkeys(measures), key=measures.count) if measures else "downstream_performance"
    )
    out = {concrete if r == GENERIC else r for r in responses} or {concrete}
    return sorted(out)


def explain(paper: Paper) -> list[SentenceReading]:
    """Every sentence of the abstract with the cues that fired on it."""
    text = paper.abstract[:MAX_ABSTRACT_CHARS]
    return [read_sentence(text, s, e) for s, e in sentence_spans(text)[:MAX_SENTENCES]]


def extract(paper: Paper, *, model: VariableModel | None = None) -> Extraction:
    """Labels, claims and exponents of one paper; never raises on odd text, never invents.

    A scaling paper's variables are the union of its claim sentences' (the rules). With
    ``model`` (``ingest.claims.variables``, opt-in: it did not beat the rules in nested
    cross-validation on dev, see data/eval/README.md) a per-(paper, quantity) logistic decision
    chooses them instead, and every row is stamped ``EXTRACTOR_VERSION + VARIABLE_MODEL_TAG``.
    """
    reading = read_paper(paper, with_candidates=model is not None)
    version = EXTRACTOR_VERSION
    claim_variables = reading.claim_variables
    if model is not None:
        version += VARIABLE_MODEL_TAG
        if reading.studies:
            claim_variables = assign_variables(claim_variables, model.choose(reading.candidates))
    claims: list[Claim] = []
    exponents: list[Exponent] = []
    text = paper.abstract
    for r, variables in zip(reading.claim_readings, claim_variables, strict=True):
        form = r.form
        if form == "unspecified" and "scaling_law" in r.relations:
            form = reading.paper_form
        rows = sentence_rows(paper, r, variables, form, reading.named_responses, version)
        claims.extend(rows[0])
        exponents.extend(rows[1])
    return Extraction(
        paper_id=paper.paper_id,
        studies_scaling_law=reading.studies,
        domain=classify_domain(paper.title, text[:MAX_ABSTRACT_CHARS]),
        claims=claims,
        exponents=exponents,
        extractor_version=version,
    )


def sentence_rows(
    paper: Paper,
    r: SentenceReading,
    variables: list[str],
    form: str,
    named_responses: list[str],
    version: str,
) -> tuple[list[Claim], list[Exponent]]:
    """The claim rows (one per response) and exponent rows of one claim sentence ``r``."""
    text = paper.abstract
    claims = [
        Claim(
            claim_id=stable_id(paper.paper_id, str(r.start), response),
            paper_id=paper.paper_id,
            response=response,
            variables=variables,
            form=form,
            direction=r.direction,
            evidence=text[r.start : r.end],
            span_start=r.start,
            span_end=r.end,
            extractor_version=version,
        )
        for response in _resolve(r.responses, named_responses)
    ]
    exponents = [_exponent(paper, text, match, r, claims[0], version) for match in r.exponents]
    return claims, exponents


@dataclass(frozen=True)
class PaperReading:
    """What the rules read of one paper, before the variables are chosen."""

    studies: bool
    claim_readings: list[SentenceReading]
    claim_variables: list[list[str]]
    """Per claim sentence, the rules' variables (its own, else the paper's fallback)."""
    candidates: list[Candidate]
    """Every quantity the title or abstract names, with its features (when asked for)."""
    named_responses: list[str]
    paper_form: str

    @property
    def rule_variables(self) -> list[str]:
        """The union of the rules' claim variables (what ``claims-rules-3`` reported)."""
        return sorted({v for vs in self.claim_variables for v in vs})


def read_paper(paper: Paper, *, with_candidates: bool = False) -> PaperReading:
    """Apply the rules to one paper: its claim sentences and (``with_candidates``, for a
    scaling paper) every quantity it names with its features."""
    readings = explain(paper)
    text = paper.abstract
    title_law = bool(lx.TITLE_LAW.search(paper.title))
    claim_readings = [r for r in readings if r.is_claim]
    if not claim_readings and title_law:
        claim_readings = [r for r in readings if r.relations and r.variables and not r.background]
    if not claim_readings and lx.TITLE_SCALING_LAW.search(paper.title):
        # The title says the paper is about scaling laws: its sentences naming one state it,
        # even when they open like background ("Scaling laws for X are ...").
        claim_readings = [r for r in readings if r.strong and not r.release]
        if not claim_readings:
            # ... and so are its own sentences varying a scale quantity across a range ("models
            # ranging from 44M to 300M parameters"): the range the laws are fitted over
            claim_readings = [
                r for r in readings
                if r.variables and not r.background and not r.release
                and _names_setup(text[r.start : r.end])
            ]  # fmt: skip
    if not claim_readings:
        # Our own finding about an optimal setting across a scale quantity ("we find the optimal
        # batch size for each model size"), stated without a relation cue: the guide counts an
        # optimal setting versus scale as a law (chosen by CV in fit_claim_variables.py --recall).
        claim_readings = [
            r for r in readings
            if r.first_person and r.variables and _OPTIMAL_SETTINGS & set(r.responses)
            and not r.background and not r.release
        ]  # fmt: skip
    if claim_readings and _other_field(paper.title, paper.abstract[:MAX_ABSTRACT_CHARS]):
        claim_readings = []  # another field's power laws (the guide: astrophysics, CFT)
    studies = bool(claim_readings)
    if studies:
        claim_readings = _supporting(readings, claim_readings)
    # Measures named anywhere outside background sentences resolve a bare "performance".
    named = [r for reading in readings if not reading.background for r in reading.responses]
    # A claim naming "the (scaling) law" without its shape has the one shape the paper's claims
    # state, when they state exactly one ("we fit a power law ... the law predicts ...").
    forms = {r.form for r in claim_readings} - {"unspecified"}
    paper_form = forms.pop() if len(forms) == 1 else "unspecified"
    if not studies:
        return PaperReading(False, [], [], [], named, paper_form)
    title_variables = _variables(paper.title)
    fallback = _fallback_variables(text, readings, title_variables)
    claim_variables = [r.variables or fallback for r in claim_readings]
    rule_variables = sorted({v for vs in claim_variables for v in vs})
    found = (
        candidates(text[:MAX_ABSTRACT_CHARS], title_variables, readings, claim_readings,
                   rule_variables, _variables)
        if with_candidates else []
    )  # fmt: skip
    return PaperReading(True, claim_readings, claim_variables, found, named, paper_form)


def _fallback_variables(
    text: str, readings: list[SentenceReading], title_variables: list[str]
) -> list[str]:
    """The quantities a claim naming none is about.

    The ones the title names, else those the abstract varies, else those a background law is
    defined over, else any the abstract names (most often named first).
    """
    if title_variables:
        return title_variables
    # Quantities the abstract varies ("models from 10M to 8B parameters") outside background.
    setup_variables = sorted(
        {v for r in readings if not r.background and _names_setup(text[r.start : r.end])
         for v in r.variables}
    )  # fmt: skip
    if setup_variables:
        return setup_variables
    # Then the quantities a background sentence defines the law over.
    defined_variables = sorted(
        {v for r in readings if r.background and r.strong for v in r.variables}
    )
    if defined_variables:
        return defined_variables
    # Then any quantity the abstract names at all, in our own sentences before background ones.
    return _most_named(
        [v for r in readings if not r.background and not r.release for v in r.variables]
        or [v for r in readings for v in r.variables]
    )


def _exponent(
    paper: Paper,
    text: str,
    match: ExponentMatch,
    reading: SentenceReading,
    claim: Claim,
    version: str,
) -> Exponent:
    variable = match.variable
    if variable is None:
        variable = reading.variables[0] if len(reading.variables) == 1 else "other"
    return Exponent(
        exponent_id=stable_id(paper.paper_id, "exp", str(match.start), str(match.end)),
        paper_id=paper.paper_id,
        claim_id=claim.claim_id,
        symbol=match.symbol,
        value=match.value,
        variable=variable,
        text=text[match.start : match.end],
        span_start=match.start,
        span_end=match.end,
        extractor_version=version,
    )


def classify_domain(title: str, abstract: str) -> str:
    """The first domain named in the title, else the one the abstract names most often."""
    title_folded = fold(title, scan=False)
    for name, rx in lx.DOMAIN_PATTERNS:
        if matches(rx, title, title_folded):
            return name
    abstract_folded = fold(abstract, scan=False)
    best, best_count = "other", 0
    for name, rx in lx.DOMAIN_PATTERNS:
        if not may_match(rx, abstract_folded):
            continue
        count = len(rx.findall(abstract))
        if count > best_count:
            best, best_count = name, count
    return best
