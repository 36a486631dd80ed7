"""Numbers stated as the exponent or slope of a law, read from abstract text.

Listings print mathematics with backslashes stripped, so ``L \\propto N^{0.068}`` arrives as
``L propto N^{0.068}``; both spellings, the Unicode forms (∝, α, ≈, −) and words ("an exponent
of 0.5") are read. Precision comes first: a number is taken only in one of three shapes, each of
which says "exponent" by its syntax, and is then checked against the things that look like
exponents but are not (``10^{38}`` erg, ``O(n^{2})`` costs, percentages, counts, years):

1. ``power``: a braced or parenthesised power of a symbol, ``N^{0.068}``, ``d^{-1}``,
   ``D^(−0.28)``; unbraced, a value that is not whole (``A N^−0.34``), or any value right after
   ∝/propto/~/"scales as"; Unicode superscripts of a single letter (``N⁻⁰·⁰⁷⁶``, ``C⁰·⁵``,
   ``d⁻¹``), never a whole unsigned one (``m²``, ``R²``, footnote markers) nor a unit's
   (``erg s⁻¹``). ``N⁻ᵅ`` marks ``α`` as an exponent symbol, like ``N^{-alpha}``. A numeric
   fraction is a value (``N^{-1/2}``, ``N⁻¹ᐟ²``, ``N^{-½}``: -0.5), also as a symbol's value or
   in words (``alpha = ½``, "an exponent of ¼"), but not a fraction of something in prose ("½ of
   the runs", "a ½-day budget") nor a mixed number (``1½``); one with a letter (``N^{-2/d}``) is
   symbolic. A parenthesised base, as Kaplan et al. write their laws: a scale letter and its
   constant (``(N_c/N)^{0.076}``, ``(C_c/C_min)^{0.050}``, ``left(frac{N_c}{N}right)^{0.076}``,
   ``(N_c/N)⁰·⁰⁷⁶``, ``(1/N)^{0.5}``), stored as the power of the quantity, so the printed
   0.076 of ``(N_c/N)^{0.076}`` is -0.076, as ``N^{-0.076}`` is; never a ratio of two
   quantities or of letters no rule names (``(T/T_0)^{0.5}``), ``(N_c/N)^{alpha_N}`` marks
   ``alpha_N`` as an exponent symbol.
2. ``symbol``: a Greek exponent symbol given a value, ``alpha=0.34``, ``β ≈ 0.28``, taken only when
   the symbol is used as an exponent in the abstract (``N^{-alpha}``; not ``e^{-alpha}`` nor
   inside ``exp(..)``) or the sentence speaks of an exponent, power law or scaling law; a list
   of symbols given a list of values as long, "respectively" ("alpha and beta are 0.34 and
   0.28, respectively", "... are respectively ½ and ¼"), or a tuple of symbols given one or
   more tuples of values (``(alpha, beta) = (0.34, 0.28) for C4 and (0.31, 0.29) for
   RedPajama``), each symbol checked so. Further letters (``delta``, ``epsilon``, ``eta``...)
   count only where the abstract shows them as a letter's power (``D^{-delta}``), and a list
   or tuple holding one only when every symbol in it is shown so. The value stored is the
   power of the quantity: a symbol used as ``N^{-alpha}`` stores ``alpha = 0.076`` as -0.076,
   as ``N^{-0.076}`` is stored (its row's text stays the printed ``alpha = 0.076``); a symbol
   used as no power keeps its printed sign, as an exponent in words does.
3. ``words``: "exponent(s) of/is/as/≈ 0.5[, 0.3 and 0.2]", "exponent from 0.1 to 0.4", "slope of
   -0.5" in a law sentence; ``range``: "the exponent for model size lies between 0.2 and 0.3".

Ranges give both ends (``α ≈ 0.5-0.7``, "an exponent in the range 0.18-0.31"; a dash range grows,
so ``0.3 - 0.02`` is one value and its error; a range of whole numbers or with a unit, "from 1 to 8
nodes", counts something); an uncertainty (``N^{-0.076 pm 0.003}``, ``0.34 ± 0.02``,
``N^{-½ ± ¼}``) is not a value. Not taken either: a whole power >= 2 (``c x^{2}``, pairs scaling as
``N^{2}``), ``e^{..}``, a power inside ``exp(..)`` or a learning-rate schedule being set, a Greek
symbol set as a hyperparameter or naming a statistic ("Adam with beta = 0.95", "Cohen's kappa =
0.81"), and the "exponent" of something else ("Hurst exponent", a schedule's, a floating-point
format's with its mantissa).

Each match names its variable where a rule says it (``ExponentMatch.variable_rule``): the base
letter as the abstract defines it in words ("the number of experts E", "with E experts",
"vocabulary size V": ``defined``; a letter defined as two quantities names none), else as
papers write it (N, D, C, B, d...: ``convention``; not in an abstract whose scale quantities in
words are all others, e.g. only fine-tuning data, where N counts images or patients); a
symbol's subscript (``alpha_D``); for an
exponent in words, the one quantity its sentence's grammar ties it to ("scales with data size
with an exponent of 0.3", "the data-size exponent is 0.3", "an exponent of 0.3 in data size",
"... 0.3 and 0.5 for data size and model size, respectively": ``grammar``), which may be a
bare scale letter ending its phrase ("an exponent of 0.07 in N", "for N and D, respectively";
not "in d dimensions"), named by its definition or the convention. Letter definitions and the
grammar live in ``ingest.claims.grammar``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from ingest.claims import lexicon as lx
from ingest.claims.grammar import (
    BASE_VARIABLE,
    CLAUSE_END,
    RESPECTIVELY,
    base_variable,
    defined_letters,
    list_end,
    listed_starting,
    respective,
    tied_variable,
)
from ingest.claims.prefilter import finditer, fold, matches, register, search_end, widest

__all__ = ["ExponentMatch", "find_exponents", "parse_number"]

# A vulgar fraction (``N^{-½}``, ``D^{⅓}``, ``alpha = ½``; U+00BC-00BE, U+2150-215E): a value,
# like ``N^{-1/2}``; never after a digit (``1½`` is a mixed number: not read, nor is its 1).
_VULGAR = "[\u00bc-\u00be\u2150-\u215e]"
_VULGAR_NUM = rf"[-−\u2013]?\s?{_VULGAR}(?![\d\u00bc-\u00be\u2150-\u215e])(?![A-Za-z_])"
# Outside a power's braces a fraction may be of something, in prose ("½ of the runs", "a ½-day
# budget"): not a value then.
_VULGAR_PROSE = rf"{_VULGAR_NUM}(?!\s?[-\u2010]\s?[A-Za-z])(?!\s+of\b)"
_NUM = (
    r"[-−\u2013]?\s?\d+(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)?"
    rf"(?!\.?\d)(?!{_VULGAR})(?![A-Za-z_])(?!\s?/\s?[A-Za-z])(?!\s?\^)"
)
# A value in prose: a number or a vulgar fraction (``alpha = ½``, "an exponent of ¼").
_VALUE = rf"(?:{_NUM}|{_VULGAR_PROSE})"
_UNSIGNED = rf"\d+(?:\.\d+)?(?!\.?\d)(?!{_VULGAR})(?![A-Za-z_])(?!\s?/\s?[A-Za-z])(?!\s?\^)"
_VULGAR_VALUE = {
    chr(c): unicodedata.numeric(chr(c)) for c in [*range(0xBC, 0xBF), *range(0x2150, 0x215F)]
}
_GREEK = r"\\?(?:alpha|beta|gamma|nu|kappa)|α|β|γ|ν|κ"
# Further Greek letters, read as exponent symbols only in an abstract that shows them as the
# power of a letter (``D^{-delta}``): alone they are as often a tolerance, a gap, a learning rate
# or a mean (``_exponent_symbols`` records them only from ``_MORE_SYMBOL_POWER``).
_GREEK_MORE_NAMES = (
    "delta", "epsilon", "zeta", "eta", "theta", "lambda", "mu", "xi", "rho", "tau", "phi", "omega"
)  # fmt: skip
_GREEK_MORE_CHARS = "δεζηθλμξρτφω"
_GREEK_MORE = rf"\\?(?:{'|'.join(_GREEK_MORE_NAMES)})|[{_GREEK_MORE_CHARS}]"
_MORE_KEYS = frozenset([*_GREEK_MORE_NAMES, *_GREEK_MORE_CHARS])
_GREEK_ALL = rf"{_GREEK}|{_GREEK_MORE}"
# An uncertainty printed after a value (``0.076 pm 0.003``, ``0.34 ± 0.02``): not a second value.
_UNCERTAINTY = rf"(?:\s?(?:±|\\?\bpm\b|\+/-)\s?(?:\d+(?:\.\d+)?(?![\d{_VULGAR[1:-1]}])|{_VULGAR}))"
_POWER = re.compile(
    rf"(?<![\w.\\])(?P<base>\\?[A-Za-z][A-Za-z0-9]*(?:_\{{?[A-Za-z0-9]+\}}?)?)\s?\^\s?[{{(]\s?(?P<num>{_NUM}|{_VULGAR_NUM})"
    rf"{_UNCERTAINTY}?\s?[}})]"
)
# An unbraced power anywhere, when not whole (``A N^−0.34``): read like a braced one.
_POWER_UNBRACED = re.compile(
    r"(?<![\w.\\])(?P<base>\\?[A-Za-z][A-Za-z0-9]*(?:_\{?[A-Za-z0-9]+\}?)?)\s?\^\s?"
    rf"(?P<num>[-−\u2013]?\s?\d+\.\d+|{_VULGAR_NUM})"
    r"(?!\.?\d)(?![A-Za-z_])(?!\s?/\s?[A-Za-z])(?!\s?\^)"
)
# Unicode superscripts (``N⁻⁰·⁰⁷⁶``, ``C⁰·⁵``; no superscript full stop exists, so listings print
# a middle dot, a dot operator, a dot above or a plain full stop). Only a single-letter base
# (with a subscript): a word with a superscript is a footnote marker ("scaling laws¹").
_SUP_DIGIT = "[⁰¹²³⁴⁵⁶⁷⁸⁹]"
# A superscript fraction (``N⁻¹ᐟ²``) is printed with U+141F or the fraction slash U+2044.
_SUP_MAP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻·⋅˙ᐟ\u2044", "0123456789+-...//")
_SUP_NUM = (
    rf"[⁺⁻]?{_SUP_DIGIT}+(?:[·⋅˙.]{_SUP_DIGIT}+|[ᐟ\u2044]{_SUP_DIGIT}+)?"
    # a vulgar fraction after a superscript sign (``N⁻½``); alone (``N½``) it is no power
    rf"|[⁺⁻]{_VULGAR}"
)
# A gate (one character class: an alternation of a digit class and a pair ``⁻½`` searched twice
# as slowly): a superscript sign alone lets through text no superscript rule reads.
_HAS_SUP = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹ᵅᵝᵞ⁺⁻]")
_POWER_SUP = re.compile(
    r"(?<![\w.\\])(?P<base>[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?)"
    rf"(?P<num>{_SUP_NUM})(?![⁰¹²³⁴⁵⁶⁷⁸⁹ᵅᵝᵞᐟ\u2044\w])"
)
# A superscript after a number or a unit is a unit's power (``10³⁸ erg s⁻¹``, ``4000 tokens s⁻¹``),
# and so is a whole power of a unit's letter (``(s⁻¹)``, ``m⁻²``).
_UNIT_LETTERS = frozenset("smgJWKh")
_BEFORE_UNIT = re.compile(
    r"(?:\d|\b(?:erg|J|W|m|cm|km|s|g|kg|Hz|eV|FLOPs?|tokens?|bits?|bytes?|samples?)\s?[·⋅/]?)"
    r"\s?$"
)
# A parenthesised base, as Kaplan et al. write their laws: a scale letter over its constant or
# the constant over it, ``(N_c/N)^{0.076}``, ``(C_c/C_min)^{0.050}``, ``(N/N_0)^{-0.07}``,
# ``left(frac{N_c}{N}right)^{0.076}`` (backslashes stripped or kept); the power braced,
# parenthesised, unbraced or in superscripts. ``_paren_base`` checks the two sides.
# A side may carry a superscript name, Kaplan et al.'s ``C_c^{min}`` (``_paren_base`` checks it).
_FRAC_SIDE = r"[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?(?:\^\{?[A-Za-z]+\}?)?|1"
_PAREN_BASE = (
    r"(?<![\w\\])(?:\\?left\s?)?\(\s?(?:"
    rf"(?P<top>{_FRAC_SIDE})\s?/\s?(?P<bottom>{_FRAC_SIDE})"
    rf"|\\?frac\s?\{{\s?(?P<ftop>{_FRAC_SIDE})\s?\}}\s?\{{\s?(?P<fbottom>{_FRAC_SIDE})\s?\}}"
    r")\s?(?:\\?right\s?)?\)"
)
_POWER_PAREN = re.compile(
    rf"{_PAREN_BASE}\s?\^\s?(?:[{{(]\s?(?P<num>{_NUM}|{_VULGAR_NUM}){_UNCERTAINTY}?\s?[}})]"
    rf"|(?P<bare>[-−\u2013]?\s?\d+(?:\.\d+)?(?!\.?\d)|{_VULGAR_NUM})(?![A-Za-z_])(?!\s?/)"
    r"(?!\s?\^))"
)
_POWER_PAREN_SUP = re.compile(rf"{_PAREN_BASE}(?P<sup>{_SUP_NUM})(?![⁰¹²³⁴⁵⁶⁷⁸⁹ᵅᵝᵞᐟ\u2044\w])")
# The constant beside a scale letter: the letter with subscript c, 0 or crit (N_c, D_c, N_0).
_CONSTANT_SUB = frozenset({"c", "0", "crit"})
_POWER_BARE = re.compile(
    r"(?:\\?propto|∝|~|\u223c|\bscales?\s+(?:approximately\s+|roughly\s+)?(?:as|like))\s*"
    rf"(?P<base>[A-Za-z][A-Za-z0-9]*(?:_\{{?[A-Za-z0-9]+\}}?)?)\s?\^\s?(?P<num>{_NUM})"
)


def _symbol_rx(greek: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![A-Za-z\\])(?P<sym>{greek})(?:_\{{?(?P<sub>[A-Za-z0-9]+)\}}?)?\s?"
        rf"(?:=|≈|≃|~|\u223c|\\?approx\b|\\?simeq\b|\\?sim\b)\s?(?P<num>{_VALUE})"
        rf"(?:\s?(?P<dash>-|\u2013|\u2014|to)\s?(?P<num2>{_UNSIGNED}))?",
    )


_SYMBOL = _symbol_rx(_GREEK)
# With the further letters, searched only in an abstract showing one of them as a power.
_SYMBOL_ALL = _symbol_rx(_GREEK_ALL)
_WORDS = re.compile(
    r"\b(?P<kind>exponents?|slopes?)\s*"
    r"(?:(?:of|=|≈|~|is|are|was|were|equal to|equals|close to|near|around|about|approximately|"
    r"roughly|nearly|of about|of approximately|of roughly|at|as|between|from|ranges? from|"
    r"ranging from|lies? between|in the range(?: of)?)\s*){0,3}"
    rf"(?P<num>{_VALUE})(?P<more>(?:\s*(?:,\s*(?:and\s+)?|and\s+|or\s+|to\s+){_VALUE})*)"
)
# "the exponent for model size lies between 0.2 and 0.3": a range a few words after "exponent".
_RANGE = re.compile(
    r"\bexponents?\b(?:\s+[A-Za-z-]+){1,6}?\s+(?:between|from)\s+"
    rf"(?P<num>{_NUM})\s+(?:and|to)\s+(?P<num2>{_NUM})"
)
# "alpha and beta are 0.34 and 0.28, respectively": a list of exponent symbols, a list of values
# as long, and "respectively" (``_symbol_lists`` pairs them in order). Lists of 2 to 6, as
# ``grammar._listed_ending`` reads: unbounded lists backtracked cubically over a long run of
# symbols.
# Values may be vulgar fractions ("alpha and beta are ½ and ¼"), hedged ("are about 0.34 and
# 0.28") or carry an uncertainty (``0.34 ± 0.02``, dropped as in a tuple); "respectively" may
# come before the values instead ("alpha and beta are respectively 0.34 and 0.28").
_SYMBOL_ITEM = re.compile(
    rf"(?<![A-Za-z\\])(?P<sym>{_GREEK_ALL})(?:_\{{?(?P<sub>[A-Za-z0-9]+)\}}?)?"
)
_NUM_LIST_SEP = r"(?:\s?,\s?(?:and\s+)?|\s+and\s+)"
_LIST_NUM = rf"{_VALUE}{_UNCERTAINTY}?"
_LIST_VERB = (
    r"(?:are|were|=|≈|of|equal(?: to)?|being|take values(?: of)?"
    r"|(?:are|were) (?:estimated|fitted|found|measured) (?:as|to be|at))"
)
_LIST_HEDGE = r"(?:(?:about|approximately|around|roughly|close to|≈|~|\u223c)\s?)?"


def _symbol_list_rx(greek: str, *, before: bool) -> re.Pattern[str]:
    """A list of symbols (``greek``), a verb, then as many values and "respectively" (or, with
    ``before``, "respectively" between the verb and the values)."""
    one = rf"(?:{greek})(?:_\{{?[A-Za-z0-9]+\}}?)?"
    nums = rf"(?P<nums>{_LIST_NUM}(?:{_NUM_LIST_SEP}{_LIST_NUM}){{1,5}})"
    return re.compile(
        rf"(?<![A-Za-z\\])(?P<syms>{one}(?:{_NUM_LIST_SEP}{one}){{1,5}})\s?,?\s?{_LIST_VERB}\s?"
        + (
            rf"respectively\s?,?\s?{_LIST_HEDGE}{nums}"
            if before
            else rf"{_LIST_HEDGE}{nums}\s*,?\s*(?:\([^()]{{0,40}}\)\s*,?\s*)?respectively\b"
        )
    )


_SYMBOL_LIST = _symbol_list_rx(_GREEK, before=False)
_SYMBOL_LIST_BEFORE = _symbol_list_rx(_GREEK, before=True)
_SYMBOL_LIST_ALL = _symbol_list_rx(_GREEK_ALL, before=False)
_SYMBOL_LIST_BEFORE_ALL = _symbol_list_rx(_GREEK_ALL, before=True)
# "the exponents of N and D are 0.34 and 0.28[, respectively]": the quantities owning the exponents
# before their values (``_owned``: the owners must read as a list of quantities, and pair with the
# values in order only when as many, each once, and "respectively" or the clause's end follows).
_OWNED = re.compile(
    r"\b[Ee]xponents?\s+(?:of|for|in|with respect to|w\.r\.t\.|along|on)\s+(?:the\s+)?"
    r"(?P<owners>[^.;:]{1,80}?)\s*(?:=|≈|\b(?:is|are|was|were)(?:\s+(?:estimated|fitted|found"
    r"|measured)\s+(?:as|to be|at))?|\bequals?|\bof)\s*"
    rf"(?P<nums>{_VALUE}{_UNCERTAINTY}?(?:{_NUM_LIST_SEP}{_VALUE}{_UNCERTAINTY}?){{0,5}})"
)
# A tuple of exponent symbols given a tuple of values as long, ``(alpha, beta) = (0.34, 0.28)``
# (``_symbol_tuples`` pairs them in order); lists of 2 to 6, as ``_SYMBOL_LIST`` reads.
_TUPLE_NUM = rf"{_VALUE}{_UNCERTAINTY}?"


def _symbol_tuple_rx(greek: str) -> re.Pattern[str]:
    one = rf"(?:{greek})(?:_\{{?[A-Za-z0-9]+\}}?)?"
    return re.compile(
        rf"(?<![\w\\])\(\s?(?P<syms>{one}(?:\s?,\s?{one}){{1,5}})\s?\)\s?"
        r"(?:=|≈|≃|~|\u223c|\\?approx\b|\\?simeq\b|\\?sim\b|are\b|were\b|of\b)\s?"
        rf"\(\s?(?P<nums>{_TUPLE_NUM}(?:\s?,\s?{_TUPLE_NUM}){{1,5}})\s?\)"
    )


_SYMBOL_TUPLE = _symbol_tuple_rx(_GREEK)
_SYMBOL_TUPLE_ALL = _symbol_tuple_rx(_GREEK_ALL)
_TUPLE_ITEM = re.compile(rf"(?P<num>{_VALUE}){_UNCERTAINTY}?")
# A further tuple of values for the same symbols: "(alpha, beta) = (0.34, 0.28) for C4 and (0.31,
# 0.29) for RedPajama", "... = (0.34, 0.28) and (0.31, 0.29) for C4 and RedPajama, respectively".
# After a label ("for C4") a comma or "and" joins it, else "and" must: "(0.34, 0.28), (0.30,
# 0.38)" and "(0.34, 0.28) with 95% intervals (0.30, 0.38)" are no second tuple.
_TUPLE_MORE = re.compile(
    r"(?:\s?(?:for|on|in|at)\s+[^()=;.,]{1,40}?\s*(?:,\s*(?:and\s+)?|\band\s+)|\s?,?\s?and\s+)"
    rf"\(\s?(?P<nums>{_TUPLE_NUM}(?:\s?,\s?{_TUPLE_NUM}){{1,5}})\s?\)"
)
# ... unless the pair is named an interval after it ("and (0.30, 0.38) as 95% intervals").
_INTERVAL_AFTER = re.compile(
    r"\s*(?:as\s+|are\s+)?(?:the\s+|its\s+|their\s+)?(?:\d+(?:\.\d+)?\s?%\s+)?"
    r"(?:confidence|credible|CIs?\b|intervals?\b|bounds?\b|errors?\b|uncertaint|quantiles?\b"
    r"|percentiles?\b|standard deviations?\b|std\b)",
    re.IGNORECASE,
)
_MAX_MORE_TUPLES = 5
# A Greek symbol set as a hyperparameter or naming a statistic, not a law's exponent ("Adam with
# beta = 0.95", "mix the datasets with alpha = 0.3", "significance level alpha = 0.05", "Cohen's
# kappa = 0.81", "discount factor gamma = 0.99"): read in the words before the symbol.
_SETTING_BEFORE = re.compile(
    r"\b(?:adam\w*|optimi[sz]ers?|momentum|weight decay|decay rates?|temperatures?|"
    r"learning rates?|mix\w*|dropout|smoothing|regulari[sz]\w*|penalt(?:y|ies)|interpolat\w*|"
    r"significance|confidence|cohen\w*|fleiss\w*|agreement|discount\w*|dirichlet|concentration|"
    r"prior)"
    r"\b[^.;]{0,30}$",
    re.IGNORECASE,
)
# "exponent" of something that is not a law of scale, named just before the word: a statistic
# of a series ("Hurst exponent of 0.7"), a learning-rate schedule's ("schedule with decay exponent
# 0.5") or a floating-point format's field ("exponent 4 and mantissa 3", see ``_FLOAT_FORMAT``).
_OTHER_EXPONENT_BEFORE = re.compile(
    r"(?:\b(?:Hurst|Lyapunov|H[öo]lder|Pareto|tail|Zipf\w*|Hill)\s+"
    r"|\b(?:schedul\w*|warm-?up)(?:\s+[\w-]+){0,2}\s+(?:(?:decay|power)\s+)?)$",
    re.IGNORECASE,
)
_FLOAT_FORMAT = re.compile(
    r"\bmantissa|\bE\dM\d\b|\bexponent (?:bits?|field|width)\b", re.IGNORECASE
)
_SETTING_WIDTH = 60
# Words that make numbers after "exponent" a range ("from 0.1 to 0.4", "between 0.2 and 0.3").
_RANGE_WORD = re.compile(r"\b(?:from|between|ranges?|ranging|to)\b")
_MORE_NUM = re.compile(_VALUE)
# A sentence that speaks of a law: needed before a symbol's value counts as an exponent.
_LAW_CUE = re.compile(
    r"exponent|power[- ]?law|scaling[- ]?law|\bscal(?:es|ing)\b|propto|∝|\blaw\b", re.IGNORECASE
)
# Looser, for a braced power: the rest of its sentence must relate quantities somehow.
_POWER_CUE = re.compile(
    rf"{_LAW_CUE.pattern}|\bdecays?\b|\bfollows?\b|\brates?\b|\bfalls? (?:off )?as\b|"
    r"\bgrows? as\b|\bfit(?:s|ted|ting)?\b",
    re.IGNORECASE,
)
_POWER_CUE_WIDTH = widest(_POWER_CUE)
_AFTER_BAD = re.compile(
    r"\s?(?:%|x\b|×|times\b|[KMBT]\b|billion|million|thousand|tokens?|parameters?|params|GPUs?|"
    r"hours?|days?|years?|erg|bits?\b|layers?|FLOPs?)",
    re.IGNORECASE,
)
_BEFORE_BIG_O = re.compile(r"(?:\bO|mathcal\{O\}|\\mathcal\{O\})\s?\(\s?$")
# A power inside an exponential, ``exp(-x^{0.5})``: a function's argument, not a law's power.
_BEFORE_EXP = re.compile(r"\bexp\s?\(\s?[-−]?\s?$")
# A power in a learning-rate schedule being set ("schedule eta_t = eta_0 t^{-0.5}", "square-root
# decay eta propto t^{-0.5}"): a setting, not a law found (the guide's "power-law schedule").
_SCHEDULE_BEFORE = re.compile(
    r"\b(?:schedul\w*|warm-?up|(?:learning[- ]rate|LR) decay|square[- ]root decay)\b[^.;,]{0,30}$",
    re.IGNORECASE,
)
# A Greek symbol used as an exponent: ``N^{-alpha}``.
_SYMBOL_POWER = re.compile(
    rf"(?P<base>[A-Za-z][A-Za-z0-9]*)(?:_\{{?[A-Za-z0-9]+\}}?)?\s?\^\s?\{{?\s?(?P<neg>[-−]?)\s?(?P<sym>{_GREEK})"
)
# The same on a parenthesised base, ``(N_c/N)^{alpha_N}``.
_SYMBOL_PAREN = re.compile(
    rf"{_PAREN_BASE}\s?\^\s?\{{?\s?(?P<neg>[-−]?)\s?(?P<sym>{_GREEK})(?:_\{{?(?P<sub>[A-Za-z0-9]+)\}}?)?"
)
# The same in superscript letters, ``N⁻ᵅ`` (a symbolic exponent: no value by itself).
_SYMBOL_SUP = re.compile(
    r"(?<![\w\\])(?P<base>[A-Za-z])(?:_\{?[A-Za-z0-9]+\}?)?(?P<neg>[⁺⁻]?)(?P<sym>[ᵅᵝᵞ])"
)
_SUP_GREEK = {"ᵅ": ("α", "alpha"), "ᵝ": ("β", "beta"), "ᵞ": ("γ", "gamma")}
# A further Greek letter as the whole power of a letter, ``D^{-delta}``, ``N^delta`` (not of
# ``e``, and not inside ``exp(..)``: checked in ``_exponent_symbols``).
_MORE_SYMBOL_POWER = re.compile(
    rf"(?<![\w\\])(?P<base>[A-Za-z][A-Za-z0-9]*)(?:_\{{?[A-Za-z0-9]+\}}?)?\s?\^\s?"
    rf"(?:\{{\s?(?P<neg>[-−]?)\s?(?P<sym>{_GREEK_MORE})\s?\}}|(?P<bneg>[-−]?)(?P<bsym>{_GREEK_MORE})"
    r"(?![A-Za-z0-9_]))"
)
register(
    _POWER, _POWER_BARE, _POWER_UNBRACED, _POWER_PAREN, _SYMBOL, _WORDS, _RANGE, _LAW_CUE,
    _SYMBOL_POWER, _SYMBOL_PAREN, _SYMBOL_LIST, _SYMBOL_TUPLE, _OWNED, _SYMBOL_LIST_BEFORE,
    _MORE_SYMBOL_POWER, _SYMBOL_ALL, _SYMBOL_LIST_ALL, _SYMBOL_LIST_BEFORE_ALL, _SYMBOL_TUPLE_ALL,
)  # fmt: skip
_MAX_ABS = 10.0  # exponents of scaling laws are small numbers; larger ones are counts or units


class _Use(NamedTuple):
    """How an abstract uses a Greek symbol as a power: the (variable, rule) of its base, and
    the sign the power takes it with (-1 for ``N^{-alpha}`` and ``(N_c/N)^{alpha_N}``)."""

    variable: str | None
    rule: str | None
    sign: int


@dataclass(frozen=True)
class ExponentMatch:
    """One exponent found in a text: where, how it was read, and what it belongs to."""

    value: float
    start: int
    end: int
    rule: str
    symbol: str | None
    variable: str | None  # from the base symbol (N -> model_size), None if it does not say
    variable_rule: str | None = None
    """Which rule named ``variable``: ``convention`` (N, D, C... as papers write them),
    ``defined`` (a base letter the abstract defines in words), ``subscript`` (``alpha_D``) or
    ``grammar`` (the quantity a words-rule exponent is tied to); None when ``variable`` is."""


def parse_number(text: str) -> float | None:
    """A printed number (unicode minus, spaces, simple and vulgar fractions) as a float, else
    None."""
    clean = text.replace("−", "-").replace("\u2013", "-").replace(" ", "")
    if clean and clean[-1] in _VULGAR_VALUE:
        sign = clean[:-1]  # a sign at most: ``1½`` (a mixed number) is not read
        return (
            (-1 if sign == "-" else 1) * _VULGAR_VALUE[clean[-1]]
            if sign in ("", "-", "+")
            else None
        )
    try:
        if "/" in clean:
            num, den = clean.split("/", 1)
            return float(num) / float(den) if float(den) != 0 else None
        return float(clean)
    except ValueError:
        return None


def _plausible(text: str, num_start: int, num_end: int, value: float | None) -> bool:
    if value is None or value == 0 or abs(value) > _MAX_ABS:
        return False
    return not _AFTER_BAD.match(text, num_end)


def _strip(symbol: str) -> str:
    return symbol.lstrip("\\")


def _paren_base(
    m: re.Match[str], defined: dict[str, str | None]
) -> tuple[str | None, str | None, int] | None:
    """(variable, rule, sign) of a parenthesised base ``(N_c/N)``, else None.

    One side is the scale letter (``N``, ``C_min``), the other its constant: the same letter
    with subscript c, 0 or crit, or 1. The letter names the variable (its definition in words,
    else the convention); a letter neither names is no scale letter (``(T/T_0)``). The sign is
    that of the quantity's power: -1 when it is the denominator, so ``(N_c/N)^{0.076}`` is
    stored as ``N^{-0.076}`` is.
    """
    top = m.group("top") or m.group("ftop")
    bottom = m.group("bottom") or m.group("fbottom")
    constants = [_is_constant(side, other) for side, other in ((top, bottom), (bottom, top))]
    if constants.count(True) != 1:
        return _coefficient_ratio(top, bottom, defined)
    scale = bottom if constants[0] else top
    if "^" in scale:
        return None  # only the constant names its quantity by a superscript
    variable, rule = base_variable(scale[0], defined)
    if variable is None:
        return None
    return variable, rule, -1 if constants[0] else 1


def _coefficient_ratio(
    top: str, bottom: str, defined: dict[str, str | None]
) -> tuple[str | None, str | None, int] | None:
    """(variable, rule, -1) of ``(A/N)``: a coefficient letter over a scale letter, the law
    ``(A/N)^{alpha}`` being ``A^alpha N^{-alpha}``; else None. The coefficient is one bare letter
    that stands for no quantity here (``(B/D)`` stays unread: B is batch size by convention,
    unless the abstract defines it otherwise), the scale letter bare or subscripted (``N_eff``).
    """
    if len(top) != 1 or not top.isalpha() or "^" in bottom or top == bottom[0]:
        return None
    if base_variable(top, defined)[0] is not None:
        return None
    variable, rule = base_variable(bottom.split("_")[0], defined)
    return None if variable is None else (variable, rule, -1)


def _is_constant(side: str, other: str) -> bool:
    """Whether ``side`` of a ratio is the constant of the scale letter ``other``: the same
    letter with subscript c, 0 or crit, and a superscript, if any, naming ``other``'s subscript
    (Kaplan et al.'s ``C_c^{min}`` is the constant of ``C_min``)."""
    if side == "1":
        return other != "1"
    side, _, sup = side.partition("^")
    letter, _, sub = side.partition("_")
    if sup and sup.strip("{}") != other.partition("_")[2].strip("{}"):
        return False
    return letter == other[0] and sub.strip("{}") in _CONSTANT_SUB


# The opening of a fraction's denominator, ``\\frac{A}{``, ``\\dfrac{A}{``, ``frac{B}{ ``: a power
# opening the denominator divides (``\\frac{A}{N^{\\alpha}}`` is ``A N^{-alpha}``). A second power
# in it (``\\frac{A}{N^{a} D^{b}}``) is not seen as divided: it keeps its printed sign, as before.
_FRAC_DENOMINATOR = re.compile(r"(?:\\|\b)[dt]?frac\s?\{[^{}]{1,40}\}\s?\{$")
_FRAC_WIDTH = 60


@functools.lru_cache(maxsize=16)
def _divided(text: str, base_start: int) -> bool:
    """Whether the power starting at ``base_start`` is a divisor: ``A/N^{..}``, ``1 / N^{..}``,
    or the whole denominator of a fraction, ``\\frac{A}{N^{\\alpha}}`` (backslash kept or not).

    Only a slash right before the base (spaces aside) counts, not a URL's ``//``. A ratio's power
    (``(N_c/N)^{0.076}``) never gets here: ``_paren_powers`` reads it, with the ratio's sign.
    """
    i = base_start - 1
    while i >= 0 and text[i] == " ":
        i -= 1
    if i >= 0 and text[i] == "{":
        return _FRAC_DENOMINATOR.search(text, max(0, i - _FRAC_WIDTH), i + 1) is not None
    return i >= 1 and text[i] == "/" and text[i - 1] not in "/:"  # not a URL's //


def _exponent_symbols(text: str) -> dict[str, _Use]:
    """Greek symbols used as exponents (``N^{-alpha}``, ``N⁻ᵅ``, ``D^{-delta}``), mapped to their
    first use: the (variable, rule) of its base and the sign of the power (``_Use``).

    Cached: every sentence of one abstract asks about the same text. Callers must not mutate.
    """
    found: dict[str, _Use] = {}
    folded = fold(text, scan=False)
    for m in finditer(_SYMBOL_POWER, text, folded):
        if _function_argument(text, m):
            continue
        variable = base_variable(m.group("base"), defined_letters(text))
        sign = -1 if m.group("neg") else 1
        if _divided(text, m.start("base")):
            sign = -sign  # ``A / N^{alpha}``: alpha's power of N is -alpha
        found.setdefault(_strip(m.group("sym")), _Use(*variable, sign))
    for m in finditer(_SYMBOL_PAREN, text, folded) if "^" in text else ():
        paren = _paren_base(m, defined_letters(text))
        if paren is not None:
            # keyed with its subscript: ``alpha_N`` and ``alpha_D`` are two exponents
            sub = m.group("sub")
            key = _strip(m.group("sym")) + (f"_{sub}" if sub else "")
            found.setdefault(key, _Use(*paren[:2], paren[2] * (-1 if m.group("neg") else 1)))
    if _HAS_SUP.search(text):
        for m in _SYMBOL_SUP.finditer(text):
            variable = base_variable(m.group("base"), defined_letters(text))
            for sym in _SUP_GREEK[m.group("sym")]:
                found.setdefault(sym, _Use(*variable, -1 if m.group("neg") == "⁻" else 1))
    for m in finditer(_MORE_SYMBOL_POWER, text, folded) if "^" in text else ():
        if _function_argument(text, m):
            continue
        variable = base_variable(m.group("base"), defined_letters(text))
        neg = m.group("neg") or m.group("bneg")
        found.setdefault(
            _strip(m.group("sym") or m.group("bsym")), _Use(*variable, -1 if neg else 1)
        )
    return found


def _function_argument(text: str, m: re.Match[str]) -> bool:
    """Whether the power ``m`` (group ``base``) is ``e^{-alpha}`` or inside ``exp(..)``: a
    function's argument, not a law's power (as ``e^{-2}`` and ``exp(-x^{0.5})`` are no
    exponents)."""
    base = _strip(m.group("base"))
    return base in ("e", "exp") or search_end(_BEFORE_EXP, text, 0, m.start("base"))


def _further(sym: str) -> bool:
    """Whether ``sym`` is one of the further letters (``delta``), an exponent symbol only where
    the abstract shows it as a power."""
    return _strip(sym) in _MORE_KEYS


def find_exponents(
    text: str, sentence: tuple[int, int], *, folded: str | None = None
) -> list[ExponentMatch]:
    """Exponents stated in ``text[sentence[0]:sentence[1]]``; offsets are into ``text``.

    ``folded``, if given, is ``prefilter.fold`` of that sentence (saves computing it again).
    """
    start, end = sentence
    body = text[start:end]
    folded = fold(body) if folded is None else folded
    law_sentence = matches(_LAW_CUE, body, folded)
    symbols = _exponent_symbols(text)
    out: list[ExponentMatch] = []

    superscripts = _HAS_SUP.search(body) is not None
    cues: list[tuple[int, int]] | None = None
    for rx, cued in (
        (_POWER, False), (_POWER_BARE, True), (_POWER_UNBRACED, False), (_POWER_SUP, False)
    ):  # fmt: skip
        if rx is _POWER_SUP and not superscripts:
            continue
        matched = _POWER_SUP.finditer(body) if rx is _POWER_SUP else finditer(rx, body, folded)
        for m in matched:
            if not cued:
                if cues is None:
                    cues = [c.span() for c in _POWER_CUE.finditer(body)]
                if not _cue_elsewhere(body, m.start(), m.end(), cues):
                    continue  # a bare x^{2} in a formula is not the exponent of a law
            if search_end(_BEFORE_BIG_O, body, 0, m.start("base")):
                continue  # O(n^{2}) is a cost, not a law of performance
            if search_end(_BEFORE_EXP, body, 0, m.start("base")) or _SCHEDULE_BEFORE.search(
                body, max(0, m.start() - 60), m.start()
            ):
                continue
            printed = m.group("num")
            if rx is _POWER_SUP:
                if _BEFORE_UNIT.search(body, max(0, m.start() - 12), m.start()):
                    continue  # ``erg s⁻¹``: a unit's power
                printed = printed.translate(_SUP_MAP)
            value = parse_number(printed)
            if not _plausible(body, m.start("num"), m.end("num"), value):
                continue
            assert value is not None
            if (
                rx is _POWER_SUP
                and value.is_integer()
                and (printed[0] not in "+-" or m.group("base") in _UNIT_LETTERS)
            ):
                continue  # ``m²``, ``x²``, ``R²``, a footnote marker (``N¹``) or a unit (``s⁻¹``)
            parenthesised = rx is _POWER and "(" in body[m.end("base") : m.start("num")]
            if parenthesised and value > 0 and value.is_integer():
                continue  # ``W^(1)``, ``h^(2)``: a layer's or a derivative's index
            base = _strip(m.group("base")).split("_")[0]
            if (value >= 2 and value.is_integer()) or base in ("e", "exp"):
                # a whole power >= 2 is a polynomial term (``c x^{2}``) or a count of pairs
                # ("comparisons scale as N^{2}"), and ``e^{-2}`` is a constant, not a law's
                continue
            # read only when a power is found (cached per abstract: hashing a str is cached too)
            variable, named_by = base_variable(base, defined_letters(text))
            if _divided(body, m.start("base")):
                value = -value  # ``A/N^{0.076}`` is ``A N^{-0.076}``: the stored value is the power
            out.append(
                ExponentMatch(value, start + m.start(), start + m.end(), "power", None, variable,
                              named_by)
            )  # fmt: skip

    if "(" in body and (superscripts or "^" in body):  # the gate's literal is "(" alone
        out += _paren_powers(body, start, folded, superscripts, text)

    # the further letters (``delta``) only where the abstract shows one as a power
    further = any(_further(key.partition("_")[0]) for key in symbols)
    for m in finditer(_SYMBOL_ALL if further else _SYMBOL, body, folded):
        sym = _strip(m.group("sym"))
        reading = _symbol_reading(body, m.start(), sym, m.group("sub"), symbols, law_sentence)
        if reading is None:
            continue
        variable, named_by, sign = reading
        groups = ["num"]
        if m.group("num2") is not None:
            if _count_range(body, [m.span("num"), m.span("num2")]):
                continue  # "alpha = 1-2 orders of magnitude"
            if m.group("dash") == "to" or _ascending(m):
                groups.append("num2")  # "alpha = 0.3 - 0.02": a dash range is printed low to high
        for group in groups:
            value = parse_number(m.group(group))
            if not _plausible(body, m.start(group), m.end(group), value):
                continue
            assert value is not None
            s_start = m.start() if group == "num" else m.start(group)
            out.append(
                ExponentMatch(sign * value, start + s_start, start + m.end(group), "symbol", sym,
                              variable, named_by)
            )  # fmt: skip

    if "respectively" in folded:  # the gate of ``_SYMBOL_LIST``, without a call per sentence
        out += _symbol_lists(body, start, folded, symbols, law_sentence, further)
    if symbols or law_sentence:  # else ``_symbol_reading`` refuses every symbol of a tuple
        out += _symbol_tuples(body, start, folded, symbols, law_sentence, further)

    float_format = _FLOAT_FORMAT.search(body) is not None
    for m in finditer(_WORDS, body, folded):
        if m.group("kind").startswith("slope") and not law_sentence:
            continue
        if m.group("kind").startswith("exponent") and (
            float_format or _OTHER_EXPONENT_BEFORE.search(body, max(0, m.start() - 40), m.start())
        ):
            continue
        numbers = [(m.start("num"), m.end("num"))]
        offset = m.start("more")
        numbers += [
            (offset + n.start(), offset + n.end()) for n in _MORE_NUM.finditer(m.group("more"))
        ]
        numbers += _dash_end(body, numbers)
        if _RANGE_WORD.search(body, m.end("kind"), m.end()) and _count_range(body, numbers):
            continue  # "exponents from 5 to 7 datasets"
        defined = defined_letters(text)  # cached per abstract, read only when needed
        tied = tied_variable(body, m.start("kind"), m.end("kind"), numbers, defined)
        each: list[str | None] = [tied] * len(numbers)
        if len(numbers) > 1 and not _RANGE_WORD.search(body, m.end("kind"), m.end()):
            paired = respective(body, m.start("kind"), numbers, defined)
            each = list(paired) if paired else each
        for (n_start, n_end), variable in zip(numbers, each, strict=True):
            value = parse_number(body[n_start:n_end])
            if not _plausible(body, n_start, n_end, value):
                continue
            assert value is not None
            span_start = start + (m.start() if (n_start, n_end) == numbers[0] else n_start)
            out.append(
                ExponentMatch(value, span_start, start + n_end, "words", None, variable,
                              "grammar" if variable else None)
            )  # fmt: skip

    if "xponent" in folded:  # the gate of ``_OWNED``, without a call per sentence
        out += _owned(body, start, folded, text, float_format)

    for m in finditer(_RANGE, body, folded):
        if float_format or _OTHER_EXPONENT_BEFORE.search(body, max(0, m.start() - 40), m.start()):
            continue
        if _count_range(body, [m.span("num"), m.span("num2")]):
            continue  # "exponents of runs from 3 to 5 seeds"
        numbers = [m.span("num"), m.span("num2")]
        kind_end = m.start() + len("exponent") + (body[m.start() + len("exponent")] == "s")
        defined = defined_letters(text)
        tied = tied_variable(body, m.start(), kind_end, numbers, defined)
        for group in ("num", "num2"):
            value = parse_number(m.group(group))
            if not _plausible(body, m.start(group), m.end(group), value):
                continue
            assert value is not None
            s_start = m.start() if group == "num" else m.start(group)
            out.append(ExponentMatch(value, start + s_start, start + m.end(group), "range", None,
                                     tied, "grammar" if tied else None))  # fmt: skip

    return [_unconventional(text, m) for m in _dedupe(out)]


_CONVENTIONAL = frozenset(BASE_VARIABLE.values())


@functools.lru_cache(maxsize=16)
def _named_quantities(text: str) -> frozenset[str]:
    """The scale quantities the abstract names in words (``lexicon.VARIABLE_PATTERNS``)."""
    return frozenset(name for name, rx in lx.VARIABLE_PATTERNS.items() if rx.search(text))


def _unconventional(text: str, match: ExponentMatch) -> ExponentMatch:
    """``match`` without its conventional variable when the abstract names its scale quantities
    in words and none of them is one the conventions stand for.

    The convention (N for parameters, D for data, C for compute...) is the pre-training
    literature's; an abstract whose only scale quantities are others (fine-tuning data, test-time
    samples) uses its N for something else (images, patients), so the letter says nothing about
    the quantity. An abstract naming none keeps the convention (a bare formula is read as papers
    write it), and so does one naming any conventional quantity.
    """
    if match.variable_rule != "convention":
        return match
    named = _named_quantities(text)
    if not named or named & _CONVENTIONAL:
        return match
    return dataclasses.replace(match, variable=None, variable_rule=None)


def _symbol_reading(
    body: str,
    at: int,
    sym: str,
    sub: str | None,
    symbols: dict[str, _Use],
    law_sentence: bool,
) -> tuple[str | None, str | None, int] | None:
    """(variable, rule, sign) of the exponent symbol ``sym`` (subscript ``sub``) given a value
    at ``at``, or None when its value is not an exponent: the symbol is not used as an exponent
    in the abstract and the sentence speaks of no law (a further letter, ``delta``, must be used
    as one), or it is a hyperparameter being set.

    The sign is that of the power the abstract writes with the symbol, so the value stored is
    the power of the quantity, as for a printed power: ``N^{-alpha}`` with ``alpha = 0.076`` is
    stored -0.076, as ``N^{-0.076}`` is (the row's text keeps the printed ``alpha = 0.076``);
    a symbol used as no power keeps its printed sign."""
    key = f"{sym}_{sub}" if sub and f"{sym}_{sub}" in symbols else sym
    if key not in symbols and (not law_sentence or _further(sym)):
        return None
    if key not in symbols and sym in ("beta", "β") and sub in ("1", "2"):
        return None  # Adam's ``beta_1``/``beta_2``, unless the abstract uses them as powers
    if key not in symbols and _SETTING_BEFORE.search(body, max(0, at - _SETTING_WIDTH), at):
        return None  # a hyperparameter being set ("Adam with beta = 0.95")
    # ``alpha_D``: the subscript names the variable when the symbol's use does not.
    variable, named_by, sign = symbols.get(key, _Use(None, None, 1))
    if variable is None:
        variable = BASE_VARIABLE.get(sub or "")
        named_by = "subscript" if variable else None
    return variable, named_by, sign


def _symbol_lists(
    body: str,
    start: int,
    folded: str,
    symbols: dict[str, _Use],
    law_sentence: bool,
    further: bool,
) -> list[ExponentMatch]:
    """Values a "respectively" pairs with a list of exponent symbols, in order (``_SYMBOL_LIST``:
    "alpha and beta are 0.34 and 0.28, respectively", ``_SYMBOL_LIST_BEFORE``: "... are
    respectively 0.34 and 0.28"), as ``_paired_symbols`` pairs them; with ``further``, the
    further letters too (``_SYMBOL_LIST_ALL``)."""
    out: list[ExponentMatch] = []
    after, before = (
        (_SYMBOL_LIST_ALL, _SYMBOL_LIST_BEFORE_ALL)
        if further
        else (_SYMBOL_LIST, _SYMBOL_LIST_BEFORE)
    )
    for rx in (after, before):
        for m in finditer(rx, body, folded):
            nums = _items(body, m.start("nums"), m.end("nums"))
            out += _paired_symbols(body, start, m, nums, m.start(), symbols, law_sentence)
    return out


def _symbol_tuples(
    body: str,
    start: int,
    folded: str,
    symbols: dict[str, _Use],
    law_sentence: bool,
    further: bool,
) -> list[ExponentMatch]:
    """Values a tuple of exponent symbols is given, in order (``_SYMBOL_TUPLE``: ``(alpha, beta)
    = (0.34, 0.28)``), then any further tuples of values for the same symbols (``_TUPLE_MORE``:
    "... for C4 and (0.31, 0.29) for RedPajama"), each paired as ``_paired_symbols`` pairs them
    when not only whole numbers (an index or a coordinate) and every value plausible."""
    out: list[ExponentMatch] = []
    for m in finditer(_SYMBOL_TUPLE_ALL if further else _SYMBOL_TUPLE, body, folded):
        # the first row's text starts at the symbols, a further tuple's at its first value
        tuples: list[tuple[int | None, list[tuple[int, int]]]] = [
            (m.start(), _items(body, m.start("nums"), m.end("nums")))
        ]
        at = m.end()
        while len(tuples) <= _MAX_MORE_TUPLES and (more := _TUPLE_MORE.match(body, at)):
            if _INTERVAL_AFTER.match(body, more.end()):
                break
            tuples.append((None, _items(body, more.start("nums"), more.end("nums"))))
            at = more.end()
        for first, nums in tuples:
            if not _count_range(body, nums):  # ``(alpha, beta) = (1, 2)``, or a unit
                out += _paired_symbols(body, start, m, nums, first, symbols, law_sentence)
    return out


def _paired_symbols(
    body: str,
    start: int,
    m: re.Match[str],
    nums: list[tuple[int, int]],
    first: int | None,
    symbols: dict[str, _Use],
    law_sentence: bool,
) -> list[ExponentMatch]:
    """The symbols of ``m`` (group ``syms``) paired in order with the values at ``nums``: both
    lists as long, no symbol twice, each symbol read as ``_symbol_reading`` reads one given a
    value by ``=`` and each value plausible; a list holding a further letter (``(gamma,
    delta)``) only when the abstract shows every symbol of it as a power. The first row's text
    starts at ``first`` (else at its value)."""
    syms = [
        (_strip(s.group("sym")), s.group("sub"))
        for s in _SYMBOL_ITEM.finditer(body, m.start("syms"), m.end("syms"))
    ]
    if len(syms) != len(nums) or len(set(syms)) != len(syms):
        return []
    if any(_further(sym) for sym, _ in syms) and not all(
        sym in symbols or f"{sym}_{sub}" in symbols for sym, sub in syms
    ):
        return []  # ``(gamma, delta) = (0.1, 0.2)`` with ``delta`` shown as no power
    out: list[ExponentMatch] = []
    for i, ((sym, sub), (n_start, n_end)) in enumerate(zip(syms, nums, strict=True)):
        reading = _symbol_reading(body, m.start(), sym, sub, symbols, law_sentence)
        value = parse_number(body[n_start:n_end])
        if reading is None or not _plausible(body, n_start, n_end, value):
            continue
        assert value is not None
        variable, named_by, sign = reading
        at = first if i == 0 and first is not None else n_start
        out.append(
            ExponentMatch(sign * value, start + at, start + n_end, "symbol", sym, variable,
                          named_by)
        )  # fmt: skip
    return out


def _items(body: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of the values of a list in ``body[start:end]`` (``_TUPLE_ITEM``), each without
    the space before it and the uncertainty after it."""
    return [
        (n.start("num") + len(n["num"]) - len(n["num"].lstrip()), n.end("num"))
        for n in _TUPLE_ITEM.finditer(body, start, end)
    ]


def _owned(
    body: str, start: int, folded: str, text: str, float_format: bool
) -> list[ExponentMatch]:
    """Exponents whose quantities are named before their values (``_OWNED``: "the exponents of
    N and D are 0.34 and 0.28, respectively", "the exponent of model size is 0.3"). The owners
    must be a list of scale quantities and nothing else; the values are read unless they are
    all whole (a count) or one has a unit; they pair with the owners in order when both lists
    are as long, no quantity twice, and "respectively" or the end of the clause follows."""
    out: list[ExponentMatch] = []
    for m in finditer(_OWNED, body, folded):
        if float_format or _OTHER_EXPONENT_BEFORE.search(body, max(0, m.start() - 40), m.start()):
            continue
        defined = defined_letters(text)
        owners = listed_starting(body, m.start("owners"), defined)
        if not owners or list_end(body, m.start("owners"), defined) != m.end("owners"):
            continue  # "the exponents of the two laws are ..."
        numbers = _items(body, m.start("nums"), m.end("nums"))
        if len(numbers) > 1 and _count_range(body, numbers):
            continue  # "are 1 and 2, respectively": indices or counts
        said = RESPECTIVELY.match(body, m.end()) or CLAUSE_END.match(body, m.end())
        paired = len(owners) == len(numbers) == len(set(owners)) and (said or len(owners) == 1)
        for i, (n_start, n_end) in enumerate(numbers):
            value = parse_number(body[n_start:n_end])
            if not _plausible(body, n_start, n_end, value):
                continue
            assert value is not None
            variable = owners[i] if paired else None
            out.append(
                ExponentMatch(value, start + (m.start() if i == 0 else n_start), start + n_end,
                              "words", None, variable, "grammar" if variable else None)
            )  # fmt: skip
    return out


def _paren_powers(
    body: str, start: int, folded: str, superscripts: bool, text: str
) -> list[ExponentMatch]:
    """Powers of a parenthesised base (``_POWER_PAREN``), checked as a letter's power is: the
    sentence relates quantities outside it, not in ``O(..)`` or ``exp(..)`` or a schedule, a
    plausible value, no whole power >= 2 and no whole unsigned superscript (``(x/y)²``)."""
    out: list[ExponentMatch] = []
    matched = list(finditer(_POWER_PAREN, body, folded)) if "^" in body else []
    if superscripts:
        matched += _POWER_PAREN_SUP.finditer(body)
    cues: list[tuple[int, int]] | None = None
    for m in matched:
        paren = _paren_base(m, defined_letters(text))
        if paren is None:
            continue
        if cues is None:
            cues = [c.span() for c in _POWER_CUE.finditer(body)]
        if not _cue_elsewhere(body, m.start(), m.end(), cues):
            continue
        if (
            search_end(_BEFORE_BIG_O, body, 0, m.start())
            or search_end(_BEFORE_EXP, body, 0, m.start())
            or _SCHEDULE_BEFORE.search(body, max(0, m.start() - 60), m.start())
        ):
            continue
        group = next(g for g in ("num", "bare", "sup") if m.groupdict().get(g) is not None)
        printed = m.group(group).translate(_SUP_MAP) if group == "sup" else m.group(group)
        value = parse_number(printed)
        if not _plausible(body, m.start(group), m.end(group), value):
            continue
        assert value is not None
        if (value >= 2 and value.is_integer()) or (
            group == "sup" and value.is_integer() and printed[0] not in "+-"
        ):
            continue
        variable, named_by, sign = paren
        out.append(
            ExponentMatch(sign * value, start + m.start(), start + m.end(), "power", None,
                          variable, named_by)
        )  # fmt: skip
    return out


# The upper end of a dash range printed after a words-rule value ("an exponent in the range
# 0.18-0.31"): read only when it grows, as for a symbol's value (``0.3 - 0.02`` is a value and
# its error).
_DASH_END = re.compile(rf"\s?[-\u2013]\s?(?P<num>{_UNSIGNED})")


def _dash_end(body: str, numbers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[(start, end)]`` of the upper end of a growing dash range after a single value."""
    if len(numbers) != 1:
        return []
    dash = _DASH_END.match(body, numbers[0][1])
    if dash is None:
        return []
    low = body[numbers[0][0] : numbers[0][1]]
    return [dash.span("num")] if _grows(low, dash.group("num")) else []


def _count_range(body: str, numbers: list[tuple[int, int]]) -> bool:
    """Whether the numbers of a range count something: all whole ("from 1 to 8 nodes", "1-2
    orders of magnitude"), or one is followed by a unit (which the others share)."""
    values = [parse_number(body[a:b]) for a, b in numbers]
    if all(v is not None and v.is_integer() for v in values):
        return True
    return any(not _plausible(body, a, b, v) for (a, b), v in zip(numbers, values, strict=True))


def _ascending(m: re.Match[str]) -> bool:
    """Whether the two values of a range ``num-num2`` grow in magnitude (0.5-0.7)."""
    return _grows(m.group("num"), m.group("num2"))


def _grows(low_text: str, high_text: str) -> bool:
    """Whether a printed range ``low-high`` grows in magnitude (a range, not a value and its
    error: ``0.3 - 0.02``)."""
    low, high = parse_number(low_text), parse_number(high_text)
    return low is not None and high is not None and abs(high) > abs(low)


def _cue_elsewhere(body: str, start: int, end: int, cues: list[tuple[int, int]]) -> bool:
    """``_POWER_CUE.search(body[:start] + body[end:])``: the sentence relates quantities
    outside the power ``body[start:end]``. ``cues`` are the spans of ``_POWER_CUE.finditer(body)``.

    Searching the whole cut sentence once per power was quadratic (a 2,000-character sentence
    of ``x^{2}`` took half a second). The answer is the same without it: a cue of ``body`` that
    ends before ``start`` or begins after ``end`` (so the characters its ``\\b`` reads are not
    cut) is one of the cut text. When ``body`` has no cue, the cut text has one only where the
    cut joins two pieces, within the cue's longest width of ``start``: only there is searched
    (a match found there that begins after ``start`` saw the window's artificial end, not the
    text). Otherwise (every cue overlaps this power, rare) the cut text is searched.
    """
    if any(c_end < start or c_start > end for c_start, c_end in cues):
        return True
    joined = body[:start] + body[end:]
    if cues:
        return _POWER_CUE.search(joined) is not None
    lo = max(0, start - _POWER_CUE_WIDTH)
    hit = _POWER_CUE.search(joined, lo, min(len(joined), start + _POWER_CUE_WIDTH + 1))
    return hit is not None and hit.start() <= start


def _dedupe(found: list[ExponentMatch]) -> list[ExponentMatch]:
    """Drop a match overlapping an earlier one with the same value (two rules, one number).

    In start order, a kept match starts no later than ``match``, so it overlaps ``match``
    exactly when it ends after ``match`` starts: the furthest end per value decides (comparing
    with every kept match was quadratic, seconds for thousands of numbers in one sentence).
    """
    kept: list[ExponentMatch] = []
    furthest: dict[float, int] = {}
    for match in sorted(found, key=lambda e: (e.start, -e.end)):
        if furthest.get(match.value, -1) > match.start:
            continue
        kept.append(match)
        furthest[match.value] = max(furthest.get(match.value, -1), match.end)
    return kept
