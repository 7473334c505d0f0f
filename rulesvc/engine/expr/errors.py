"""The one error a formula can be rejected with, and the one raised when a condition has no durable form."""

from __future__ import annotations

import unicodedata

from rulesvc.engine.errors import DefinitionError, EngineError, EvaluationError


class ExpressionError(DefinitionError):
    """A formula is not valid: bad syntax, an unknown name, a type mismatch, or beyond the limits.

    Besides :class:`DefinitionError`'s ``path``, ``position`` (0-based offset into ``source``),
    ``expected`` and ``message`` (Chinese, then the English in parentheses), it keeps ``zh`` and ``en``
    separately, the ``source`` text, and ``suggestion`` (the name meant, for "did you mean").
    """

    def __init__(
        self,
        zh: str,
        en: str,
        *,
        position: int,
        source: str = "",
        path: str = "",
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.zh = zh
        self.en = en
        self.source = source
        self.suggestion = suggestion
        super().__init__(f"{zh} ({en})", path=path, position=position, expected=expected)

    def caret(self) -> str:
        """The source line and a caret under the offending character, for terminals and logs."""
        pos = self.position or 0
        line_start = self.source.rfind("\n", 0, pos) + 1
        line_end = self.source.find("\n", pos)
        line = self.source[line_start : None if line_end < 0 else line_end]
        pad = "".join("\u3000" if _wide(c) else " " for c in self.source[line_start:pos])
        return f"{line}\n{pad}^"


class BadValueError(EvaluationError):
    """A compiled formula read a value of the wrong type (``name``, ``value``): the data broke the
    dictionary's contract. Coerce facts through the data dictionary before evaluating."""

    def __init__(self, message: str, *, name: str, value: object) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.value = value


class NotTranslatable(EngineError):
    """A valid condition has no safe durable_rules form (arithmetic, a function, field vs field…).

    Not a definition error: the caller computes the condition in Python instead and asserts its
    result as a boolean on the fact. ``position`` points at the part that could not be translated.
    """

    def __init__(self, zh: str, en: str, *, position: int | None = None) -> None:
        self.zh = zh
        self.en = en
        self.position = position
        self.message = f"{zh} ({en})"
        super().__init__(self.message)


def _wide(c: str) -> bool:
    return unicodedata.east_asian_width(c) in ("W", "F")
