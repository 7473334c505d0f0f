"""File readers: one class per format, chosen by the file name's extension.

A reader turns a file into records ``(line, values, problems)``: ``line`` is the line number a person
sees (for CSV and Excel the header is line 1, so the first data row is line 2; for JSON Lines the
physical line), ``values`` maps column names to raw values with empty cells left out (``None`` when
the line could not be read at all), ``problems`` lists what the reader itself found wrong (or is
``None``). Adding a format means adding a :class:`Reader` subclass and listing it in ``READERS``.

Every reader is bounded by :class:`~rulesvc.services.importing.common.Limits`, checked while streaming
and before anything is materialised: the file's size, its number of rows (counted up front: newlines
of a text file, ``<row>`` elements of a workbook), the length of a line and of a cell (a longer cell is
a row error, read without holding more than one line's worth of it), NUL characters (a row error:
PostgreSQL cannot store them), and for a workbook what its parts unpack to (a zip bomb is refused
before openpyxl opens it).

Text files are UTF-8 (with or without a BOM); GB18030 (GBK) is accepted only when charset-normalizer
is confident of it, because GB18030 decodes almost any bytes ("Renée" in Windows-1252 reads as
"Ren閑"); anything else is refused with a message saying to save as UTF-8 or to name the encoding.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import warnings
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from rulesvc.catalogue import msg
from rulesvc.errors import ImportRejected, InvalidInput, RowError
from rulesvc.services.importing.common import Limits

Record = tuple[int, dict[str, Any] | None, list[RowError] | None]

_SCAN_CHUNK = 1 << 20
# Stand-ins the line reader puts where the csv and json parsers must not see the real thing: a NUL
# (reported per cell) and a line too long to read (reported per row). Both are Unicode noncharacters,
# which no text file carries.
NUL_MARK = "\uffff"
LONG_MARK = "\ufffe"


class Reader(ABC):
    """Reads one format from a seekable binary file.

    ``columns`` is the header as written (tabular formats) and may be replaced by the caller with
    canonical names (``None`` drops a column) before :meth:`records` is iterated; ``header`` keeps
    the header as written, for messages.
    """

    extensions: ClassVar[tuple[str, ...]] = ()
    tabular: ClassVar[bool] = True

    def __init__(self, fh: IO[bytes], source: str, limits: Limits | None = None, encoding: str | None = None) -> None:
        self.fh = fh
        self.source = source
        self.limits = limits or Limits()
        self.encoding = encoding
        self.columns: list[str | None] = []
        self.header: list[str] = []

    @abstractmethod
    def open(self) -> list[str]:
        """Read what is needed to know the columns; returns the header (or the first object's keys)."""

    @abstractmethod
    def records(self) -> Iterator[Record]:
        """Every data record, in file order."""

    def progress_total(self) -> int:
        """How many progress units the whole file has (bytes for text formats)."""
        return _size(self.fh)

    def progress_done(self) -> int:
        """Progress units read so far."""
        return self.fh.tell()

    def rows_after(self, line: int) -> int:
        """About how many rows come after ``line`` (to say how many were not checked)."""
        return 0

    def close(self) -> None:
        """Release what the reader opened (never the caller's file)."""
        return None

    def _check_size(self) -> int:
        size = _size(self.fh)
        if size > self.limits.max_file_bytes:
            raise _reject(
                self.source,
                f"文件大小 {_mb(size)} 超过上限 {_mb(self.limits.max_file_bytes)}，请分成几个文件导入",
                f"the file is {_mb(size)}, more than the limit of {_mb(self.limits.max_file_bytes)}; split it",
            )
        return size

    def _too_many_rows(self, rows: int, what_zh: str = "数据行", what_en: str = "data rows") -> ImportRejected:
        limit = self.limits.max_rows
        return _reject(
            self.source,
            f"文件有 {rows:,} 个{what_zh}，超过每个文件最多 {limit:,} 行的上限，未检查任何一行；请分成几个文件导入",
            f"the file has {rows:,} {what_en}, more than the limit of {limit:,} per file; nothing was checked. "
            "Split it into several files",
        )

    def _cell_name(self, index: int) -> str:
        if index < len(self.header) and self.header[index]:
            return self.header[index]
        return f"第 {index + 1} 列"

    def _cell_problems(self, line: int, cells: list[Any]) -> list[RowError]:
        """A cell too long or holding a NUL, as row errors (cells of the header's columns and beyond)."""
        limit = self.limits.max_cell_chars
        found = []
        for i, v in enumerate(cells):
            if not isinstance(v, str):
                continue
            if LONG_MARK in v:
                found.append(_line_too_long(line, self.limits.max_line_chars))
            elif len(v) > limit:
                found.append(_cell_too_long(line, self._cell_name(i), len(v), limit, v))
            elif NUL_MARK in v or "\x00" in v:
                found.append(_nul(line, self._cell_name(i), v))
            elif CONTROL.search(v):
                found.append(_control(line, self._cell_name(i), v))
        return found


def _size(fh: IO[bytes]) -> int:
    here = fh.tell()
    end = fh.seek(0, io.SEEK_END)
    fh.seek(here)
    return end


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MB"


def _reject(source: str, zh: str, en: str, line: int = 1) -> ImportRejected:
    return ImportRejected(row_errors=[RowError(line, None, zh, en)], source=source)


def _preview(value: str, n: int = 40) -> str:
    shown = value[:n].replace("\x00", "\\0").replace(NUL_MARK, "\\0")
    return shown + ("…" if len(value) > n else "")


def _cell_too_long(line: int, column: str, length: int, limit: int, value: str) -> RowError:
    return RowError(line, column, f"单元格内容有 {length:,} 个字符，超过上限 {limit:,} 个字符",
                    f"the cell holds {length:,} characters, more than the limit of {limit:,}", _preview(value))


def _line_too_long(line: int, limit: int) -> RowError:
    return RowError(line, None, f"此行超过 {limit:,} 个字符，未读取", f"the line is longer than {limit:,} characters; "
                    "not read")


# Control characters other than tab and line breaks: nothing a case system writes on purpose, and an
# escape sequence in a name would reach every terminal that prints it (`rank`, `evaluate`). Likewise the
# direction overrides and isolates (U+202A–U+202E, U+2066–U+2069): one in a name reorders what every list,
# card and export shows after it (a review imported a prosecutor named with U+202E).
CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _control(line: int, column: str, value: str) -> RowError:
    shown = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        value[:40])
    return RowError(line, column, "单元格含有控制字符（如 ESC 或文字方向控制符），请删除后再导入",
                    "the cell contains a control character (such as ESC or a text-direction override); remove it",
                    shown)


