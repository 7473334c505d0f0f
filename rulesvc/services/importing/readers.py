"""File readers: one class per format, chosen by the file name's extension.

A reader turns a file into records ``(line, values, problems)``: ``line`` is the line number a person
sees (for CSV and Excel the header is line 1, so the first data row is line 2; for JSON Lines the
physical line), ``values`` maps column names to raw values with empty cells left out (``None`` when
the line could not be read at all), ``problems`` lists what the reader itself found wrong (or is
``None``). Adding a format means adding a :class:`Reader` subclass and listing it in ``READERS``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import IO, Any, ClassVar

from rulesvc.errors import ImportRejected, InvalidInput, RowError

Record = tuple[int, dict[str, Any] | None, list[RowError] | None]

_SCAN_CHUNK = 1 << 20


class Reader(ABC):
    """Reads one format from a seekable binary file.

    ``columns`` is the header as written (tabular formats) and may be replaced by the caller with
    canonical names (``None`` drops a column) before :meth:`records` is iterated.
    """

    extensions: ClassVar[tuple[str, ...]] = ()
    tabular: ClassVar[bool] = True

    def __init__(self, fh: IO[bytes], source: str) -> None:
        self.fh = fh
        self.source = source
        self.columns: list[str | None] = []

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

    def close(self) -> None:
        """Release what the reader opened (never the caller's file)."""
        return None


def _size(fh: IO[bytes]) -> int:
    here = fh.tell()
    end = fh.seek(0, io.SEEK_END)
    fh.seek(here)
    return end


def _reject(source: str, zh: str, en: str, line: int = 1) -> ImportRejected:
    return ImportRejected(row_errors=[RowError(line, None, zh, en)], source=source)


def detect_encoding(fh: IO[bytes], source: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Excel writes on Chinese Windows).

    The whole file is checked, in chunks, because a GBK byte may first appear on the last line.
    """
    fh.seek(0)
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _reject(
            source,
            "文件是 UTF-16 编码，请另存为“CSV UTF-8”或 GB18030 编码的 CSV",
            "the file is UTF-16; save it as 'CSV UTF-8' or GB18030",
        )
    bad_line = _first_undecodable_line(fh, "utf-8")
    if bad_line is None:
        return "utf-8"
    if _first_undecodable_line(fh, "gb18030") is None:
        return "gb18030"
    raise _reject(
        source,
        "文件编码无法识别，应为 UTF-8 或 GB18030（GBK）",
        "cannot decode the file: it must be UTF-8 or GB18030 (GBK)",
        line=bad_line,
    )


def _first_undecodable_line(fh: IO[bytes], encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    fh.seek(0)
    try:
        while chunk := fh.read(_SCAN_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return newlines + exc.object[: exc.start].count(b"\n") + 1
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return newlines + 1
        return None
    finally:
        fh.seek(0)


class _TextReader(Reader):
    """Shared by text formats: the encoding is detected and the bytes decoded as a stream."""

    def _text(self) -> io.TextIOWrapper:
        encoding = detect_encoding(self.fh, self.source)
        self._wrapper = io.TextIOWrapper(self.fh, encoding=encoding, newline="")
        return self._wrapper

    def close(self) -> None:
        wrapper = getattr(self, "_wrapper", None)
        if wrapper is not None:
            wrapper.detach()  # keep the caller's binary file open
            self._wrapper = None


class CsvReader(_TextReader):
    """Comma-separated values, header in row 1."""

    extensions = (".csv",)

    def open(self) -> list[str]:
        self._rows = csv.reader(self._text())
        try:
            header = next(self._rows, None)
        except csv.Error as exc:
            raise _reject(self.source, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from None
        if header is None or not any(h.strip() for h in header):
            raise _reject(self.source, "文件是空的，第 1 行应为表头", "the file is empty; line 1 must be the header")
        self.columns = [h.strip() for h in header]
        return list(self.columns)

    def records(self) -> Iterator[Record]:
        cols = self.columns
        width = len(cols)
        line = 1
        try:
            for row in self._rows:
                line += 1
                # Empty cells are absent values; skipping them here keeps the per-row work small.
                values = {k: v for k, v in zip(cols, row, strict=False) if v and not v.isspace()}
                values.pop(None, None)  # type: ignore[call-overload]
                problems = None
                if len(row) > width and any(c.strip() for c in row[width:]):
                    problems = [_extra_cells(line, width)]
                if values or problems:
                    yield line, values, problems
        except csv.Error as exc:
            yield line + 1, None, [RowError(line + 1, None, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}")]


def _extra_cells(line: int, width: int) -> RowError:
    return RowError(
        line, None, f"此行的值多于表头的 {width} 列", f"the row has more values than the {width} header columns"
    )


class XlsxReader(Reader):
    """Excel 2007+ workbooks: the first sheet, header in row 1, read in streaming mode."""

    extensions = (".xlsx", ".xlsm")

    def open(self) -> list[str]:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self.fh.seek(0)
        try:
            with warnings.catch_warnings():
                # Files from WPS and other tools lack default styles or carry extensions openpyxl
                # does not model; the cell values are still right.
                warnings.simplefilter("ignore", UserWarning)
                self._book = openpyxl.load_workbook(self.fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise _reject(
                self.source, f"不是有效的 Excel（.xlsx）文件：{exc}", f"not a valid Excel (.xlsx) file: {exc}"
            ) from None
        sheet = self._book.worksheets[0]
        self._max_row = sheet.max_row or 0
        self._rows = sheet.iter_rows(values_only=True)
        header = next(self._rows, None)
        self.columns = ["" if h is None else str(h).strip() for h in header or ()]
        if not any(self.columns):
            raise _reject(self.source, "工作表是空的，第 1 行应为表头", "the sheet is empty; row 1 must be the header")
        while self.columns and self.columns[-1] == "":
            self.columns.pop()
        self._done = 1
        return list(self.columns)

    def records(self) -> Iterator[Record]:
        cols = self.columns
        width = len(cols)
        for line, row in enumerate(self._rows, start=2):
            self._done = line
            values = {
                k: v
                for k, v in zip(cols, row, strict=False)
                if v is not None and not (isinstance(v, str) and (v == "" or v.isspace()))
            }
            values.pop(None, None)  # type: ignore[call-overload]
            problems = None
            if len(row) > width and any(c is not None and str(c).strip() for c in row[width:]):
                problems = [_extra_cells(line, width)]
            if values or problems:
                yield line, values, problems

    def progress_total(self) -> int:
        return self._max_row

    def progress_done(self) -> int:
        return self._done

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
            self._book = None


class JsonLinesReader(_TextReader):
    """One JSON object per line; attributes at the top level or inside an ``"attrs"`` object."""

    extensions = (".jsonl", ".ndjson")
    tabular = False

    def open(self) -> list[str]:
        self._lines = iter(self._text())
        self._first: Record | None = None
        for line, raw in enumerate(self._lines, start=1):
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
        for line, raw in enumerate(self._lines, start=self._first_line + 1):
            if raw.strip():
                yield self._parse(line, raw)

    @staticmethod
    def _parse(line: int, raw: str) -> Record:
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            return line, None, [RowError(line, None, f"不是合法的 JSON：{exc}", f"not valid JSON: {exc}")]
        if not isinstance(obj, dict):
            return line, None, [RowError(line, None, "每行应为一个 JSON 对象", "each line must be a JSON object")]
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


READERS: tuple[type[Reader], ...] = (CsvReader, XlsxReader, JsonLinesReader)


def reader_for(filename: str) -> type[Reader]:
    """The reader class for a file name, by its extension (case-insensitive)."""
    lower = filename.lower()
    for cls in READERS:
        if lower.endswith(cls.extensions):
            return cls
    known = ", ".join(ext for cls in READERS for ext in cls.extensions)
    raise InvalidInput(
        f"不支持的文件格式：{filename}（支持 {known}）({filename}: unsupported format; use one of {known})",
        errors={"filename": [f"unsupported format; use one of {known}"]},
    )
