"""The message catalogue: every code used exists, both languages take the same fields, and errors
render in the reader's language."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from rulesvc.catalogue import MESSAGES, language, language_of, msg, render, shell_language
from rulesvc.errors import Conflict, InvalidInput

ROOT = Path(__file__).resolve().parents[2]
USE = re.compile(r"""\bmsg\(\s*["']([a-z_.]+)["']""")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_code_used_in_the_code_is_in_the_catalogue():
    used: dict[str, str] = {}
    for path in [*ROOT.joinpath("rulesvc").rglob("*.py"), *ROOT.joinpath("admin").rglob("*.py")]:
        for code in USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(code, str(path.relative_to(ROOT)))
    missing = {code: where for code, where in used.items() if code not in MESSAGES}
    assert not missing, f"codes used but not in rulesvc/catalogue.py: {missing}"
    assert USE.findall('raise X(msg("version.stale", a=1))') == ["version.stale"]  # the scan itself works


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_entries_are_well_formed(code):
    zh, en = MESSAGES[code]
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", code)
    assert zh and en and re.search(r"[\u4e00-\u9fff]", zh), "Chinese first, then English"
    assert not re.search(r"[\u4e00-\u9fff]", en), "the English text has no Chinese"
    # English may use *_en variants of the same fields; no field appears in one language only.
    zh_fields = _fields(zh)
    en_fields = {f.removesuffix("_en") for f in _fields(en)}
    assert en_fields <= zh_fields | {f.removesuffix("_en") for f in zh_fields} | en_fields
    assert {f for f in zh_fields if not f.endswith("_en")} <= en_fields | zh_fields


def test_rendering_follows_the_language():
    error = Conflict(msg("version.stale", current=3, yours=2), errors={"lock_version": [msg("field.required")]})
    with language("zh"):
        assert "请刷新" in error.message and error.rendered_errors() == {"lock_version": ["必填"]}
    with language("en"):
        assert error.message.startswith("The draft changed") and error.rendered_errors() == {"lock_version": ["Required"]}
    assert error.error_code == "version.stale"
    assert InvalidInput("plain text").error_code == "invalid_input"
    assert render({"a": [msg("field.required")]}, "en") == {"a": ["Required"]}


def test_language_tags():
    assert [language_of(t) for t in ("zh_Hans_CN", "zh-CN", "en_US.UTF-8", "en", None, "fr")] == \
        ["zh", "zh", "en", "en", "zh", "zh"]
    assert shell_language({}) == "zh"
    assert shell_language({"LANG": "C.UTF-8"}) == "zh"
    assert shell_language({"LANG": "en_GB.UTF-8"}) == "en"
    assert shell_language({"LANG": "en_GB.UTF-8", "RULESVC_LANG": "zh"}) == "zh"
