"""Shared pieces of the CLI: the group, option decorators, output and progress adapters."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from kb.errors import Interrupted, KBError
from kb.store import Store, staged, swap_count

F = TypeVar("F", bound=Callable[..., Any])
Progress = Callable[[int, int], None]

DEFAULT_DB = Path("data") / "kb.duckdb"
# One verbosity number maps to per-logger levels (paper-qa's LOG_VERBOSITY_MAP idea).
LOG_LEVELS: dict[int, dict[str, int]] = {
    0: {"kb": logging.WARNING, "ingest": logging.WARNING},
    1: {"kb": logging.INFO, "ingest": logging.INFO},
    2: {"kb": logging.DEBUG, "ingest": logging.DEBUG},
}


class Context:
    """What the group passes to every command."""

    def __init__(self, verbosity: int, quiet: bool):
        self.verbosity = verbosity
        self.quiet = quiet


class KBGroup(click.Group):
    """A group that turns every ``KBError`` into a one-line message and exit status 1, and a
    SIGINT (Ctrl-C) or SIGTERM into a one-line message and exit status 128 + the signal's
    number (130, 143), as POSIX shells report a process a signal ended."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with _signals_handled():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        swaps = swap_count()
        try:
            result = super().invoke(ctx)
        except BaseException as err:
            signum = _interrupting_signal(err)
            if signum is None:
                if isinstance(err, KBError):
                    raise click.ClickException(str(err)) from err
                raise
            # Whatever unwound after a signal is the interrupt: DuckDB turns one that arrives
            # mid-query into RuntimeError('Query interrupted'), a worker pool into its own.
            _say_interrupted(ctx, err, signum, changed=swap_count() != swaps)
            raise click.exceptions.Exit(128 + signum) from None
        if _SIGNALS_RECEIVED:  # taken while the command was finishing, and swallowed there
            signum = _SIGNALS_RECEIVED[0]
            _say_interrupted(ctx, None, signum, changed=swap_count() != swaps)
            raise click.exceptions.Exit(128 + signum)
        return result


_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The signals this run of `kb` received, in order (only the first is acted on).
_SIGNALS_RECEIVED: list[int] = []


@contextmanager
def _signals_handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while ``kb`` runs.

    Unwinding from it removes a staged copy (the store stays as it was), stops worker
    processes and closes progress bars, as a Ctrl-C's ``KeyboardInterrupt`` does; SIGTERM's
    default ended the process with no cleanup at all. A second signal while that runs ends
    the process at once, as with no handler (the store is still unchanged: a staged copy
    left behind is removed by the next writer). The previous handlers are put back after.
    A signal ignored when ``kb`` started stays ignored (a job a shell script put in the
    background, ``nohup``-style wrappers): Python itself keeps an inherited SIG_IGN for SIGINT.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _SIGNALS_RECEIVED.clear()
    before = {s: signal.getsignal(s) for s in _HANDLED_SIGNALS}
    handled = [s for s in _HANDLED_SIGNALS if before[s] is not signal.SIG_IGN]

    def handler(signum: int, frame: types.FrameType | None) -> None:
        _SIGNALS_RECEIVED.append(signum)
        if len(_SIGNALS_RECEIVED) == 1:
            for s in handled:
                signal.signal(s, signal.SIG_DFL)
            raise Interrupted(signum)

    for s in handled:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, previous in before.items():
            signal.signal(s, previous if previous is not None else signal.SIG_DFL)


def _interrupting_signal(err: BaseException) -> int | None:
    """The signal ``err`` is the unwinding of, None if it is an ordinary error."""
    if _SIGNALS_RECEIVED:
        return _SIGNALS_RECEIVED[0]
    if isinstance(err, Interrupted):
        return err.signum
    if isinstance(err, KeyboardInterrupt):
        return int(signal.SIGINT)
    return None