def _nul(line: int, column: str, value: str) -> RowError:
    return RowError(line, column, "单元格含有空字符（NUL，\\0），请删除后再导入",
                    "the cell contains a NUL character (\\0); remove it", _preview(value))


# -- encodings ----------------------------------------------------------------------------------------

# Multi-byte East Asian encodings: for bytes that are valid GB18030, another of these is no reason to
# doubt (Big5 is not what a mainland procuratorate's Excel writes); a single-byte encoding is.
_CJK = frozenset({
    "gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "cp949", "euc_kr", "johab", "iso2022_kr",
    "euc_jp", "euc_jis_2004", "euc_jisx0213", "shift_jis", "shift_jis_2004", "shift_jisx0213", "cp932",
    "iso2022_jp",
})
_SAMPLE_BYTES = 64 * 1024
_MAX_CHAOS = 0.2  # charset-normalizer's own threshold for "plausible text"


@dataclass
class _Scan:
    """What one pass over a text file found: its encoding and its number of physical lines."""

    encoding: str
    lines: int


def detect_encoding(fh: IO[bytes], source: str, forced: str | None = None) -> str:
    """UTF-8 (with or without BOM); GB18030 when charset-normalizer is confident of it; ``forced`` when
    given (every byte must decode). Anything else is refused, with the line of the first byte that does
    not decode and what to do.

    The whole file is checked, in chunks, because a GBK byte may first appear on the last line.
    """
    return _scan_text(fh, source, forced).encoding


