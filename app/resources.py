"""Cached handles shared by every page: the read-only store and what is loaded from it.

The store is opened once per file version (path + modification time), read-only, so `kb ingest`
can build a new file beside the running app; when the build swaps the file in, the next rerun
opens the new one. DuckDB connections are not thread-safe, so queries take a cursor each.
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from kb.errors import KBError
from kb.store import Store

if TYPE_CHECKING:  # the search stack (torch, FAISS) loads only when a page searches
    from kb.search import Searcher

DEFAULT_DB = Path("data") / "kb.duckdb"
BUILD_HINT = (
    "Build it with `kb ingest ../shared/seeds ../shared/datasets && kb index` "
    "(or `make run` from the repository), then reload this page."
)


def db_path() -> Path:
    """The knowledge base file: `$KB_DB`, else data/kb.duckdb."""
    return Path(os.environ.get("KB_DB") or DEFAULT_DB).resolve()


@st.cache_resource(show_spinner=False, max_entries=2)
def _open_store(path: str, version: int) -> Store:
    # `version` (the file's mtime) is only a cache key: a swapped-in build gets a new handle.
    return Store(path, read_only=True)


def store_version() -> int:
    """Modification time of the store file (0 if missing): part of every cache key."""
    path = db_path()
    return path.stat().st_mtime_ns if path.exists() else 0


def get_store() -> Store | None:
    """The read-only store, or None (after telling the user how to build it) if missing."""
    path = db_path()
    if not path.exists():
        st.info(f"The knowledge base `{path}` does not exist yet. {BUILD_HINT}")
        return None
    try:
        return _open_store(str(path), store_version())
    except KBError as err:
        st.error(str(err))
        return None


def empty_notice(store: Store) -> bool:
    """Show how to build the knowledge base when it holds no papers; True if it was empty."""
    from kb.query import stats

    if stats(store)["papers"] == 0:
        st.info(f"The knowledge base is empty. {BUILD_HINT}")
        return True
    return False


def warn_stale_laws(store: Store) -> None:
    """Say so above a page's laws when the stored ones are not the registry file's."""
    from kb.registry import stale_laws_notice

    notice = stale_laws_notice(store)
    if notice:
        st.warning(notice[0].upper() + notice[1:] + ".")


def show_error(err: KBError) -> None:
    """Report a library error to the user in one line."""
    st.error(str(err))


@st.cache_data(show_spinner=False, max_entries=4)
def _paper_options(path: str, version: int, _store: Store) -> dict[str, str]:
    from kb.query import list_papers

    return {p["paper_id"]: p["title"] for p in list_papers(_store)}


def paper_options(store: Store) -> dict[str, str]:
    """paper_id -> title for every paper, cached per store version."""
    return _paper_options(str(db_path()), store_version(), store)


@st.cache_resource(show_spinner="Opening the search index…", max_entries=2)
def _open_searcher(path: str, version: int, _store: Store) -> Searcher:
    from kb.search import Searcher

    return Searcher.open(_store, Path(path))


@st.cache_resource(show_spinner=False, max_entries=2)
def _warm_searcher(path: str, version: int, _store: Store) -> threading.Thread | None:
    try:
        searcher = _open_searcher(path, version, _store)
    except KBError:
        # None is cached, unlike the error: a missing or stale index is not checked again (a
        # read of the whole index and of every paper) on each rerun of the page until the
        # store changes; the search page reports it.
        return None
    thread = threading.Thread(
        target=_warm_quietly, args=(searcher,), name="kb-warm-encoder", daemon=True
    )
    thread.start()
    return thread


def _warm_quietly(searcher: Searcher) -> None:
    try:
        searcher.warm()
    except KBError:  # a model that cannot load: the search page tries again and shows why
        return


def prewarm_search() -> None:
    """Open the search index (in the page's thread: 0.3 s at the seed corpus, seconds at 100k
    papers) and start loading the model in a background thread, once per store version, so
    the first search does not wait ~10 s for torch and the model. Call it after a page has
    drawn. Quiet: a missing or stale index is reported by the page that searches."""
    path = db_path()
    if not path.exists():
        return
    try:
        _warm_searcher(str(path), store_version(), _open_store(str(path), store_version()))
    except KBError:
        return


def ensure_encoder(searcher: Searcher) -> None:
    """Wait, with a spinner, for the query encoder (loading it, or joining the background
    load that :func:`prewarm_search` started)."""
    if not searcher.encoder_loaded:
        with st.spinner("Loading the embedding model (first search since the app started)…"):
            searcher.warm()


def get_searcher(store: Store, *, quiet: bool = False) -> Searcher | None:
    """The search engine over this store (model loaded once per store version), or None.

    When the index is missing or stale the reason is shown as an error, or as a caption with
    ``quiet`` (pages where search is a side feature).
    """
    try:
        return _open_searcher(str(db_path()), store_version(), store)
    except KBError as err:
        (st.caption if quiet else st.error)(str(err))
        return None


def snippet_in_context(text: str, start: int, end: int, context: int = 160) -> str:
    """``text[start:end]`` highlighted, with up to ``context`` characters of ``text`` on each
    side, as HTML (escaped). A side that is cut ends on a whole word and shows an ellipsis."""
    cut_before = start > context
    cut_after = end + context < len(text)
    before = text[max(0, start - context) : start]
    after = text[end : end + context]
    if cut_before and not text[start - context - 1].isspace() and " " in before:
        before = before[before.index(" ") + 1 :]  # drop the partial word the window began in
    if cut_after and not text[end + context].isspace() and " " in after:
        after = after[: after.rindex(" ")]  # and the one it ended in
    return (
        ("…" if cut_before else "")
        + html.escape(before)
        + f"<mark>{html.escape(text[start:end])}</mark>"
        + html.escape(after)
        + ("…" if cut_after else "")
    )
