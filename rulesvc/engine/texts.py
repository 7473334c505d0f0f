"""What a person wrote, as a reader sees it."""

from __future__ import annotations

import unicodedata

# spaces, line and paragraph separators, controls, format characters (zero-width space and joiners, the
# byte-order mark, direction marks): nothing a reader of an audit record or a publication would see
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def visible(text: str | None) -> str:
    """``text`` without the spaces around it, or "" when nothing in it is visible: a required reason of
    one zero-width space is no reason (a review superseded a province's published results with "\\u200b")."""
    stripped = (text or "").strip()
    if any(unicodedata.category(ch) not in _INVISIBLE for ch in stripped):
        return stripped
    return ""
