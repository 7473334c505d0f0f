"""The tokenizer: formula text → tokens with their 0-based offsets. Written by hand; no ``eval``.

Full-width ASCII forms typed with a Chinese input method (``（）``, ``，``, ``＞＝``, ``０``…) and the
ideographic space are read as their ASCII twins outside string literals; the mapping is one character
to one character, so offsets still point into the text the designer typed. The signs of a written
formula (``×``, ``÷``, ``−``, ``≥``…) are operators as their ASCII forms are: a definition copied from a
document (``起诉人数÷审结人数×100%``) reads as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rulesvc.engine.expr.errors import ExpressionError

MAX_LENGTH = 2000

_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

#: Word operators and literals (matched case-insensitively) → canonical keyword.
KEYWORDS = {
    "and": "and", "or": "or", "not": "not", "in": "in", "true": "true", "false": "false", "null": "null",
    "且": "and", "或": "or", "非": "not",
}
#: Symbols → canonical operator or keyword. Longest first.
SYMBOLS = {
    "==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "&&": "and", "||": "or",
    "≥": ">=", "≤": "<=", "≠": "!=", "<": "<", ">": ">", "!": "not",
    "+": "+", "-": "-", "*": "*", "/": "/", "%": "%", "×": "*", "÷": "/", "−": "-", "(": "(", ")": ")", "[": "[", "]": "]", ",": ",",
}
#: Symbols people type by habit from other languages, with what to write instead.
MISTAKES = {
    "=": ("==", "比较相等请用“==”", "use '==' to compare"),
    "<>": ("!=", "不等请用“!=”", "use '!=' for not-equal"),
    "&": ("and", "请用“and”或“&&”", "use 'and' or '&&'"),
    "|": ("or", "请用“or”或“||”", "use 'or' or '||'"),
    "**": ("*", "不支持乘方", "there is no power operator"),
    "^": ("*", "不支持乘方", "there is no power operator"),
}
_QUOTES = {"'": "'", '"': '"', "“": "”“", "”": "”“", "‘": "’‘", "’": "’‘"}


@dataclass(frozen=True, slots=True)
class Token:
    """``kind`` is ``num``, ``str``, ``name``, ``kw``, ``op`` or ``end``; ``text`` the canonical text."""

    kind: str
    text: str
    pos: int
    value: float | str | None = None
    raw: str = ""


def tokenize(source: str, path: str = "") -> list[Token]:
    """Split ``source`` into tokens, ending with an ``end`` token; raise :class:`ExpressionError`.

    ``path`` (where the formula sits in the scheme document) is copied into errors.
    """
    try:
        return _tokenize(source)
    except ExpressionError as exc:
        exc.at(path)
        raise


def _tokenize(source: str) -> list[Token]:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"公式过长（{len(source)} 个字符，最多 {MAX_LENGTH}）",
            f"formula too long ({len(source)} characters, at most {MAX_LENGTH})",
            position=MAX_LENGTH, source=source, expected=f"at most {MAX_LENGTH} characters",
        )
    s = source.translate(_FOLD)
    tokens: list[Token] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif c.isdigit() and c.isascii() or (c == "." and i + 1 < n and s[i + 1].isascii() and s[i + 1].isdigit()):
            i = _number(source, s, i, tokens)
        elif c in _QUOTES:
            i = _string(source, s, i, tokens)
        elif c.isidentifier():
            j = i + 1
            while j < n and ("a" + s[j]).isidentifier():
                j += 1
            word = s[i:j]
            kw = KEYWORDS.get(word.lower())
            tokens.append(Token("kw", kw, i, raw=word) if kw else Token("name", word, i, raw=word))
            i = j
        else:
            i = _symbol(source, s, i, tokens)
    tokens.append(Token("end", "", n))
    return tokens


def _number(source: str, s: str, i: int, tokens: list[Token]) -> int:
    n = len(s)
    j = i
    while j < n and s[j].isascii() and s[j].isdigit():
        j += 1
    if j < n and s[j] == ".":
        j += 1
        while j < n and s[j].isascii() and s[j].isdigit():
            j += 1
    if j < n and s[j] in "eE":
        k = j + 1
        if k < n and s[k] in "+-":
            k += 1
        if k < n and s[k].isascii() and s[k].isdigit():
            while k < n and s[k].isascii() and s[k].isdigit():
                k += 1
            j = k
    text = s[i:j]
    percent = j < n and s[j] == "%"
    try:
        d = Decimal(text)
        value = float(d / 100) if percent else float(d)
    except (InvalidOperation, ArithmeticError, ValueError):
        value = float("inf")
    if value != value or value in (float("inf"), float("-inf")):
        raise ExpressionError(
            f"数值“{text}”超出范围", f"number '{text}' is out of range", position=i, source=source,
            expected="a finite number",
        )
    end = j + 1 if percent else j
    tokens.append(Token("num", text + ("%" if percent else ""), i, value, raw=source[i:end]))
    return end


def _string(source: str, s: str, i: int, tokens: list[Token]) -> int:
    closers = _QUOTES[s[i]]
    out: list[str] = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "\\" and j + 1 < len(s) and s[j + 1] in "\\'\"":
            out.append(source[j + 1])
            j += 2
            continue
        if c in closers:
            tokens.append(Token("str", "".join(out), i, "".join(out), raw=source[i : j + 1]))
            return j + 1
        out.append(source[j])  # the text as typed: full-width characters stay full-width
        j += 1
    raise ExpressionError(
        "字符串缺少结束引号", "string is not closed", position=i, source=source,
        expected=f"a closing {closers[0]}",
    )


def _symbol(source: str, s: str, i: int, tokens: list[Token]) -> int:
    # Longest match first: "==" before the mistake "=", "<>" before "<", "**" before "*".
    for cand in (s[i : i + 2], s[i]):
        if cand in SYMBOLS:
            canon = SYMBOLS[cand]
            kind = "kw" if canon in ("and", "or", "not") else "op"
            tokens.append(Token(kind, canon, i, raw=source[i : i + len(cand)]))
            return i + len(cand)
        if cand in MISTAKES:
            want, zh, en = MISTAKES[cand]
            raise ExpressionError(
                f"无法识别“{source[i:i + len(cand)]}”：{zh}", f"unexpected '{cand}': {en}",
                position=i, source=source, expected=f"'{want}'",
            )
    raise ExpressionError(
        f"无法识别的字符“{source[i]}”", f"unexpected character {source[i]!r}", position=i, source=source,
        expected="an operator, a name, a number or a string",
    )
