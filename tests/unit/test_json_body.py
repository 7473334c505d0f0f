"""A body the JSON parser refuses is answered with where (line, column, character) and what, in the caller's
language — not Python's English words — and the limits (size, depth, NaN) say what they are."""

from __future__ import annotations

import pytest

from rulesvc.schema.limits import BodyError, parse_json_body


def problem(raw: bytes, lang: str = "zh") -> str:
    with pytest.raises(BodyError) as info:
        parse_json_body(raw)
    assert info.value.status == 400 and info.value.message.code == "request.bad_json"
    return info.value.message.render(lang)


@pytest.mark.parametrize(("raw", "zh", "en"), [
    (b'{"period": "2020",}', "第 1 行第 19 列（第 19 个字符）此处应为用双引号括起的键名", "line 1, column 19"),
    (b"{'period': '2020'}", "用双引号括起的键名", "a key in double quotes was expected"),
    (b'{"period" "2020"}', "键名之后缺少冒号", "a colon was expected after the key"),
    (b'{"period": "2020"\n "scheme": "S"}', "第 2 行第 2 列", "a comma was expected"),
    (b'{"period": }', "此处应有一个值", "a value was expected"),
    (b'{"period": "2020"} x', "多余内容", "the JSON ended here"),
    (b'{"period": "2020', "字符串没有结束", "the string does not end"),
    (b'{"note": "a\nb"}', "控制字符", "control character"),
    (b'{"note": "C:\\path"}', "无效的转义", "an invalid escape"),
    (b'{"x": NaN}', "NaN 不是 JSON 允许的数", "NaN is not a number JSON allows"),
    (b'{"x": 1e999}', "数字 1e999 超出范围", "the number 1e999 is out of range"),
    (b'{"x": "\xff"}', "不是 UTF-8 编码", "not UTF-8"),
    # UTF-16 (Windows tools' "Unicode"), with its byte-order mark and without: Python's parser would take it,
    # the views' parser would not (a 400 in werkzeug's English); refused here, in the caller's words.
    ('{"period": "2020"}'.encode("utf-16"), "不是 UTF-8 编码", "not UTF-8"),
    ('{"period": "2020"}'.encode("utf-16-le"), "不是 UTF-8 编码", "not UTF-8"),
    ('{"period": "2020"}'.encode("utf-32"), "不是 UTF-8 编码", "not UTF-8"),
    (b"[" * 100 + b"]" * 100, "嵌套过深：最多 32 层", "Nested too deeply: at most 32 levels"),
])
def test_a_refused_body_says_where_and_what_in_the_readers_language(raw, zh, en):
    chinese, english = problem(raw), problem(raw, "en")
    assert chinese.startswith("请求体不是有效的 JSON：") and zh in chinese, chinese
    assert english.startswith("The request body is not valid JSON: ") and en in english, english
    assert "Expecting" not in chinese and "delimiter" not in chinese


def test_a_valid_body_is_read_as_it_is():
    assert parse_json_body(b'{"period": "2020-07", "n": 1.5}') == {"period": "2020-07", "n": 1.5}
    assert parse_json_body('{"name": "清瑞区", "nul": "a\\u0000b"}'.encode()) == {"name": "清瑞区", "nul": "a\x00b"}


def test_a_body_too_large_says_the_limit_as_the_readme_does():
    with pytest.raises(BodyError) as info:
        parse_json_body(b" " * 2_000_001)
    assert info.value.status == 413
    assert info.value.message.render("zh") == "请求体过大：最多 2 MB（2,000,000 字节）"
    assert info.value.message.render("en") == "Request body too large: at most 2 MB (2,000,000 bytes)"
