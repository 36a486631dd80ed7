"""Whether a quantity of two laws can be put on one axis, and why not.

A verdict is ``direct`` (same quantity, same conventions), ``converted`` (comparable after a stated
conversion, which this module names), or ``not_comparable`` (with the reasons). The rules are
plain functions, applied in :data:`RULES` order; each reads the two laws' :class:`Profile`
(their conventions, normalised from free text) and their derived values, and returns findings:

- ``block``: a reason the values cannot be compared (different form, a value imposed by the
  form (a = b = 0.5 when alpha = beta is tied), a value the registry marks as no estimate
  (``conventions.not_comparable``: a setting biased on purpose), N counted with vs without
  embeddings, compute counted differently, different metric, response or modality);
- ``convert``: an exact conversion that puts both on one axis (units, ``b = 1 − a``);
- ``caveat``: a difference worth knowing that does not prevent comparison (different data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.derive import (
    NOT_PERFORMANCE,
    QUANTITIES,
    WITH_IRREDUCIBLE,
    WITHOUT_IRREDUCIBLE,
    Derived,
    LawView,
    exponents_tied,
)

__all__ = [
    "RULES",
    "Finding",
    "Profile",
    "Verdict",
    "flagged",
    "profile_of",
    "verdict",
]

Kind = Literal["direct", "converted", "not_comparable"]
NParams = Literal["total", "non_embedding", "with_head", "flops_per_token", "effective", "unknown"]

# Quantities that depend on how N is counted / how compute is counted.
N_DEPENDENT = frozenset({"a", "b", "alpha", "loss_compute", "tokens_per_param"})
C_DEPENDENT = frozenset({"a", "b", "loss_compute", "tokens_per_param"})
LOSS_EXPONENTS = frozenset({"alpha", "beta", "loss_compute"})

PEARCE_SONG = "Pearce & Song 2024, arXiv:2406.12907"
PORIAN = "Porian et al. 2024, arXiv:2406.19146"


class Profile(BaseModel):
    """A law's conventions, normalised: what N and C count, the metric, the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_params: NParams = Field(
        description="what N counts; 'with_head': non-embedding plus the output layer (Porian)"
    )
    compute_basis: Literal["ND", "counted", "unknown"] = Field(
        description="'ND': C = k·N·D for the law's N; 'counted': FLOPs counted per layer "
        "(attention, last layer), not proportional to N·D"
    )
    compute_unit: Literal["FLOP", "PF-day", "MAC", "unknown"]
    metric: Literal["loss", "perplexity", "error", "accuracy", "other", "unknown"]
    loss_unit: Literal["nats", "bits", "bits_per_byte", "unknown"]
    data: str | None = None
    domain: str | None = None
    irreducible: bool | None = Field(None, description="the form has an irreducible term E")
    schedule: str | None = Field(None, description="learning-rate schedule, as stated")
    response: str | None = Field(
        None,
        description="what the loss is measured on, where it is not the pre-training loss on "
        "held-out text (the registry's `conventions.response`, e.g. a downstream task's loss on "
        "its correct answer); None: the pre-training loss",
    )


class Finding(BaseModel):
    """One rule's outcome for one pair."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    effect: Literal["block", "convert", "caveat"]
    text: str


class Verdict(BaseModel):
    """Whether ``quantity`` of two laws is comparable, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: str
    left: str = Field(description="source_id of the first law or fit")
    right: str = Field(description="source_id of the second (usually the reference)")
    kind: Kind
    reasons: list[str] = Field(default_factory=list, description="why not comparable")
    conversions: list[str] = Field(default_factory=list, description="conversions applied")
    caveats: list[str] = Field(default_factory=list, description="differences that remain")


def _first(conv: dict[str, str], *keys: str) -> str:
    for key in keys:
        if conv.get(key):
            return conv[key].lower()
    return ""


