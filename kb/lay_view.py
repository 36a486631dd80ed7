"""Lay document views: a paper's extracted claims restated in plain words (template doc2query).

Paraphrased queries ask in lay words ("bigger models", "gets worse") that abstracts avoid; the
claim extractor has already mapped each abstract's findings onto the ``kb.records``
vocabularies (scale variables, response, direction, domain). :func:`lay_view` renders those
facets back into plain words, one sentence per distinct finding, e.g. "Scaling of language
models: With bigger models with more parameters, the loss or error gets better." When the
``lay_view`` column of ``kb.ranking.FEATURES`` has a weight, ``kb.search.Searcher`` embeds the
views on first use (``kb.embed.EmbedCache``, by content hash) and ranks with the query's cosine
to them; the shipped weights hold it at 0 (data/eval/README.md, "Lay document views"). The
renderings are general words for each vocabulary value, written from the vocabularies
themselves, never from evaluation queries.
"""

from __future__ import annotations

from collections.abc import Iterable

from kb.records import Claim

__all__ = [
    "LAY_DIRECTIONS",
    "LAY_DOMAINS",
    "LAY_RESPONSES",
    "LAY_VARIABLES",
    "lay_view",
]

# Plain words for every kb.records vocabulary value (tests/test_search_ranking.py checks that
# none is missing).
LAY_VARIABLES: dict[str, str] = {
    "model_size": "bigger models with more parameters",
    "data_size": "more training data",
    "compute": "more compute",
    "inference_compute": "more computation at inference time",
    "training_steps": "training for more steps",
    "batch_size": "the batch size",
    "width": "wider networks",
    "depth": "deeper networks with more layers",
    "num_experts": "more experts",
    "precision": "lower numeric precision",
    "datastore_size": "a bigger retrieval datastore",
    "finetuning_data": "more fine-tuning data",
    "other": "scale",
}
LAY_RESPONSES: dict[str, str] = {
    "loss": "the loss or error",
    "error": "the error rate",
    "accuracy": "the accuracy",
    "downstream_performance": "performance on downstream tasks",
    "optimal_hyperparameter": "the best hyperparameter setting",
    "optimal_model_size": "the best model size for a given budget",
    "efficiency": "efficiency and cost",
    "other": "performance",
}
LAY_DIRECTIONS: dict[str, str] = {
    "improves": "gets better",
    "worsens": "gets worse",
    "non_monotonic": "first improves and then gets worse, or the reverse",
    "saturates": "stops improving",
    "unspecified": "changes predictably",
}
LAY_DOMAINS: dict[str, str] = {
    "language": "language models",
    "vision": "image and vision models",
    "multimodal": "models of images and text",
    "speech": "speech and audio models",
    "robotics": "robots",
    "time_series": "time series forecasting",
    "science": "scientific data",
    "recsys": "recommender systems",
    "rl": "reinforcement learning agents",
    "theory": "a theory of",
    "other": "",
}


def lay_view(claims: Iterable[Claim], domain: str | None) -> str:
    """A paper's claims in plain words; empty when it has no claims.

    One sentence per distinct (variables, response, direction), in claim order, after a
    prefix naming the paper's domain (none for an unknown or 'other' domain). Values outside
    the vocabularies are used as they are.
    """
    sentences: list[str] = []
    for c in claims:
        scale = " and ".join(LAY_VARIABLES.get(v, v) for v in c.variables) or "scale"
        text = (
            f"With {scale}, {LAY_RESPONSES.get(c.response, c.response)} "
            f"{LAY_DIRECTIONS.get(c.direction, c.direction)}."
        )
        if text not in sentences:
            sentences.append(text)
    if not sentences:
        return ""
    head = LAY_DOMAINS.get(domain or "other", "")
    prefix = f"Scaling of {head}: " if head else "Scaling: "
    return prefix + " ".join(sentences)
