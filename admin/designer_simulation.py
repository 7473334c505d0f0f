"""The rule designer's pages (issue 12). Page 8: launching a simulation (模拟测评), its progress, the report with charts and the exports.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from flask_admin import expose


class SimulationViews:
    """Page 8."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]

    @expose("/<code>/<int:number>/simulations/")
    def simulations(self, code: str, number: int) -> ResponseReturnValue:
        """Page 8: this version's simulations and the form that launches one. (Until it lands: not found.)"""
        return self._not_found()