def _n_params(raw: str) -> NParams:
    """What N counts, from text like 'non_embedding', 'total (embeddings included)'."""
    text = raw.replace("_", " ").replace("-", " ")
    if " or " in text or "both" in text or "varies" in text:
        return "unknown"
    if any(w in text for w in ("per token", "flops/token", "flop/token")):
        return "flops_per_token"
    if any(w in text for w in ("plus head", "output layer", "last (unemb", "with head")):
        return "with_head"
    if any(w in text for w in ("non embed", "nonembed", "excluding embed")):
        return "non_embedding"
    if "effective" in text or "attention" in text:
        return "effective"
    if any(w in text for w in ("total", "including embed", "all param", "with embed")):
        return "total"
    return "unknown"


def _compute_basis(text: str) -> Literal["ND", "counted", "unknown"]:
    """'ND' when compute is k·N·D (6ND, 6N per token, M·D), 'counted' when it adds terms."""
    squashed = text.replace(" ", "").replace("·", "").replace("*", "").replace("≈", "")
    if any(w in text for w in ("plus", "attention")):
        return "counted"
    # "6ND with N including the last layer" is still k·N·D: what N counts is a separate rule.
    if _SIX_N_D.search(text) or any(w in squashed for w in ("6npertoken", "=md", "=nd", "6nbs")):
        return "ND"
    if any(w in text for w in ("last-layer", "last layer", "per-layer", "counted", "exact")):
        return "counted"
    return "unknown"


_SIX_N_D = re.compile(r"6\s*[*·×]?\s*n\w*\s*[*·×]?\s*d\b")


def _compute_unit(text: str) -> Literal["FLOP", "PF-day", "MAC", "unknown"]:
    if "pf-day" in text or "pf day" in text or "petaflop" in text:
        return "PF-day"
    if "mac" in text:
        return "MAC"
    if "flop" in text or "6nd" in text.replace(" ", ""):
        return "FLOP"
    return "unknown"


def _metric(text: str) -> Literal["loss", "perplexity", "error", "accuracy", "other", "unknown"]:
    if not text:
        return "unknown"
    if any(w in text for w in NOT_PERFORMANCE):
        return "other"
    for word, family in (("perplex", "perplexity"), ("error", "error"), ("accura", "accuracy")):
        if word in text:
            return family  # type: ignore[return-value]
    if any(
        w in text for w in ("loss", "cross-entropy", "cross entropy", "nats", "bits", "likelihood")
    ):
        return "loss"
    return "other"


def _loss_unit(text: str) -> Literal["nats", "bits", "bits_per_byte", "unknown"]:
    if "per byte" in text or "bpb" in text or "bits/byte" in text:
        return "bits_per_byte"
    if "bit" in text:
        return "bits"
    if "nat" in text:
        return "nats"
    return "unknown"


def _data(text: str) -> str:
    """The corpus named first (before details after ';', ',' or '(')."""
    for sep in (";", ",", "("):
        text = text.split(sep)[0]
    return text.strip()


def profile_of(view: LawView) -> Profile:
    """Normalise a law's free-text conventions (keys like 'n_params', 'compute', 'loss')."""
    conv = {k.lower(): v for k, v in view.conventions.items()}
    metric_text = _first(conv, "loss", "metric", "loss_units", "units")
    irreducible: bool | None = None
    if view.form in WITH_IRREDUCIBLE:
        irreducible = True
    elif view.form in WITHOUT_IRREDUCIBLE:
        irreducible = False
    compute_text = _first(conv, "compute", "c", "flops", "compute_method")
    n_text = _first(conv, "n_counts", "n_params", "n", "parameters", "model_size")
    n_params = _n_params(n_text)
    if not n_text and _n_params(compute_text) in ("non_embedding", "with_head", "effective"):
        # A compute convention often names the N it multiplies ("6 * N_nonembed * D").
        n_params = _n_params(compute_text)
    return Profile(
        n_params=n_params,
        compute_basis=_compute_basis(compute_text),
        compute_unit=_compute_unit(compute_text),
        metric=_metric(metric_text),
        loss_unit=_loss_unit(metric_text),
        data=_data(_first(conv, "data", "training_data", "corpus")) or view.dataset,
        domain=_first(conv, "domain", "modality") or None,
        irreducible=irreducible,
        schedule=_first(conv, "schedule", "lr_schedule") or None,
        # As written (task names keep their case): it is shown, and compared whole.
        response=next((v for k, v in view.conventions.items() if k.lower() == "response"), None)
        or None,
    )


