"""The rule designer's pages (issue 12). Pages 6–7: the diff between two versions, the workflow buttons per role and state (submit, simulate, approve / 退回, activate, retire), rebase with its conflict screen and the drift report.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from flask_admin import expose


class WorkflowViews:
    """Pages 6–7."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]

    @expose("/<code>/<int:number>/diff/")
    def diff(self, code: str, number: int) -> ResponseReturnValue:
        """Page 6: the diff of this version against another (``?against=<N>``). (Until it lands: not found.)"""
        return self._not_found()
