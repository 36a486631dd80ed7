"""Scaling vocabulary: how people ask ("bigger models") versus what papers write ("model size").

``expand_query`` returns extra words to add to a keyword query; ``query_variables`` names the
``kb.records.VARIABLES`` a query is about. The rules are general scaling-law vocabulary, not
phrases of any particular abstract or evaluation query: phrases that only the development
queries used ("think longer", "split between", "amount of text", "less accurate", "do worse")
were removed; a single general word stays where one covers the notion ("worse", "budget").
"""

from __future__ import annotations

import re

__all__ = [
    "DIRECTION_RULES",
    "DOMAIN_RULES",
    "RESPONSE_RULES",
    "RULES",
    "expand_query",
    "is_scaling_query",
    "query_directions",
    "query_domains",
    "query_responses",
    "query_variables",
]

# (pattern over the lower-cased query, words papers use for it, variable it concerns or None)
RULES: tuple[tuple[str, str, str | None], ...] = (
    (r"\b(bigger|larger|big|large|huge|smaller|small|tiny) (models?|networks?|nets?|lms?)\b",
     "model size parameters", "model_size"),
    (r"\b(model size|number of parameters|parameter counts?|more parameters|params)\b",
     "model size parameters", "model_size"),
    (r"\b(more|less|amount of|bigger|larger) (data|training data|tokens)\b|\bdata ?set size\b",
     "data size dataset tokens", "data_size"),
    (r"\b(compute|flops?|gpu hours|training budget|budget)\b", "compute", "compute"),
    (r"\bcompute.optimal|chinchilla|allocat\w*|trade.?off between",
     "compute optimal allocation model size tokens", "compute"),
    (r"\b(test.time|inference.time|at inference|inference compute|sampling more|"
     r"more samples|reasoning budget)\b",
     "test-time inference compute scaling", "inference_compute"),
    (r"\bworse\b|\bhurts?\b|\bdegrad\w*|\binverse\b",
     "inverse scaling worse degrade", None),
    (r"\bsudden\w*|\bunpredictabl\w*|\bjumps?\b|\bemergen\w*", "emergent abilities", None),
    (r"\brobot\w*|\bembodied|\bmanipulation\b", "robotics robot embodied", None),
    (r"\blearning rates?\b|\bbatch sizes?\b|\bhyper.?parameters?\b",
     "hyperparameter learning rate batch size", "batch_size"),
    (r"\bexperts?\b|\bmoe\b|\bsparse(ly)? activated\b|\brouting\b",
     "mixture-of-experts moe experts", "num_experts"),
    (r"\bquantiz\w*|\blow.?precision\b|\bbits?\b|\bfp8\b|\bint[48]\b",
     "quantization precision bits", "precision"),
    (r"\bwider\b|\bwidth\b", "width", "width"),
    (r"\bdeeper\b|\bdepth\b|\bnumber of layers\b", "depth layers", "depth"),
    (r"\bfine.?tun\w*|\bdownstream\b|\btransfer\b", "fine-tuning downstream transfer",
     "finetuning_data"),
    (r"\bretriev\w*|\bdatastore\b", "retrieval datastore", "datastore_size"),
    (r"\b(power.?laws?|exponents?|scaling laws?|predictable)\b", "scaling law power law", None),
    (r"\b(images?|vision|visual|pixels?)\b", "vision image visual", None),
    (r"\b(speech|audio|acoustic)\b", "speech audio acoustic", None),
    (r"\b(recommend\w*)\b", "recommendation recommender", None),
    (r"\b(training steps?|longer training|train longer|epochs?|repeat\w* data)\b",
     "training steps epochs", "training_steps"),
)  # fmt: skip
_COMPILED = tuple((re.compile(p), words, var) for p, words, var in RULES)


def expand_query(query: str) -> list[str]:
    """Words papers use for the scaling notions in ``query`` (empty if none is recognised)."""
    text = query.lower()
    return [words for pattern, words, _ in _COMPILED if pattern.search(text)]


def query_variables(query: str) -> list[str]:
    """The scale variables (``kb.records.VARIABLES``) the query asks about, in rule order."""
    text = query.lower()
    found: list[str] = []
    for pattern, _, var in _COMPILED:
        if var and var not in found and pattern.search(text):
            found.append(var)
    return found


_SCALING = re.compile(
    r"\bscal\w*|\bpower.?laws?\b|\bexponents?\b|\bcompute.optimal|\bchinchilla\b|"
    r"\b(bigger|larger|more|smaller)\b|\bgrows?\b|\bgrowing\b|\bpredict\w*"
)