def _scan_text(fh: IO[bytes], source: str, forced: str | None = None) -> _Scan:
    fh.seek(0)
    head = fh.read(4)
    fh.seek(0)
    # A workbook named .csv (an audit: "文件不是 UTF-8 编码…" for an .xlsx renamed): said as what it is.
    if head.startswith(b"PK\x03\x04"):
        raise _reject(source, "文件是 Excel 工作簿（.xlsx）或其他压缩文件，不是 CSV 文本：请把扩展名改为 .xlsx 再导入，"
                              "或在 Excel 中另存为“CSV UTF-8（逗号分隔）”",
                      "the file is an Excel workbook (.xlsx) or another zip file, not CSV text: give it the .xlsx "
                      "extension, or save it as 'CSV UTF-8' in Excel")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _reject(source, "文件是旧版 Excel 工作簿（.xls），不能直接导入：请在 Excel 中另存为 .xlsx 或“CSV UTF-8（逗号分隔）”",
                      "the file is an old Excel workbook (.xls): save it as .xlsx or 'CSV UTF-8' in Excel")
    if forced:
        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise InvalidInput(msg("import.encoding_unknown", name=forced),
                               errors={"encoding": [msg("import.encoding_unknown", name=forced)]}) from None
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        bad_line, lines = _first_undecodable_line(fh, name)
        if bad_line is not None:
            raise _reject(source, f"文件中有不是 {forced} 编码的字节", f"the file has bytes that are not {forced}",
                          line=bad_line)
        return _Scan(name, lines)
    if head.startswith(codecs.BOM_UTF8):
        bad_line, lines = _first_undecodable_line(fh, "utf-8-sig")
        if bad_line is None:
            return _Scan("utf-8-sig", lines)
        raise _reject(source, "文件以 UTF-8 标记开头，但其中有不是 UTF-8 的字节",
                      "the file starts with a UTF-8 mark but has bytes that are not UTF-8", line=bad_line)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _reject(
            source,
            "文件是 UTF-16 编码，请另存为“CSV UTF-8”，或指定文件编码 UTF-16（导入页面的“文件编码”；命令行 --encoding utf-16）",
            "the file is UTF-16; save it as 'CSV UTF-8', or give its encoding, UTF-16 (the import page's "
            "'Encoding'; on the command line --encoding utf-16)",
        )
    bad_line, lines = _first_undecodable_line(fh, "utf-8")
    if bad_line is None:
        return _Scan("utf-8", lines)
    gb_bad, _ = _first_undecodable_line(fh, "gb18030")
    guess = None
    if gb_bad is None:
        confident, guess = _gb18030_is_certain(_non_ascii_sample(fh))
        if confident:
            return _Scan("gb18030", lines)
    seems = f"（看起来像 {guess} 编码）" if guess else ""
    seems_en = f" (it looks like {guess})" if guess else ""
    raise _reject(
        source,
        f"文件不是 UTF-8 编码，也不能确定是 GB18030（GBK）{seems}。为免读错文字，未导入："
        "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或指明文件的编码（导入页面的“文件编码”；命令行如 --encoding gb18030、"
        "--encoding cp1252）",
        f"the file is not UTF-8 and not certainly GB18030 (GBK){seems_en}; to avoid garbling its text nothing "
        "was imported. Save it as 'CSV UTF-8', or name its encoding (the import page's 'File encoding'; on the command "
        "line --encoding, e.g. gb18030, cp1252)",
        line=bad_line,
    )


def _first_undecodable_line(fh: IO[bytes], encoding: str) -> tuple[int | None, int]:
    """The line of the first byte that does not decode (None: all do) and the number of lines."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    last = b""
    fh.seek(0)
    try:
        while chunk := fh.read(_SCAN_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return newlines + exc.object[: exc.start].count(b"\n") + 1, 0
            # Lines end in LF or CRLF; a file of classic-Mac CR endings is counted by its CRs.
            newlines += max(chunk.count(b"\n"), chunk.count(b"\r"))
            last = chunk[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return newlines + 1, 0
        return None, newlines + (1 if last not in (b"", b"\n", b"\r") else 0)
    finally:
        fh.seek(0)


def _non_ascii_sample(fh: IO[bytes]) -> bytes:
    """The lines that hold non-ASCII bytes (up to 64 KB): ASCII is the same in every candidate, so
    these are what tells encodings apart — even when they sit at the end of a million ASCII lines."""
    parts: list[bytes] = []
    size = 0
    fh.seek(0)
    try:
        carry = b""
        while chunk := fh.read(_SCAN_CHUNK):
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1
            chunk, carry = (chunk[:cut], chunk[cut:]) if cut else (b"", chunk[-_SAMPLE_BYTES:])
            if chunk.isascii():
                continue
            for line in chunk.splitlines(keepends=True):
                if not line.isascii():
                    parts.append(line)
                    size += len(line)
                    if size >= _SAMPLE_BYTES:
                        return b"".join(parts)
        if carry and not carry.isascii():
            parts.append(carry)
        return b"".join(parts)
    finally:
        fh.seek(0)


def _gb18030_is_certain(sample: bytes) -> tuple[bool, str | None]:
    """Whether the non-ASCII ``sample`` is GB18030 beyond doubt: charset-normalizer finds it plausible
    Chinese, and no single-byte encoding (Windows-1252, Latin-1 …) is as plausible. Returns the
    detector's best guess too, for the message."""
    from charset_normalizer import from_bytes

    if not sample:
        return False, None
    as_gb = from_bytes(sample, cp_isolation=["gb18030"]).best()
    found = from_bytes(sample)
    best = found.best()
    guess = best.encoding if best is not None else None
    if as_gb is None or as_gb.chaos > _MAX_CHAOS:
        return False, guess
    rivals = [
        enc for match in found for enc in (match.encoding, *match.could_be_from_charset)
        if enc not in _CJK and not enc.startswith("utf") and match.chaos <= as_gb.chaos + 0.02
    ]
    if rivals:
        return False, rivals[0]
    return True, "gb18030"


# -- text formats ---------------------------------------------------------------------------------------