def by_signal(err: BaseException) -> bool:
    """Whether ``err`` is the unwinding of a SIGINT or SIGTERM (see ``KBGroup.invoke``)."""
    return _interrupting_signal(err) is not None


def interrupted(err: BaseException, note: str) -> Interrupted:
    """The interrupt that stopped a command, carrying ``note``: what the command did before it
    stopped, said instead of "the knowledge base is unchanged" (raise it ``from err``)."""
    signum = _interrupting_signal(err)
    return Interrupted(int(signal.SIGINT) if signum is None else signum, note)


def _say_interrupted(
    ctx: click.Context, err: BaseException | None, signum: int, *, changed: bool
) -> None:
    """One line on stderr: which command a signal stopped, and what became of the store."""
    name = ctx.invoked_subcommand or ctx.info_name or "kb"
    note = next(
        (e.note for e in _chain(err) if isinstance(e, Interrupted) and e.note is not None), None
    )
    if note is None:
        note = (
            "it had finished its writes, and the knowledge base was updated"
            if changed
            else "the knowledge base is unchanged"
        )
    click.echo(f"kb {name}: interrupted by {signal.Signals(signum).name}; {note}", err=True)


def _chain(err: BaseException | None) -> Iterator[BaseException]:
    """``err`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


@click.group(cls=KBGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Hide progress bars.")
@click.version_option(package_name="scaling-kb")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """scaling-kb: search, compare and refit neural scaling laws.

    Build a knowledge base, then query it.  Example:

        kb ingest ../shared/seeds ../shared/datasets && kb stats
    """
    level_map = LOG_LEVELS[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name, level in level_map.items():
        log = logging.getLogger(name)
        log.setLevel(level)
        if not log.handlers:
            log.addHandler(handler)
    ctx.obj = Context(verbose, quiet)


def db_path_default() -> str:
    """``$KB_DB`` if set, else ``data/kb.duckdb``."""
    return os.environ.get("KB_DB") or str(DEFAULT_DB)


def db_option(func: F) -> F:
    """Add ``--db PATH`` (default ``$KB_DB``, else ``data/kb.duckdb``)."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        default=db_path_default,
        show_default="$KB_DB or data/kb.duckdb",
        help="The knowledge base file.",
        callback=_not_blank_path,
    )(func)


def not_blank_paper(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --paper callback: a blank value is refused (it filtered nothing: `kb laws --paper ''`
    listed every law)."""
    if value is not None and not value.strip():
        raise click.BadParameter("is blank; expected a paper id (`kb papers --json` lists them)")
    return value


def _not_blank_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not str(value).strip():
        raise click.BadParameter("is empty; expected the path of a knowledge base file")
    return value


def json_option(func: F) -> F:
    """Add ``--json``: one JSON object per line instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")(func)


def plot_option(what: str) -> Callable[[F], F]:
    """Add ``--plot FILE``: also write ``what`` as a chart, in the format FILE's extension names
    (checked when the option is parsed, before any work is done)."""
    from kb.plotfile import PLOT_FORMATS

    return click.option(
        "--plot", "plot", type=click.Path(dir_okay=False), default=None, metavar="FILE",
        callback=_plot_path,
        help=f"Also write {what} (the app's chart) to FILE; its extension picks the format: "
        + ", ".join(PLOT_FORMATS) + ".",
    )  # fmt: skip


def _plot_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    from kb.plotfile import check_plot_path

    if value is None:
        return None
    try:
        return check_plot_path(value)
    except KBError as err:
        raise click.BadParameter(str(err)) from err


def boot_option(default: int, help: str) -> Callable[[F], F]:
    """Add ``--boot N`` (bootstrap resamples, ``n_boot``) with a command's own default and help."""
    return click.option(
        "--boot", "n_boot", type=click.IntRange(min=0), default=default, show_default=True,
        help=help,
    )  # fmt: skip


@contextmanager
def reading(db_path: str) -> Iterator[Store]:
    """Open the store read-only (so a build can run beside us); explain if it is missing."""
    if not Path(db_path).exists():
        raise KBError(
            f"{db_path}: no knowledge base here yet; build it with "
            f"`kb ingest ../shared/seeds ../shared/datasets --db {db_path}`"
        )
    store = Store(db_path, read_only=True)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def writing(db_path: str) -> Iterator[Store]:
    """Open a staged copy of the store; it replaces ``db_path`` only if the block succeeds."""
    with staged(db_path) as store:
        yield store


def to_jsonable(value: Any) -> Any:
    """Records, dates, NaN and nested containers as plain JSON values."""
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def emit_json(rows: Iterable[Any]) -> None:
    """Print one JSON object per line."""
    for row in rows:
        click.echo(json.dumps(to_jsonable(row), ensure_ascii=False))


def emit_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    widths: Mapping[str, int] | None = None,
) -> None:
    """Print rows as an aligned text table for people; long cells are cut with '…'.

    ``widths``: a column's most characters (default 60); 0 prints its cells whole.

    No rows print nothing, not a header over an empty table: the command says why on stderr
    (``no_results``), and a header after that line read as if results followed.
    """
    if not rows:
        return
    widths = dict(widths or {})
    cells = [[_cell(row.get(c), widths.get(c, 60)) for c in columns] for row in rows]
    sizes = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(s) for c, s in zip(columns, sizes, strict=True)).rstrip())
    click.echo("  ".join("-" * s for s in sizes))
    for r in cells:
        click.echo("  ".join(v.ljust(s) for v, s in zip(r, sizes, strict=True)).rstrip())


