"""A required reason must hold something a reader sees (rulesvc.engine.texts.visible), in the services, the
engine's localization overrides and the API's request patterns alike."""

from __future__ import annotations

import re

import pytest

from rulesvc.api.schemes import NONBLANK_LINE_PATTERN, NONBLANK_TEXT_PATTERN
from rulesvc.engine.localize import LocalizationError, validate_overrides
from rulesvc.engine.texts import visible

UNSEEN = ["", "   ", "\u3000", "\u200b", " \u200b\u200d\ufeff ", "\u202e\u200e", "\u00ad", "\u2028"]
SEEN = ["理由", " 按第 2 版更正 ", "a\u200b", "0", "—"]


@pytest.mark.parametrize("text", UNSEEN)
def test_nothing_visible_is_no_reason(text):
    assert visible(text) == ""
    for pattern in (NONBLANK_LINE_PATTERN, NONBLANK_TEXT_PATTERN):
        assert not re.fullmatch(pattern[1:-1], text)


@pytest.mark.parametrize("text", SEEN)
def test_a_visible_reason_is_kept_without_the_spaces_around_it(text):
    assert visible(text) == text.strip()
    assert re.fullmatch(NONBLANK_LINE_PATTERN[1:-1], text.strip())


def test_an_override_whose_reason_is_a_zero_width_space_is_refused():
    with pytest.raises(LocalizationError):
        validate_overrides([{"op": "set", "path": "indicators.a.weight", "value": 20, "reason": "\u200b"}])
    assert validate_overrides([{"op": "set", "path": "indicators.a.weight", "value": 20, "reason": " 本地 "}])
