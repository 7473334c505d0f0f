"""Domain errors. One root; HTTP statuses are mapped in exactly one place (``rulesvc.api.errors``).

Every error carries a stable ``code`` and optional field-level ``errors`` so the API, the CLI and the
admin UI can all show the same precise message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rulesvc.catalogue import Msg, msg, render


class RulesvcError(Exception):
    """Root of every error the service raises on purpose.

    ``message`` is a catalogue message (:func:`rulesvc.catalogue.msg`) — rendered at the edge in the
    reader's language — or, for the few errors not yet in the catalogue, a plain string. ``errors``
    maps fields to lists of messages (catalogue messages or strings). ``error_code`` is the stable
    code other systems and tests match on.
    """

    code = "error"

    def __init__(self, message: str | Msg, *, errors: Any = None, **details: Any) -> None:
        super().__init__(message)
        self.msg = message if isinstance(message, Msg) else None
        self._text = message if isinstance(message, str) else None
        self.errors = errors
        self.details = details

    @property
    def error_code(self) -> str:
        return self.msg.code if self.msg is not None else self.code

    @property
    def message(self) -> str:
        """The message in the current language (see :mod:`rulesvc.catalogue`)."""
        return self.msg.render() if self.msg is not None else str(self._text)

    def rendered_errors(self, lang: str | None = None) -> Any:
        return render(self.errors, lang)

    def __str__(self) -> str:
        return self.message


class NotFound(RulesvcError):
    """A named thing (procuratorate, dataset, …) does not exist."""

    code = "not_found"


class Conflict(RulesvcError):
    """The request contradicts the current state (e.g. a stale version counter)."""

    code = "conflict"


class PermissionDenied(RulesvcError):
    """The caller may not do this."""

    code = "forbidden"


class NotEvaluated(RulesvcError):
    """The subject exists but does not take part in the period (not in office, not a quota prosecutor …);
    the message says why."""

    code = "not_evaluated"


class Unavailable(RulesvcError):
    """A service this one needs (the job queue's Redis…) does not answer: try again later (HTTP 503)."""

    code = "unavailable"


class TooBusy(RulesvcError):
    """The caller has as much under way as one caller may (HTTP 429): wait for it to finish."""

    code = "too_many_requests"


class InvalidInput(RulesvcError):
    """Input failed validation; ``errors`` maps field names to messages."""

    code = "invalid_input"


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an imported file."""

    line: int
    column: str | None
    message_zh: str
    message_en: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "message": self.message_zh,
            "message_en": self.message_en,
            "value": self.value,
        }

    def __str__(self) -> str:
        where = f"第 {self.line} 行" + (f"，列 {self.column}" if self.column else "")
        return f"{where}：{self.message_zh}（line {self.line}{', column ' + self.column if self.column else ''}: {self.message_en}）"


@dataclass
class ImportRejected(RulesvcError):
    """A file had bad rows; nothing was imported. ``row_errors`` lists them (``reason``, when given, is
    the message; else "N errors").

    ``total_errors`` counts every error found (``row_errors`` may keep fewer); ``unchecked_rows`` is
    ``None`` when every row was checked, else about how many rows were left unchecked because checking
    stopped at the error limit. Both are also in ``details``."""

    row_errors: list[RowError] = field(default_factory=list)
    source: str = ""
    total_errors: int | None = None
    unchecked_rows: int | None = None
    reason: Msg | None = None  # the message, when it is more precise than "N errors"
    code = "import_rejected"

    def __post_init__(self) -> None:
        if self.total_errors is None:
            self.total_errors = len(self.row_errors)
        if self.reason is not None:
            message = self.reason
        elif self.unchecked_rows is None:
            message = msg("import.rejected", source=self.source, count=self.total_errors)
        else:
            message = msg("import.stopped", source=self.source, count=self.total_errors,
                          unchecked=f"{self.unchecked_rows:,}")
        super().__init__(message, errors=[e.as_dict() for e in self.row_errors])
        self.details["total_errors"] = self.total_errors
        if self.unchecked_rows is not None:
            self.details["unchecked_rows"] = self.unchecked_rows
