"""Engine errors: one root, a definition branch (where in the document) and an evaluation branch.

Domain errors carry no HTTP status; the API maps them in one place.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class DefinitionError(EngineError):
    """A scheme, formula or rule is wrong. Says where and what was expected.

    ``path`` is the place in the scheme document (``indicators.plea_rate.formula``); ``position`` the
    0-based character offset inside a formula, when the problem is in one.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        position: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.position = position
        self.expected = expected
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.path
        if self.position is not None:
            where = f"{where} 第 {self.position + 1} 个字符 (position {self.position})" if where else f"position {self.position}"
        text = f"{where}: {self.message}" if where else self.message
        if self.expected:
            text += f"；应为 (expected): {self.expected}"
        return text

    def at(self, path: str) -> DefinitionError:
        """The same error, located at ``path`` (used when a formula's caller knows where it sits)."""
        if not self.path:
            self.path = path
            self.args = (self.__str__(),)
        return self


class DefinitionErrors(DefinitionError):
    """Several definition errors found in one pass (lint and compile report them all)."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} 处定义错误 ({len(errors)} definition errors):\n  " + "\n  ".join(map(str, errors)))


class EvaluationError(EngineError):
    """Evaluation could not complete (e.g. the rules backend failed); no partial score is returned."""
