"""The rule designer's pages (issue 12). Page 8: launching a simulation (模拟测评), its progress, the report with charts and the exports.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SimulationViews:
    """Page 8."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]
