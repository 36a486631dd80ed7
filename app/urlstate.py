"""Every control of a page in its URL, so a shared link opens the page as its sender saw it.

A page makes one :class:`UrlState` naming its URL parameters, and before drawing each keyed
widget calls the method for its kind (:meth:`~UrlState.choice`, :meth:`~UrlState.number`, ...),
which puts the URL's value, or the default, into the widget's session state; the widget is then
drawn without ``value``/``index`` (the session state is its value). :meth:`UrlState.save`, after
the last control, writes the URL once (one browser history entry) and only on a change, keeping
parameters that belong to other pages (a link may carry them).

The controls are set from the URL when the page opens and whenever the URL is not what the page
last wrote (a link, the back button); otherwise the widgets keep what the user chose. A URL value
that cannot be used (an unknown name, text where a number is expected, out of range) is named in
one warning at the top of the page and the default is shown instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

MAX_LISTED = 8  # options named in a notice; past this, "..." and how many more


@dataclass(frozen=True)
class _Field:
    name: str
    key: str
    default: Any
    to_url: Callable[[Any], str | None]  # None: left out of the URL
    always: bool  # written even at its default (a link then says what it showed)


class _Bad(Exception):
    """A URL value that cannot be used."""


def _listing(options: Sequence[str]) -> str:
    shown = ", ".join(options[:MAX_LISTED])
    more = len(options) - MAX_LISTED
    return shown + (f", … ({more} more)" if more > 0 else "")


def _float_text(value: float) -> str:
    return repr(float(value))  # round-trips exactly (0.2, 1e-05, 7000000000.0)


class UrlState:
    """The URL parameters ``names`` of one page's controls (see the module docstring)."""

    def __init__(self, page: str, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._memo = f"urlstate_{page}"
        self._fields: dict[str, _Field] = {}
        self._unused: set[str] = set()
        self.problems: list[str] = []
        # Opened, or the URL changed under the page: set every control from the URL.
        self.reload = st.session_state.get(self._memo) != self.current()
        self._notice = st.empty()  # at the top of the page, filled by save()

    def current(self) -> dict[str, str]:
        """This page's parameters as they are in the URL now."""
        params = st.query_params
        return {name: params[name] for name in self.names if name in params}

    # -- one method per kind of control -------------------------------------------------------

    def _load(
        self,
        field: _Field,
        read: Callable[[str], Any],
        valid: Callable[[Any], bool],
        expected: str | Callable[[str], str],
        late: bool = False,
    ) -> Any:
        if field.name not in self.names:
            raise ValueError(f"{field.name!r} is not one of this page's URL names {self.names}")
        self._fields[field.name] = field
        state = st.session_state
        if self.reload or field.key not in state:
            value = field.default
            text = st.query_params.get(field.name)
            if text is not None:
                try:
                    value = read(text)
                    if not valid(value):
                        raise _Bad
                except (_Bad, ValueError):
                    # Only a link's value is worth a notice: a widget that was not drawn on the
                    # last run (another law's x box) finds the page's own stale value here. A
                    # late control's first value is the link's (see choice()).
                    if self.reload or late:
                        wants = expected(text) if callable(expected) else expected
                        self.problems.append(f"`{field.name}={text}` (expected {wants})")
                    value = field.default
            state[field.key] = value
        elif not valid(state[field.key]):  # its options changed under it (another dataset)
            state[field.key] = field.default
        return state[field.key]

    def choice(
        self,
        name: str,
        key: str,
        options: Sequence[Any],
        default: Any = None,
        *,
        always: bool = False,
        expected: str | Callable[[str], str] | None = None,
        tokens: Mapping[str, Any] | None = None,
        late: bool = False,
    ) -> Any:
        """A selectbox or radio over ``options`` (``default`` None: nothing chosen is allowed).

        ``tokens`` names options in the URL when their values are not words (URL text -> option).
        ``late``: the control is first drawn after the link was read, its options known only
        then (an uploaded file's groups, once the file comes: the page stopped short of it with
        ``save(complete=False)``); a link's value it cannot use is named all the same, where it
        was dropped without a word.
        """
        to_text = {v: k for k, v in (tokens or {}).items()}
        allowed = list(options)
        field = _Field(
            name, key, default, lambda v: to_text.get(v, None if v is None else str(v)), always
        )
        return self._load(
            field,
            read=lambda text: (tokens or {}).get(text, text),
            valid=lambda v: v in allowed or (v is None and default is None),
            expected=expected or f"one of {_listing([to_text.get(o, str(o)) for o in allowed])}",
            late=late,
        )

    def choices(self, name: str, key: str, options: Sequence[str], default: Sequence[str]) -> Any:
        """A multiselect over ``options``; in the URL a comma-separated list ('' for none).

        Unknown names in a link are named in the notice and the known ones kept (the default
        when none is known).
        """
        allowed = list(options)
        chosen = [o for o in allowed if o in default]
        self._carry_over(key, allowed, chosen)

        def read(text: str) -> list[str]:
            picked = [t for t in text.split(",") if t] if text else []
            unknown = [t for t in picked if t not in allowed]
            if unknown and self.reload:
                self.problems.append(
                    f"`{name}` {', '.join(repr(t) for t in unknown)} "
                    f"(expected some of {_listing(allowed)})"
                )
            known = [o for o in allowed if o in picked]
            return known if known or not unknown else chosen  # none known: the default

        field = _Field(name, key, chosen, lambda v: ",".join(v), always=False)
        return self._load(
            field, read, valid=lambda v: isinstance(v, list) and set(v) <= set(allowed),
            expected=f"some of {_listing(allowed)}",
        )  # fmt: skip

    def _carry_over(self, key: str, allowed: list[str], chosen: list[str]) -> None:
        """A multiselect whose options changed under it (another quantity on Compare): what the
        user left out stays out (also across a quantity that lacks it), and an option new to it
        is chosen as the default would choose it. Kept as it was, the choice hid the new options
        (all of beta's domains, ['language'], hid 'vision' on loss_compute though nobody had
        left it out)."""
        state = st.session_state
        memo = f"{self._memo}_options_{key}"
        before, left_out = state.get(memo, (None, frozenset()))
        value = state.get(key)
        if self.reload or before is None or not isinstance(value, list):
            state[memo] = (allowed, frozenset())
            return
        left_out = (left_out - set(before)) | (set(before) - set(value))
        state[memo] = (allowed, left_out)
        if before == allowed:
            return
        kept = [o for o in allowed if o not in left_out and (o in before or o in chosen)]
        state[key] = kept if kept or not value else chosen  # all it kept is gone: the default

    def number(
        self,
        name: str,
        key: str,
        default: float | None,
        low: float,
        high: float | None = None,
        *,
        integer: bool = False,
    ) -> Any:
        """A number input or slider over [low, high] (``default`` None: empty is allowed)."""

        def bound(v: float) -> str:
            return str(int(v)) if integer else f"{v:g}"  # 2**53-1 whole

        top = "" if high is None else f" to {bound(high)}"
        kind = "a whole number" if integer else "a number"

        def read(text: str) -> float | int:
            value = float(text)
            if integer:
                if not value.is_integer():
                    raise ValueError(text)
                return int(value)
            return value

        def valid(v: Any) -> bool:
            if v is None:
                return default is None
            return (
                isinstance(v, (int, float))
                and not isinstance(v, bool)
                and math.isfinite(v)
                and low <= v <= (math.inf if high is None else high)
            )

        def to_url(v: Any) -> str | None:
            if v is None:
                return None
            return str(int(v)) if integer else _float_text(v)

        field = _Field(name, key, default, to_url, always=False)
        return self._load(field, read, valid, expected=f"{kind} from {bound(low)}{top}")

    def flag(self, name: str, key: str) -> Any:
        """A checkbox: ``1`` in the URL when ticked, absent when not."""

        def read(text: str) -> bool:
            if text not in ("0", "1"):
                raise ValueError(text)
            return text == "1"

        field = _Field(name, key, False, lambda v: "1" if v else None, always=False)
        return self._load(field, read, valid=lambda v: isinstance(v, bool), expected="1 or 0")

    def text(self, name: str, key: str) -> Any:
        """A text input; left out of the URL when blank."""
        field = _Field(name, key, "", lambda v: v.strip() or None, always=False)
        return self._load(field, read=str, valid=lambda v: isinstance(v, str), expected="text")

    def unused(self, name: str, why: str, *, late_key: str | None = None) -> None:
        """A control this run does not draw (no setting box for this dataset): a link's value
        for it is named in the notice, and it leaves the URL at :meth:`save`. ``late_key``: the
        key of a late control (:meth:`choice`); while it was never drawn, the URL's value is the
        link's."""
        self._unused.add(name)
        text = st.query_params.get(name)
        linked = self.reload or (late_key is not None and late_key not in st.session_state)
        if linked and text is not None:
            self.problems.append(f"`{name}={text}` ({why})")

    # -- writing the URL ----------------------------------------------------------------------

    def wanted(self) -> dict[str, str]:
        """The URL parameters for what the controls show now."""
        out: dict[str, str] = {}
        for field in self._fields.values():
            value = st.session_state.get(field.key)
            if value == field.default and not field.always:
                continue
            text = field.to_url(value)
            if text is not None:
                out[field.name] = text
        return out

    def save(self, *, complete: bool = True) -> None:
        """After the last control: write the URL (only on a change) and show the notice.

        Before a page stops short of its last control (no file uploaded yet), ``complete=False``
        keeps the URL's values for the controls it did not reach: the link's law must still be
        there when the file comes.
        """
        if self.problems:
            self._notice.warning(
                "Ignored from the link: "
                + "; ".join(self.problems)
                + "; the default is shown instead."
            )
        wanted = self.wanted()
        if not complete:
            done = {*self._fields, *self._unused}
            wanted = {n: t for n, t in self.current().items() if n not in done} | wanted
        if wanted != self.current():
            params = st.query_params
            others = {n: params.get_all(n) for n in params if n not in self.names}
            params.from_dict({**wanted, **others})
        st.session_state[self._memo] = wanted
        self.reload = False


def linked_choice(
    name: str,
    key: str,
    options: Mapping[str, str],
    *,
    label: str,
    placeholder: str,
    missing: Callable[[str], str],
) -> Any:
    """A selectbox over ``options`` (value -> label shown) whose choice is the URL parameter
    ``name``, for a page that links to itself with another value (the Paper page: a related
    paper's link) as well as from other pages; the choice, or None.

    Unlike :class:`UrlState` it writes the URL when the page was reached from itself even if the
    URL already holds the choice: that write is the browser history entry Back returns to (a
    related paper's link made none, and Back skipped the first paper). Reached from another
    page, the browser moves to this page's URL itself, and writing the value before it does
    would add a history entry for the old page with this value (a broken back button). A URL
    value not among ``options`` is named in a warning (``missing(value)``) and nothing chosen.
    """
    state = st.session_state
    memo = f"urlstate_{key}"
    current = st.query_params.get(name)
    # Streamlit drops a widget's state once a run does not draw it: True when we came from this
    # page.
    from_this_page = key in state
    # The picker is keyed, so it would keep its own value when the URL changes under it (a
    # related link, the back button): set it from the URL whenever the URL is not what it shows.
    if key not in state or state.get(memo) != current:
        state[key] = current if current in options else None
        state[memo] = current
        if current and current not in options:
            st.warning(missing(current))
    choice = st.selectbox(
        label, list(options), format_func=options.__getitem__, placeholder=placeholder, key=key
    )
    if choice is None:
        return None
    if current != choice or from_this_page:
        st.query_params[name] = choice
    state[memo] = choice
    return choice