class _TextReader(Reader):
    """Shared by text formats: the encoding is detected, the lines counted, the bytes decoded as a
    stream and read a bounded line at a time."""

    _wrapper: io.TextIOWrapper | None = None

    def _text(self) -> io.TextIOWrapper:
        self._check_size()
        scan = _scan_text(self.fh, self.source, self.encoding)
        self._total_lines = scan.lines
        self._physical = 0
        self._record_chars = 0
        self._marked = False
        wrapper = io.TextIOWrapper(self.fh, encoding=scan.encoding, newline="")
        self._wrapper = wrapper
        return wrapper

    def _lines(self) -> Iterator[str]:
        """Physical lines of at most ``max_line_chars`` characters. A longer line is skipped (read in
        pieces of that size, never whole) and stands as :data:`LONG_MARK`; a NUL becomes
        :data:`NUL_MARK`. ``_record_chars`` and ``_marked`` tell the caller when to look closer."""
        cap = self.limits.max_line_chars
        assert self._wrapper is not None
        readline = self._wrapper.readline
        while True:
            text = readline(cap)
            if not text:
                return
            self._physical += 1
            if len(text) >= cap and text[-1] not in "\r\n":
                while (more := readline(cap)) and more[-1] not in "\r\n":
                    pass
                self._marked = True
                yield LONG_MARK + "\n"
                continue
            self._record_chars += len(text)
            if "\x00" in text:
                text = text.replace("\x00", NUL_MARK)
                self._marked = True
            elif CONTROL.search(text):
                self._marked = True
            yield text

    def rows_after(self, line: int) -> int:
        return max(0, getattr(self, "_total_lines", 0) - getattr(self, "_physical", 0))

    def close(self) -> None:
        wrapper = getattr(self, "_wrapper", None)
        if wrapper is not None:
            wrapper.detach()  # keep the caller's binary file open
            self._wrapper = None


class CsvReader(_TextReader):
    """Comma-separated values, header in row 1."""

    extensions = (".csv",)

    def open(self) -> list[str]:
        self._text()
        if self._total_lines - 1 > self.limits.max_rows:
            raise self._too_many_rows(self._total_lines - 1, "数据行（按换行计）", "lines")
        self._rows = csv.reader(self._lines())
        try:
            header = next(self._rows, None)
        except csv.Error as exc:
            raise _reject(self.source, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from None
        if header is None or not any(h.strip() for h in header):
            raise _reject(self.source, "文件是空的，第 1 行应为表头", "the file is empty; line 1 must be the header")
        if self._marked or self._record_chars > self.limits.max_cell_chars:
            problems = self._cell_problems(1, header)
            if problems:
                raise ImportRejected(row_errors=problems, source=self.source)
        names = [h.strip() for h in header]
        self.columns, self.header = list(names), names
        return list(names)

    def records(self) -> Iterator[Record]:
        cols = self.columns
        width = len(cols)
        cell_limit = self.limits.max_cell_chars
        rows = self._rows
        line = 1
        while True:
            self._record_chars = 0
            self._marked = False
            read_before = self._physical
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                line += 1
                yield line, None, [RowError(line, None, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}")]
                if self._physical == read_before:
                    return  # nothing more to read
                continue  # the csv reader starts afresh with the next line
            line += 1
            if self._marked or self._record_chars > cell_limit:
                problems = self._cell_problems(line, row)
                if problems:
                    yield line, None, problems
                    continue
            # Empty cells are absent values; skipping them here keeps the per-row work small.
            values: dict[Any, Any] = {k: v for k, v in zip(cols, row, strict=False) if v and not v.isspace()}
            values.pop(None, None)
            extra = None
            if len(row) > width and any(c.strip() for c in row[width:]):
                extra = [_extra_cells(line, width)]
            if values or extra:
                yield line, values, extra


def _extra_cells(line: int, width: int) -> RowError:
    return RowError(
        line, None, f"此行的值多于表头的 {width} 列", f"the row has more values than the {width} header columns"
    )


class JsonLinesReader(_TextReader):
    """One JSON object per line; attributes at the top level or inside an ``"attrs"`` object."""

    extensions = (".jsonl", ".ndjson")
    tabular = False

    def open(self) -> list[str]:
        self._text()
        if self._total_lines > self.limits.max_rows:
            raise self._too_many_rows(self._total_lines, "行", "lines")
        self._lines_iter = self._lines()
        self._first: Record | None = None
        for line, raw in enumerate(self._lines_iter, start=1):
            if raw.strip():
                self._first = self._parse(line, raw)
                self._first_line = line
                break
        if self._first is None:
            raise _reject(self.source, "文件是空的", "the file is empty")
        values = self._first[1]
        return list(values) if values is not None else []

    def records(self) -> Iterator[Record]:
        if self._first is None:
            return
        yield self._first
        for line, raw in enumerate(self._lines_iter, start=self._first_line + 1):
            if raw.strip():
                yield self._parse(line, raw)

    def _parse(self, line: int, raw: str) -> Record:
        if raw.startswith(LONG_MARK):
            return line, None, [_line_too_long(line, self.limits.max_line_chars)]
        try:
            obj = json.loads(raw)
        except RecursionError:
            return line, None, [RowError(line, None, "JSON 嵌套过深", "the JSON is nested too deeply")]
        except ValueError as exc:
            return line, None, [RowError(line, None, f"不是合法的 JSON：{exc}", f"not valid JSON: {exc}")]
        # A short line without a NUL cannot hold a cell too long or a NUL: skip the scan (most lines).
        scan = len(raw) > self.limits.max_cell_chars or NUL_MARK in raw or "\\u0000" in raw
        return json_record(line, obj, self.limits, scan=scan)


def json_record(line: int, obj: Any, limits: Limits, *, scan: bool = True) -> Record:
    """One parsed JSON object as a record, as a JSON Lines file's line is read: empty values (``null``,
    blank text) left out, the fields of an ``"attrs"`` object taken to the top level, keys and text
    values too long or holding a NUL refused (``scan``). Values keep their JSON types. Also the way
    inline events given to the evaluation API are read (:mod:`rulesvc.services.inline_events`)."""
    if not isinstance(obj, dict):
        return line, None, [RowError(line, None, "每行应为一个 JSON 对象", "each line must be a JSON object")]
    if scan:
        problems = _value_problems(line, obj, limits.max_cell_chars)
        if problems:
            return line, None, problems
    values = {k: v for k, v in obj.items() if v is not None and not (isinstance(v, str) and v.strip() == "")}
    attrs = values.pop("attrs", None)
    if attrs is None:
        return line, values, None
    if not isinstance(attrs, dict):
        return line, values, [RowError(line, "attrs", "attrs 应为 JSON 对象", "attrs must be a JSON object", attrs)]
    problems = []
    for k, v in attrs.items():
        if v is None or (isinstance(v, str) and v.strip() == ""):
            continue
        if k in values:
            problems.append(
                RowError(line, k, "字段同时出现在顶层和 attrs 中", "the field is given both at the top level and in attrs")
            )
        values[k] = v
    return line, values, problems or None


def _value_problems(line: int, obj: dict[str, Any], limit: int) -> list[RowError]:
    """Keys and text values (top level and inside ``attrs``) too long or holding a NUL."""
    found: list[RowError] = []
    items = list(obj.items())
    if isinstance(obj.get("attrs"), dict):
        items += list(obj["attrs"].items())
    for key, value in items:
        shown = _preview(key)
        if len(key) > limit:
            found.append(_cell_too_long(line, shown, len(key), limit, key))
        elif NUL_MARK in key or "\x00" in key:
            found.append(_nul(line, shown, key))
        elif isinstance(value, str) and len(value) > limit:
            found.append(_cell_too_long(line, key, len(value), limit, value))
        elif isinstance(value, str) and (NUL_MARK in value or "\x00" in value):
            found.append(_nul(line, key, value))
    return found


# -- Excel --------------------------------------------------------------------------------------------

_MAX_PARTS = 10_000
_RATIO_FROM_BYTES = 1 << 20  # the compression ratio is checked on parts larger than this
_CONTEXT = 4096
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"")
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>]")
_SHARED_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?v>(\d+)</")