def is_scaling_query(query: str) -> bool:
    """True when the query asks how something changes with scale (not only about a topic)."""
    return bool(_SCALING.search(query.lower()) or query_variables(query))


# (pattern over the lower-cased query, kb.records.DOMAINS value it names)
DOMAIN_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(language models?|llms?|lms?|nlp|natural language|machine translation|"
     r"text generation|tokens?)\b", "language"),
    (r"\b(vision|visual|images?|pixels?|vit|videos?|object detection|segmentation|"
     r"image classification)\b", "vision"),
    (r"\b(multimodal|multi-modal|vision.language|image.text|text.to.image|clip|"
     r"captioning)\b", "multimodal"),
    (r"\b(speech|audio|acoustic|asr)\b", "speech"),
    (r"\brobot\w*|\bembodied\b|\bmanipulation\b", "robotics"),
    (r"\btime.series\b|\bforecast\w*", "time_series"),
    (r"\bprotein\w*|\bmolecul\w*|\bchemi\w*|\bmaterials?\b|\bbiolog\w*|\bgenom\w*|"
     r"\bneuroscien\w*|\bbrain\b|\bweather\b|\bclimate\b|\bphysics\b", "science"),
    (r"\brecommend\w*", "recsys"),
    (r"\breinforcement learning\b|\brl\b|\bagents?\b|\bpolic(y|ies)\b|\breward\w*",
     "rl"),
    (r"\btheor\w*|\bmathematical\w*|\banalytic\w*|\bexplain\w*|\bderiv\w*|"
     r"\bwhy\b", "theory"),
)  # fmt: skip
_DOMAINS = tuple((re.compile(p), domain) for p, domain in DOMAIN_RULES)

# (pattern over the lower-cased query, kb.records.DIRECTIONS value it asks about)
DIRECTION_RULES: tuple[tuple[str, str], ...] = (
    (r"\bworse\b|\bhurts?\b|\bdegrad\w*|\binverse\b|\bdeclin\w*|"
     r"\bdeteriorat\w*", "worsens"),
    (r"\bsaturat\w*|\bplateau\w*|\bdiminishing returns?\b|\bceiling\b", "saturates"),
    (r"\bnon.?monotonic\w*|\bdouble descent\b|\bu.shaped\b", "non_monotonic"),
)  # fmt: skip
_DIRECTIONS = tuple((re.compile(p), d) for p, d in DIRECTION_RULES)


def _labels(rules: tuple[tuple[re.Pattern[str], str], ...], query: str) -> list[str]:
    """The label of every rule whose pattern occurs in the lower-cased query, in rule order."""
    text = query.lower()
    return [label for pattern, label in rules if pattern.search(text)]


def query_domains(query: str) -> list[str]:
    """The domains (``kb.records.DOMAINS``) the query names, in rule order."""
    return _labels(_DOMAINS, query)


def query_directions(query: str) -> list[str]:
    """The claim directions (``kb.records.DIRECTIONS``) the query asks about, e.g. 'worsens'."""
    return _labels(_DIRECTIONS, query)


# (pattern over the lower-cased query, kb.records.RESPONSES value it asks about)
RESPONSE_RULES: tuple[tuple[str, str], ...] = (
    (r"\bcompute.optimal|\boptimal (model )?sizes?\b|\ballocat\w*|\btrade.?offs?\b",
     "optimal_model_size"),
    (r"\blearning rates?\b|\bbatch sizes?\b|\bhyper.?parameters?\b|\bweight decay\b|"
     r"\bwarm.?up\b|\bschedules?\b", "optimal_hyperparameter"),
    (r"\bdownstream\b|\bbenchmarks?\b|\btasks?\b|\babilit\w*|\bcapabilit\w*",
     "downstream_performance"),
    (r"\baccura\w*", "accuracy"),
    (r"\blosses\b|\bloss\b|\bperplexity\b|\bcross.entropy\b", "loss"),
    (r"\berrors?\b|\berror rates?\b", "error"),
    (r"\befficien\w*|\bthroughput\b|\blatency\b|\bspeed.?ups?\b", "efficiency"),
)  # fmt: skip
_RESPONSES = tuple((re.compile(p), r) for p, r in RESPONSE_RULES)


def query_responses(query: str) -> list[str]:
    """What the query asks to see scale (``kb.records.RESPONSES``), e.g. 'optimal_model_size'."""
    return _labels(_RESPONSES, query)
