"""Sentence spans of an abstract: the splitter lives in ``kb.sentences`` (search snippets use it
too); re-exported here for the claim extractor and its callers."""

from __future__ import annotations

from kb.sentences import MAX_SENTENCE_CHARS, sentence_spans

__all__ = ["MAX_SENTENCE_CHARS", "sentence_spans"]