def no_results(why: str) -> None:
    """Say on stderr why a listing is empty (stdout stays the results alone): no output at
    all does not tell filters that exclude everything from a failed command."""
    click.echo(f"no results: {why}", err=True)


def paper_data_note(law_id: str, data: str, n_points: Iterable[int]) -> str:
    """The stderr note of `kb fit` and `kb audit` beside a refit of a registry law whose
    ``conventions.data`` says what its paper fitted: that, and how many points the refit used.

    Gadre et al. fitted 5 runs per training set and a refit uses all 35 released: a reported
    value outside the refit's interval is then no contradiction on that alone. ``n_points``:
    one count per refit (`kb audit` refits a law with each recipe: 240 or 245 points).
    """
    counts = sorted(set(n_points))
    used = (
        f"this refit uses {counts[0]} points"
        if len(counts) == 1
        else f"its refits use {' or '.join(map(str, counts))} points"
    )
    return f"Note: {law_id} was fitted by its paper on: {data}; {used}"


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | tuple):
        text = ", ".join(_cell(v, width) for v in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if width <= 0 or len(text) <= width else text[: width - 1] + "…"


@contextmanager
def staged_progress_bars(labels: Mapping[str, str]) -> Iterator[Callable[[str, int, int], None]]:
    """A ``(stage, done, total)`` callback drawing one progress bar per stage on stderr.

    ``labels`` maps each stage name to its bar's label (unknown stages use their name). A
    stage's bar is closed when the next stage reports; off with --quiet, like ``progress_bar``.
    """
    active: dict[str, Progress] = {}
    with ExitStack() as outer:
        stage_stack = ExitStack()
        outer.callback(lambda: stage_stack.close())

        def update(stage: str, done: int, total: int) -> None:
            nonlocal stage_stack
            if stage not in active:
                stage_stack.close()
                active.clear()
                stage_stack = ExitStack()
                active[stage] = stage_stack.enter_context(progress_bar(labels.get(stage, stage)))
            active[stage](done, total)

        yield update


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A ``(done, total)`` callback drawing a click progress bar on stderr (off with --quiet)."""
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_object(Context) and ctx.find_object(Context).quiet)  # type: ignore[union-attr]
    if quiet:
        yield lambda done, total: None
        return
    bar: Any = None
    shown = 0

    def update(done: int, total: int) -> None:
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
