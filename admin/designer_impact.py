"""The rule designer's pages (issue 12). Page 5: the preview (预览) of a prosecutor under a draft and the version in force, and the live impact (影响预览) beside the editor.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ImpactViews:
    """Page 5."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]
