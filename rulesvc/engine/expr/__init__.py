"""The formula language (公式语言): metric filters, indicator formulas and conditions.

Designers type formulas in the admin UI; :func:`parse` turns one into a typed tree, resolving every
name against a scope (name → :class:`Type`) at once, so a typo is a definition error with its
position and a "did you mean". From the same tree: :func:`compile_python` (one subject, a closure
tree), :func:`compile_polars` (many rows, one polars expression; ``compile_polars.py`` is
the only module that imports polars), :func:`compile_durable` (a durable_rules condition),
:func:`to_text`, :func:`free_names` and :func:`explain`. No ``eval``/``exec``/``ast`` anywhere.

Syntax
    Numbers ``12``, ``0.5``, ``1e3``, ``84.4%`` (= 0.844; a ``%`` right after a number is a percent
    sign — write ``x % 2`` with a space for the remainder); strings ``'…'``, ``"…"``, ``“…”``, ``‘…’``;
    ``true`` ``false`` ``null``; ``date('2020-07-01')``; lists ``[a, b]`` only after ``in``.
    Operators, loosest first: ``or``; ``and``; ``not``; ``== != < <= > >=``, ``in``, ``not in``
    (never chained: ``a < b < c`` is an error); ``+ -``; ``* / %``; unary ``-``. Synonyms:
    ``|| && !``, the words ``或 且 非`` (as separate words: ``a且b`` is one name), ``≥ ≤ ≠``, and
    full-width ``（）,，＞`` etc. typed with a Chinese input method. Keywords are case-insensitive.
    Functions (registry in ``functions.py``): ``min(a, …)``, ``max(a, …)``, ``abs(x)``,
    ``round(x, n=0)``, ``coalesce(a, …)``, ``if(cond, a, b)``, ``days_between(d1, d2)``,
    ``clip(x, lo, hi)``; names are case-insensitive.

Types
    number (always a float: no integer division), bool, string, date, enum (an enum compared with a
    string literal checks the literal against its choices — the Chinese label is accepted and mapped
    to the key), null. Arithmetic takes numbers only; ``<``-style comparisons take numbers, dates or
    strings; ``==`` needs both sides of one type; ``and/or/not`` take conditions. ``x == null`` is an
    error (it could never match): use ``coalesce``.

Semantics (people's scores depend on these; ``semantics.py`` implements them, polars mirrors them)
    - null propagates: arithmetic or comparison with null gives null; a missing field is null.
    - ``x / 0`` and ``x % 0`` are null; a result that would be NaN or ±inf (overflow) is null; NaN
      or ±inf read from data is null.
    - ``and``/``or``/``not`` are Kleene three-valued: ``null and false`` is false, ``null or true`` is
      true, otherwise null wins; a filter or condition whose value is null does not match.
    - numbers compare with a relative tolerance of 1e-9 (``a == b`` when
      ``|a - b| <= 1e-9 * max(1, |a|, |b|)``), so ``57 / 100 * 100 >= 57`` holds.
    - ``x in [a, b]`` means ``x == a or x == b``; ``not in`` is its negation.
    - ``%`` is ``a - b * floor(a / b)`` (sign of ``b``, like Excel's MOD).
    - ``round`` rounds halves away from zero (2.5 → 3, -2.5 → -3, 2.675 → 2.68), unlike Python's
      banker's rounding; ``n`` is a constant from -10 to 10.
    - ``coalesce`` picks the first non-null; ``min``/``max`` ignore nulls (null if all are null);
      ``if`` takes ``b`` when the condition is false or null; ``clip(x, lo, hi)`` is
      ``min(max(x, lo), hi)`` (a null bound is no bound); ``days_between(d1, d2)`` is ``d2 - d1``.

Limits: a formula has at most 2,000 characters and 50 levels of nesting. Every rejection is an
:class:`ExpressionError` (a ``DefinitionError``) carrying ``path``, ``position``, ``expected`` and a
Chinese + English ``message``.
"""

from rulesvc.engine.expr.compile_durable import compile_durable
from rulesvc.engine.expr.compile_polars import compile_polars, compile_polars_predicate
from rulesvc.engine.expr.compile_python import compile_predicate, compile_python, split_lookup
from rulesvc.engine.expr.errors import BadValueError, ExpressionError, NotTranslatable
from rulesvc.engine.expr.functions import FUNCTIONS, Function
from rulesvc.engine.expr.lexer import MAX_LENGTH
from rulesvc.engine.expr.nodes import Expr, Node
from rulesvc.engine.expr.parser import MAX_DEPTH, parse, parse_typed
from rulesvc.engine.expr.render import (
    explain,
    explainer,
    format_value,
    free_names,
    to_labeled_text,
    to_text,
    typed_names,
)
from rulesvc.engine.expr.semantics import TOLERANCE, close
from rulesvc.engine.expr.types import (
    BOOL,
    DATE,
    NULL,
    NUMBER,
    STRING,
    Type,
    enum,
    field_type,
    is_number,
    scope_of_fields,
    type_of_field,
)

__all__ = [
    "BOOL", "DATE", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "NULL", "NUMBER", "STRING", "TOLERANCE",
    "BadValueError", "Expr", "ExpressionError", "Function", "Node", "NotTranslatable", "Type",
    "close", "compile_durable", "compile_polars", "compile_polars_predicate", "compile_predicate",
    "compile_python", "enum", "explain", "explainer", "field_type", "format_value", "free_names", "is_number", "parse", "split_lookup",
    "parse_typed", "scope_of_fields", "to_labeled_text", "to_text", "type_of_field", "typed_names",
]