Pair = tuple[LawView, Profile, Derived | None]
Rule = Callable[[str, Pair, Pair], list[Finding]]


def _name(view: LawView) -> str:
    return view.source_id


def rule_defined(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Both laws' forms must determine the quantity."""
    return [
        Finding(rule="defined", effect="block",
                text=f"{_name(v)}: its form ({v.form or 'unspecified'}) and reported values "
                f"do not determine {q}")
        for v, _, d in (x, y) if d is None
    ]  # fmt: skip


def flagged(view: LawView, quantity: str) -> str | None:
    """Why the registry marks ``quantity`` of this law as no value to compare, or None.

    ``conventions.not_comparable`` reads ``"QUANTITY[, QUANTITY...]: why"``: a value the law's
    own setting makes meaningless whatever it is compared with (Porian et al.'s 'Reproducing
    Kaplan et al.' settings, biased on purpose, give 0.004-0.007 tokens per parameter at 1e24
    FLOPs). A flag with no quantity list (no ':') applies to every quantity.
    """
    text = next((v for k, v in view.conventions.items() if k.lower() == "not_comparable"), "")
    if not text.strip():
        return None
    head, sep, why = text.partition(":")
    names = {n.strip() for n in head.split(",")}
    if not sep or not names <= set(QUANTITIES):  # no list: the whole text is the reason
        return text.strip()
    return why.strip() if quantity in names else None


def rule_flagged(q: str, x: Pair, y: Pair) -> list[Finding]:
    """A law the registry marks as giving no comparable value of ``q`` (``flagged``)."""
    return [
        Finding(rule="flagged", effect="block", text=f"{_name(v)}: {why}")
        for v, _, _ in (x, y)
        if (why := flagged(v, q))
    ]


def rule_imposed(q: str, x: Pair, y: Pair) -> list[Finding]:
    """A law that ties alpha = beta has a = b = 0.5 by construction: not an estimate to compare.

    Its alpha and beta are one exponent fitted for both N and D: comparable, with that caveat.
    """
    tied = [v for v, _, _ in (x, y) if exponents_tied(v)]
    if q in ("a", "b"):
        return [Finding(rule="imposed", effect="block",
                        text=f"{_name(v)}: a = b = 0.5 is imposed by its form (alpha = beta tied), "
                        "not estimated from its data") for v in tied]  # fmt: skip
    if q in ("alpha", "beta"):
        return [Finding(rule="imposed", effect="caveat",
                        text=f"{_name(v)}: alpha = beta tied, one exponent fitted for both N "
                        "and D") for v in tied]  # fmt: skip
    return []


def rule_domain(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Different modalities (language vs vision) are different regimes, not one axis."""
    dx, dy = x[1].domain, y[1].domain
    if dx and dy and dx != dy:
        return [Finding(rule="domain", effect="block", text=f"different modality: {dx} vs {dy}")]
    return []


def rule_metric(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Loss, error, accuracy and perplexity are not power-law transforms of one another."""
    mx, my = x[1].metric, y[1].metric
    if "unknown" in (mx, my):
        return [Finding(rule="metric", effect="caveat", text="a law does not state its metric")]
    if mx != my:
        return [Finding(rule="metric", effect="block",
                        text=f"different metric: {mx} vs {my} (a power law in one is not a "
                        "power law in the other)")]  # fmt: skip
    return []


PRETRAINING_RESPONSE = "the pre-training loss on held-out text"


def rule_response(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Two losses of different responses (a task's loss on its answer vs the pre-training loss).

    The loss of the correct answer of a downstream task (Bhagia et al. 2024's "task loss") is a
    different quantity from the language-model loss, not the same one in other units: an exponent
    of a law of one is not an exponent of the other. Only losses of one metric are judged here
    (different metrics are :func:`rule_metric`'s); a law without ``conventions.response`` is
    taken to model the pre-training loss.
    """
    if x[1].metric != y[1].metric or "unknown" in (x[1].metric, y[1].metric):
        return []
    rx, ry = x[1].response, y[1].response
    if rx == ry:
        return []
    return [Finding(rule="response", effect="block",
                    text=f"different response: {rx or PRETRAINING_RESPONSE} ({_name(x[0])}) vs "
                    f"{ry or PRETRAINING_RESPONSE} ({_name(y[0])}); an exponent of a law of one "
                    "is not an exponent of the other, whatever the units")]  # fmt: skip


def rule_loss_unit(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Loss in bits vs nats (or per byte vs per token) differs by a constant factor."""
    ux, uy = x[1].loss_unit, y[1].loss_unit
    if "unknown" in (ux, uy) or ux == uy:
        return []
    factor = "ln 2" if {ux, uy} == {"nats", "bits"} else "the tokenizer's bytes per token"
    return [Finding(rule="loss_unit", effect="convert",
                    text=f"loss in {ux} vs {uy}: a constant factor ({factor}) that rescales E, A "
                    "and B but leaves every exponent unchanged")]  # fmt: skip


def rule_irreducible(q: str, x: Pair, y: Pair) -> list[Finding]:
    """With vs without an irreducible term: loss exponents mean different things."""
    ix, iy = x[1].irreducible, y[1].irreducible
    if ix is None or iy is None or ix == iy:
        return []
    with_e, without = (x[0], y[0]) if ix else (y[0], x[0])
    text = (
        f"different form: {_name(with_e)} has an irreducible term E, {_name(without)} does not; "
        "a pure power law folds E into a smaller effective exponent of the total loss"
    )
    if q in LOSS_EXPONENTS:
        return [Finding(rule="irreducible", effect="block", text=text)]
    return [Finding(rule="irreducible", effect="caveat",
                    text=text + "; fits without E also weight small, early-stopped runs "
                    "differently, which moves the implied optimum")]  # fmt: skip


def rule_n_params(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Non-embedding vs total N: the embedding share falls with scale, so no constant converts."""
    nx, ny = x[1].n_params, y[1].n_params
    if "unknown" in (nx, ny):
        if nx == ny:
            return []
        missing = _name(x[0]) if nx == "unknown" else _name(y[0])
        return [
            Finding(rule="n_params", effect="caveat", text=f"{missing} does not say how N counts")
        ]
    if nx == ny:
        return []
    if {nx, ny} == {"with_head", "total"}:
        return [Finding(rule="n_params", effect="caveat",
                        text="N counts the output layer but not the input embedding in one law "
                        "and every parameter in the other; the input embedding does no FLOPs, "
                        f"and {PORIAN} match Hoffmann et al. with this counting")]  # fmt: skip
    text = (
        f"N counted differently: {nx} ({_name(x[0])}) vs {ny} ({_name(y[0])}); the embedding "
        "share of parameters falls with scale, so no constant factor converts one into the "
        f"other and exponents in N or in C = 6ND shift ({PEARCE_SONG})"
    )
    effect: Literal["block", "caveat"] = "block" if q in N_DEPENDENT else "caveat"
    return [Finding(rule="n_params", effect=effect, text=text)]


def rule_compute_basis(q: str, x: Pair, y: Pair) -> list[Finding]:
    """C = 6ND vs FLOPs counted per layer (attention, last layer): ratio depends on shape."""
    bx, by = x[1].compute_basis, y[1].compute_basis
    if "unknown" in (bx, by) or bx == by or q not in C_DEPENDENT:
        return []
    return [Finding(rule="compute_basis", effect="block",
                    text=f"compute counted differently: {bx} vs {by}; the ratio depends on "
                    f"model shape, so compute exponents shift ({PORIAN}: counting the last "
                    "layer's FLOPs alone moves a substantially)")]  # fmt: skip


def rule_compute_unit(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Compute in PF-days, FLOP or MACs differs by a constant factor."""
    ux, uy = x[1].compute_unit, y[1].compute_unit
    if "unknown" in (ux, uy) or ux == uy or q not in C_DEPENDENT:
        return []
    if q == "tokens_per_param":
        # A coefficient fitted with C in PF-days is evaluated at a budget read in FLOPs here.
        return [Finding(rule="compute_unit", effect="caveat",
                        text=f"compute in {ux} vs {uy}: the budget is read in FLOPs, so a law "
                        "fitted in another unit is evaluated at a different budget")]  # fmt: skip
    return [Finding(rule="compute_unit", effect="convert",
                    text=f"compute in {ux} vs {uy} (1 PF-day = 8.64e19 FLOP, 1 MAC = 2 FLOP): a "
                    "constant factor, which leaves exponents in C unchanged")]  # fmt: skip


def rule_conversion(q: str, x: Pair, y: Pair) -> list[Finding]:
    """A value obtained by a conversion (e.g. b = 1 − a) is compared after that conversion."""
    return [
        Finding(rule="conversion", effect="convert", text=f"{_name(v)}: {d.conversion}")
        for v, _, d in (x, y)
        if d is not None and d.conversion
    ]


def rule_data(q: str, x: Pair, y: Pair) -> list[Finding]:
    """Different training data: comparable, but exponents depend on the data distribution."""
    dx, dy = x[1].data, y[1].data
    if not dx or not dy or dx == dy or (x[0].dataset and x[0].dataset == y[0].dataset):
        return []
    return [Finding(rule="data", effect="caveat",
                    text=f"different data ({dx} vs {dy}); exponents depend on the data "
                    "distribution, so part of a difference can be real")]  # fmt: skip


def rule_schedule(q: str, x: Pair, y: Pair) -> list[Finding]:
    """A learning-rate schedule not matched to run length biases intermediate losses."""
    sx, sy = x[1].schedule, y[1].schedule
    if not sx or not sy or sx == sy or q not in ("a", "b"):
        return []
    return [Finding(rule="schedule", effect="caveat",
                    text=f"different learning-rate schedules ({sx} vs {sy})")]  # fmt: skip


RULES: tuple[Rule, ...] = (
    rule_defined, rule_flagged, rule_imposed, rule_domain, rule_metric, rule_response,
    rule_loss_unit, rule_irreducible, rule_n_params,
    rule_compute_basis, rule_compute_unit, rule_conversion, rule_data, rule_schedule,
)  # fmt: skip


def verdict(
    quantity: str,
    left: LawView,
    left_value: Derived | None,
    right: LawView,
    right_value: Derived | None,
) -> Verdict:
    """Apply every rule to the pair and combine: any block wins, then any conversion."""
    x: Pair = (left, profile_of(left), left_value)
    y: Pair = (right, profile_of(right), right_value)
    findings = [f for rule in RULES for f in rule(quantity, x, y)]
    reasons = [f.text for f in findings if f.effect == "block"]
    conversions = [f.text for f in findings if f.effect == "convert"]
    caveats = [f.text for f in findings if f.effect == "caveat"]
    kind: Kind = "not_comparable" if reasons else ("converted" if conversions else "direct")
    return Verdict(
        quantity=quantity, left=left.source_id, right=right.source_id, kind=kind,
        reasons=reasons, conversions=conversions, caveats=caveats,
    )  # fmt: skip
