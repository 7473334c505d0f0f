"""The rule designer's pages (issue 12). Page 5: the preview (预览) of a prosecutor under a draft and the version in force, and the live impact (影响预览) beside the editor.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from flask_admin import expose


class ImpactViews:
    """Page 5."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]

    @expose("/<code>/<int:number>/preview/")
    def preview(self, code: str, number: int) -> ResponseReturnValue:
        """Page 5: a prosecutor under this draft and under the version in force. (Until it lands: not found.)"""
        return self._not_found()