@dataclass
class _PartScan:
    """One XML part of a workbook: its rows (a worksheet) and where its overlong runs of text start."""

    name: str
    gate: int
    rows: int = 0
    long_runs: list[tuple[int, bytes]] = field(default_factory=list)  # (offset, the bytes before it)
    formulas: bool = False  # a worksheet with at least one formula (``<f>``)


def _blocks(part: IO[bytes], gate: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, block)`` over a part: blocks end just before a ``<``, so no tag is ever split; a run
    without ``<`` longer than ``gate`` is cut to ``gate + 2`` bytes and the rest skipped unread, so no
    block holds more than a megabyte and a little."""
    carry = b""
    read = 0
    while True:
        data = part.read(_SCAN_CHUNK)
        read += len(data)
        if not data:
            if carry:
                yield read - len(carry), carry
            return
        buf = carry + data
        start = read - len(buf)
        cut = buf.rfind(b"<")
        if cut > 0:
            yield start, buf[:cut]
            carry = buf[cut:]
        elif len(buf) > gate + 2:
            yield start, buf[: gate + 2]
            while True:  # skip the rest of the run
                data = part.read(_SCAN_CHUNK)
                read += len(data)
                if not data:
                    return
                k = data.find(b"<")
                if k >= 0:
                    carry = data[k:]
                    break
        else:
            carry = buf


def _long_runs(block: bytes, gate: int) -> Iterator[int]:
    """Where the runs of at least ``gate`` bytes without ``<`` start. Such a run holds a whole window
    of ``gate / 2`` bytes, so looking for ``<`` window by window (memchr, in C) finds every one without
    touching the bytes one at a time in Python."""
    width = max(gate // 2, 1)
    n = len(block)
    pos = 0
    while pos < n:
        if block.find(b"<", pos, pos + width) < 0:
            start = block.rfind(b"<", 0, pos) + 1
            end = block.find(b"<", pos)
            end = n if end < 0 else end
            if end - start >= gate:
                yield start
            pos = end
        else:
            pos += width


def _rows_in(block: bytes, prefixed: bool) -> tuple[int, int]:
    """The ``<row>`` elements of a block of sheet XML and the highest row number among them (rows come
    in order, so the last one's). ``prefixed``: the part writes ``<x:row>`` (the careful, slower way)."""
    if prefixed:
        tags = _ROW_TAG.findall(block)
        numbers = _ROW_NUMBER.findall(block)
        return len(tags), max(map(int, numbers), default=0)
    count = block.count(b"<row")  # (a <rowBreaks> after the data counts one too many: harmless)
    last = block.rfind(b"<row")
    number = _ROW_NUMBER.match(block, last) if last >= 0 else None
    return count, int(number.group(1)) if number else 0


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, gate: int, limit: int) -> _PartScan:
    scan = _PartScan(info.filename, gate)
    sheet = "worksheets/" in info.filename
    count = highest = 0
    tail = b""
    prefixed: bool | None = None
    with zf.open(info) as part:
        for offset, block in _blocks(part, gate):
            for start in _long_runs(block, gate):
                if len(scan.long_runs) < limit:
                    before = (tail + block[:start])[-_CONTEXT:]
                    scan.long_runs.append((offset + start, before))
            if sheet:
                if prefixed is None:
                    prefixed = re.search(rb"<\w+:(?:worksheet|sheetData|row)\b", block) is not None
                rows, number = _rows_in(block, prefixed)
                count += rows
                highest = max(highest, number)
                if not scan.formulas and re.search(rb"<(?:\w+:)?f[\s>/]", block):
                    scan.formulas = True
            tail = block[-_CONTEXT:]
    scan.rows = max(count, highest)
    return scan


def _first_sheet(zf: zipfile.ZipFile) -> str | None:
    """The part of the workbook's first sheet, from ``xl/workbook.xml`` and its relationships."""
    import xml.etree.ElementTree as ET

    try:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    rid = next((el.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
                for el in book.iter() if el.tag.endswith("}sheet")), None)
    for el in rels.iter():
        if el.get("Id") == rid and el.get("Target"):
            target = el.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


class XlsxReader(Reader):
    """Excel 2007+ workbooks: the first sheet, header in row 1, read in streaming mode.

    Before openpyxl sees the file, its parts are inspected without unpacking them into memory: how
    much they unpack to, and how much more than they take in the file (a zip bomb), how many rows each
    sheet has, and whether any value is longer than a cell may be (openpyxl would read such a value
    whole, shared strings at opening)."""

    extensions = (".xlsx", ".xlsm")

    def open(self) -> list[str]:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self._check_size()
        self.fh.seek(0)
        try:
            self._sheet_rows = self._inspect()
            self.fh.seek(0)
            with warnings.catch_warnings():
                # Files from WPS and other tools lack default styles or carry extensions openpyxl
                # does not model; the cell values are still right.
                warnings.simplefilter("ignore", UserWarning)
                self._book = openpyxl.load_workbook(self.fh, read_only=True, data_only=True)
            if not self._book.worksheets:
                raise _reject(self.source, "工作簿中没有工作表", "the workbook has no worksheet")
            sheet = self._book.worksheets[0]
            # The <dimension> a file declares may be stale; openpyxl would silently drop rows below it.
            sheet.reset_dimensions()
            if self._formulas:
                self._uncomputed_formulas()
            self._rows = sheet.iter_rows(values_only=True)
            header = next(self._rows, None)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, InvalidFileException, KeyError, OSError,
                SyntaxError, ValueError, TypeError, IndexError) as exc:
            raise _reject(
                self.source, f"不是有效的 Excel（.xlsx）文件：{exc}", f"not a valid Excel (.xlsx) file: {exc}"
            ) from None
        cells = ["" if h is None else str(h) for h in header or ()]
        problems = self._cell_problems(1, cells)
        if problems:
            raise ImportRejected(row_errors=problems, source=self.source)
        names = [c.strip() for c in cells]
        if not any(names):
            raise _reject(self.source, "工作表是空的，第 1 行应为表头", "the sheet is empty; row 1 must be the header")
        while names and names[-1] == "":
            names.pop()
        self.columns, self.header = list(names), names
        self._done = 1
        return list(names)

    def _inspect(self) -> int:
        """Refuse a workbook that would take more than its share of time or memory to open; the number
        of rows of the first sheet."""
        limits = self.limits
        with zipfile.ZipFile(self.fh) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_PARTS:
                raise _reject(self.source, f"不是正常的 Excel 文件：其中有 {len(infos):,} 个部件",
                              f"not a normal Excel file: it has {len(infos):,} parts")
            unpacked = sum(i.file_size for i in infos)
            if unpacked > limits.max_unpacked_bytes:
                raise _reject(
                    self.source,
                    f"Excel 文件解压后有 {_mb(unpacked)}，超过上限 {_mb(limits.max_unpacked_bytes)}；请分成几个文件导入",
                    f"the workbook unpacks to {_mb(unpacked)}, more than {_mb(limits.max_unpacked_bytes)}; split it",
                )
            for i in infos:
                if i.file_size > _RATIO_FROM_BYTES and i.file_size > limits.max_xlsx_ratio * max(i.compress_size, 1):
                    raise _reject(
                        self.source,
                        f"Excel 文件中的 {i.filename} 压缩了 {i.file_size // max(i.compress_size, 1):,} 倍"
                        f"（{_mb(i.compress_size)} 解压为 {_mb(i.file_size)}），不是正常的表格文件（疑为压缩炸弹），未导入",
                        f"{i.filename} in the workbook is compressed {i.file_size // max(i.compress_size, 1):,} times "
                        f"({_mb(i.compress_size)} to {_mb(i.file_size)}): not a normal spreadsheet (a zip bomb?)",
                    )
            gate = limits.max_xml_run_bytes
            scans = {i.filename: _scan_part(zf, i, gate, limits.max_errors) for i in infos
                     if i.filename.endswith((".xml", ".rels")) and ("worksheets/" in i.filename
                                                                    or i.file_size > gate // 2)}
            first = _first_sheet(zf)
            for scan in scans.values():
                if "worksheets/" in scan.name and scan.rows - 1 > limits.max_rows:
                    raise self._too_many_rows(scan.rows - 1)
            problems = self._long_values(zf, scans, first)
            if problems:
                raise ImportRejected(row_errors=problems[: limits.max_errors], source=self.source)
        others = [sc for name, sc in scans.items() if "worksheets/" in name and name != first and sc.rows >= 2]
        if first in scans and others:
            # Only the first sheet is read: rows on another would be dropped without a word (an audit).
            raise _reject(
                self.source,
                f"工作簿中除第一个工作表外，还有 {len(others)} 个工作表有数据；一个文件只导入第一个工作表。为免漏掉数据，"
                "未导入：请把要导入的数据都放在第一个工作表，其余工作表删去或另存为别的文件",
                f"besides the first sheet, {len(others)} other sheet(s) of the workbook hold data; only the first "
                "sheet of a file is imported. To lose nothing, nothing was imported: put the data on the first sheet "
                "and remove the others (or save them as files of their own)")
        self._formulas = scans[first].formulas if first in scans else any(
            sc.formulas for sc in scans.values() if "worksheets/" in sc.name)
        rows = scans[first].rows if first in scans else 0
        return rows or max((s.rows for s in scans.values() if "worksheets/" in s.name), default=0)

    def _uncomputed_formulas(self) -> None:
        """Refuse a sheet with a formula whose result the file does not hold (a workbook written by a program, not
        saved by Excel or WPS): read as values it is an empty cell — an optional attribute silently absent (an audit:
        ``adopted`` written ``=TRUE()`` counted as not adopted), a required one "为必填项" for a cell that is not empty.
        A formula with its result saved is read as that result. Only for a sheet the scan found formulas in."""
        import openpyxl
        from openpyxl.utils import get_column_letter

        self.fh.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            formulas = openpyxl.load_workbook(self.fh, read_only=True, data_only=False)
        try:
            found: list[RowError] = []
            values = self._book.worksheets[0].iter_rows(values_only=True)
            sheet = formulas.worksheets[0]
            sheet.reset_dimensions()
            header: tuple[Any, ...] = ()
            for line, (written, value) in enumerate(zip(sheet.iter_rows(values_only=True), values, strict=False),
                                                    start=1):
                if line == 1:
                    header = value
                for i, cell in enumerate(written):
                    if isinstance(cell, str) and cell.startswith("=") and (i >= len(value) or value[i] is None):
                        col = get_column_letter(i + 1)
                        name = str(header[i]).strip() if i < len(header) and header[i] is not None else ""
                        shown = cell if len(cell) <= 40 else cell[:40] + "…"
                        found.append(RowError(
                            line, name or col,
                            f"单元格 {col}{line} 是公式 {shown}，文件中没有它的计算结果：请在 Excel 中打开并保存，"
                            "或把公式改为数值后再导入",
                            f"cell {col}{line} is a formula {shown} whose result the file does not hold: open and "
                            "save it in Excel, or replace the formula by its value", shown))
                        if len(found) >= self.limits.max_errors:
                            raise ImportRejected(row_errors=found, source=self.source)
            if found:
                raise ImportRejected(row_errors=found, source=self.source)
        finally:
            formulas.close()
        self.fh.seek(0)

    def _long_values(self, zf: zipfile.ZipFile, scans: dict[str, _PartScan], first: str | None) -> list[RowError]:
        """Row errors for values longer than a cell may hold, found by the scan: the cell's row and
        column letter when the value sits in a sheet, the cells that use it when it is a shared string."""
        limit = self.limits.max_cell_chars
        zh_long = f"单元格内容远超上限 {limit:,} 个字符，未读取"
        en_long = f"the cell holds far more than the limit of {limit:,} characters; not read"
        found: list[RowError] = []
        for scan in scans.values():
            if not scan.long_runs:
                continue
            if "worksheets/" in scan.name:
                where = "" if scan.name == first else f"（{scan.name}）"
                for _, before in scan.long_runs:
                    refs = list(_CELL_REF.finditer(before))
                    if refs:
                        col, row = refs[-1].group(1).decode(), int(refs[-1].group(2))
                        found.append(RowError(row, col + where, f"单元格 {col}{row}{where}：{zh_long}",
                                              f"cell {col}{row} {scan.name if where else ''}: {en_long}".replace("  ", " ")))
                    else:
                        found.append(RowError(1, None, f"{scan.name}：{zh_long}", f"{scan.name}: {en_long}"))
            elif scan.name.endswith("sharedStrings.xml"):
                indices = _shared_indices(zf, scan)
                cells = _cells_using(zf, first, indices, scan.gate, self.limits.max_errors) if first else []
                for col, row in cells:
                    found.append(RowError(row, col, f"单元格 {col}{row}：{zh_long}", f"cell {col}{row}: {en_long}"))
                if not cells:
                    found.append(RowError(1, None, f"共享字符串表中有内容过长的单元格：{zh_long}",
                                          f"the shared strings hold an overlong value: {en_long}"))
            else:
                found.append(RowError(1, None, f"Excel 文件中的 {scan.name} 有异常长的内容，不是正常的表格文件",
                                      f"{scan.name} in the workbook holds an abnormally long run: not a normal spreadsheet"))
        return sorted(found, key=lambda e: e.line)

    def records(self) -> Iterator[Record]:
        cols = self.columns
        width = len(cols)
        cell_limit = self.limits.max_cell_chars
        line = 1
        try:
            for line, row in enumerate(self._rows, start=2):
                self._done = line
                if any(type(c) is str and (len(c) > cell_limit or "\x00" in c or CONTROL.search(c)) for c in row):
                    yield line, None, self._cell_problems(line, list(row))
                    continue
                values: dict[Any, Any] = {
                    k: v
                    for k, v in zip(cols, row, strict=False)
                    if v is not None and not (isinstance(v, str) and (v == "" or v.isspace()))
                }
                values.pop(None, None)
                extra = None
                if len(row) > width and any(c is not None and str(c).strip() for c in row[width:]):
                    extra = [_extra_cells(line, width)]
                if values or extra:
                    yield line, values, extra
        except (zipfile.BadZipFile, zlib.error, KeyError, OSError, SyntaxError, ValueError, TypeError,
                IndexError) as exc:
            yield line + 1, None, [RowError(line + 1, None, f"工作表读到此处出错，之后的行未读取：{exc}",
                                            f"the sheet could not be read from here on: {exc}")]

    def progress_total(self) -> int:
        return self._sheet_rows

    def progress_done(self) -> int:
        return self._done

    def rows_after(self, line: int) -> int:
        return max(0, getattr(self, "_sheet_rows", 0) - line)

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
            self._book = None


def _shared_indices(zf: zipfile.ZipFile, scan: _PartScan) -> set[int]:
    """The positions in the shared strings table of the overlong runs (a second pass, rare)."""
    offsets = sorted(o for o, _ in scan.long_runs)
    found: set[int] = set()
    seen = 0
    with zf.open(scan.name) as part:
        for offset, block in _blocks(part, scan.gate):
            while offsets and offsets[0] < offset + len(block):
                found.add(seen + len(_SHARED_STRING.findall(block, 0, offsets.pop(0) - offset)) - 1)
            if not offsets:
                break
            seen += len(_SHARED_STRING.findall(block))
    return found


def _cells_using(zf: zipfile.ZipFile, sheet: str, indices: set[int], gate: int,
                 limit: int) -> list[tuple[str, int]]:
    """``(column letter, row)`` of the cells of ``sheet`` that hold one of the shared strings ``indices``."""
    wanted = {str(i).encode() for i in indices}
    found: list[tuple[str, int]] = []
    with zf.open(sheet) as part:
        for _, block in _blocks(part, gate):
            for m in _SHARED_CELL.finditer(block):
                attrs, value = m.group(1), m.group(2)
                if value in wanted and b't="s"' in attrs:
                    ref = re.search(rb"\br=\"([A-Z]{1,3})(\d+)\"", attrs)
                    if ref:
                        found.append((ref.group(1).decode(), int(ref.group(2))))
                        if len(found) >= limit:
                            return found
    return found


READERS: tuple[type[Reader], ...] = (CsvReader, XlsxReader, JsonLinesReader)


def reader_for(filename: str) -> type[Reader]:
    """The reader class for a file name, by its extension (case-insensitive)."""
    lower = filename.lower()
    for cls in READERS:
        if lower.endswith(cls.extensions):
            return cls
    known = ", ".join(ext for cls in READERS for ext in cls.extensions)
    raise InvalidInput(msg("import.unsupported_format", filename=filename, known=known),
                       errors={"filename": [msg("import.unsupported_format", filename=filename, known=known)]})
