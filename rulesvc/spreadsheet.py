"""Spreadsheet exports: a minimal, streaming, deterministic XLSX writer, and CSV.

A report is exported as a workbook with one sheet per section. The rows of each sheet are consumed
lazily, once, and written straight into the sheet's compressed zip entry, so memory stays bounded
whatever the number of rows; and exporting the same data again gives the same bytes (no timestamps,
fixed zip metadata, fixed order of parts), so two exports of one report can be compared byte by byte.

API::

    @dataclass
    class Sheet:
        name: str                         # sanitised: see sheet_names()
        header: Sequence[str]
        rows: Iterable[Sequence[object]]  # consumed lazily, once
        widths: Sequence[float] | None = None

    write_xlsx(sheets, out)               # streams the workbook into a binary file object
    iter_xlsx(sheets, chunk_size=65536)   # the workbook's bytes in chunks (a streamed HTTP response)
    iter_csv(header, rows)                # CSV text in chunks: BOM first, CRLF, formula-safe cells
    csv_safe(value)                       # the formula-injection escape of a CSV cell
    sheet_names(names)                    # the names Excel accepts, unique within the book

Cells (XLSX):

- ``int`` and ``float``: numeric cells holding ``str(int)`` / ``repr(float)`` — the shortest text that
  reads back as the same number, so an int reads back as an int and a float as a float. NaN and
  infinities are written as empty cells. An int of more than 15 digits is written as text: Excel
  keeps 15 significant digits and would silently change it.
- ``bool``: a boolean cell (``TRUE``/``FALSE``).
- ``str``: an inline string (``t="inlineStr"``; never a formula, whatever it starts with). Characters
  XML 1.0 forbids (control characters other than tab, LF and CR; lone surrogates; U+FFFE, U+FFFF) are
  removed; text is cut at 32,767 UTF-16 units, Excel's limit for a cell. Text Excel would read as a
  formula when typed (see :func:`csv_safe`) additionally gets the ``quotePrefix`` style — what Excel
  itself does for ``'=1`` — so it also stays text when someone edits the cell; the value is unchanged.
  A literal ``_xHHHH_`` is written as ``_x005F_xHHHH_`` (OOXML's escape, which Excel undoes;
  openpyxl does not undo it).
- ``datetime.date``: a number with a ``yyyy-mm-dd`` style; ``datetime.datetime`` (naive only) with
  ``yyyy-mm-dd hh:mm:ss``. Dates before 1900 cannot be Excel dates and are written as ISO text.
- ``decimal.Decimal``: numeric (NaN and infinities empty). ``None`` and ``""``: no cell.
- Subclasses of ``str``, ``int`` and ``float`` (enums) are written as their value. Anything else is a
  :class:`TypeError`, raised when the writer reaches it — so is a row longer than the header (a
  :class:`ValueError`).

Each sheet has a bold header row, frozen (``ySplit=1``), an auto filter over the header and every
written row, and column widths (given in characters, or from the header: a CJK character counts two).

The package holds, in this order: ``[Content_Types].xml``, ``_rels/.rels``, ``xl/styles.xml``,
``xl/worksheets/sheet1.xml`` … ``sheetN.xml``, ``xl/workbook.xml``, ``xl/_rels/workbook.xml.rels``.
The workbook part comes last because its ``_xlnm._FilterDatabase`` names (Excel's record of each
sheet's filter range) need each sheet's last row, known only once its rows have been streamed. There
is no ``docProps/core.xml`` (it would carry creation times). Every entry has the date 1980-01-01
00:00:00, Unix permissions rw-r--r-- and zlib's level 6 deflate.

Determinism: the bytes depend only on the data — and on whether ``out`` can seek: on a seekable file
zipfile writes each entry's sizes into its header, on a pipe it appends data descriptors (both are
valid zip files; :func:`iter_xlsx` always builds into a seekable temporary file). They are the same
across runs and machines with the same Python and zlib.

Limits: each sheet's XML must stay under 2 GiB uncompressed (no zip64), roughly 40 million cells.

CSV (:func:`iter_csv`): UTF-8 text beginning with a BOM (so Excel in China reads it as UTF-8), CRLF line
ends, minimal quoting. Text passes :func:`csv_safe`; ints are ``str(int)``, floats ``repr(float)``
(exact and deterministic; round beforehand for presentation), NaN and infinities empty, bools
``TRUE``/``FALSE``, dates ISO (``2024-01-31``, ``2024-01-31 08:30:00``), ``None`` empty.

For a Flask response::

    return Response(stream_with_context(iter_xlsx(sheets)), mimetype=XLSX_MIMETYPE, headers=...)

Nothing is built until the response starts iterating (so an error in the data surfaces before the
first byte); the temporary file is closed at the end, or when the client goes away.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

__all__ = [
    "CSV_MIMETYPE",
    "FORMULA_TRIGGERS",
    "XLSX_MIMETYPE",
    "Sheet",
    "csv_safe",
    "iter_csv",
    "iter_xlsx",
    "sheet_names",
    "write_xlsx",
]

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


@dataclass
class Sheet:
    """One sheet of a workbook: its rows are consumed lazily, once, when the sheet is written."""

    name: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Sequence[float] | None = None  # in characters, one per header column; None: from the header


# == formula injection =================================================================================

# What makes Excel, WPS and LibreOffice read a cell as a formula (OWASP "CSV injection"): these
# characters first — also after leading spaces, which some of them trim.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_LEADING_SPACE = " \t\r\n\u00a0\u3000"
_SUSPECT_FIRST = frozenset(FORMULA_TRIGGERS) | frozenset(_LEADING_SPACE)


def _looks_like_formula(text: str) -> bool:
    return bool(text) and (text[0] in FORMULA_TRIGGERS or text.lstrip(_LEADING_SPACE)[:1] in FORMULA_TRIGGERS)


def csv_safe(v: Any) -> Any:
    """The one escape of every text cell this project writes to a CSV file: a text cell a spreadsheet
    would read as a formula (``=`` ``+`` ``-`` ``@``, tab, CR, or any of them after leading spaces) gets
    a leading apostrophe, so ``=cmd|' /C calc'!A0`` stays text. Numbers stay numbers. (XLSX cells need
    no apostrophe: :func:`write_xlsx` writes text as inline strings with Excel's ``quotePrefix``.)"""
    if isinstance(v, str) and _looks_like_formula(v):
        return "'" + v
    return v


# == text ==============================================================================================

MAX_CELL_UNITS = 32_767  # Excel's limit on a cell's text, in UTF-16 code units
MAX_SHEET_NAME = 31
_MAX_EXACT_INT = 10**15 - 1  # Excel keeps 15 significant digits

# Characters XML 1.0 forbids (tab, LF and CR are allowed), lone surrogates, U+FFFE/U+FFFF.
_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_FORBIDDEN_RE = re.compile(f"[{_FORBIDDEN}]")
# Anything that needs more than copying: markup, CR (a parser would turn it into LF), forbidden
# characters, and the start of what Excel would read as an _xHHHH_ escape.
_SPECIAL_RE = re.compile(f"[&<>\r{_FORBIDDEN}]|_x[0-9A-Fa-f]{{4}}_")
_ESCAPE_LIKE_RE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 code units of ``text`` (a character above U+FFFF takes two)."""
    if len(text) <= limit // 2 or len(text.encode("utf-16-le")) <= 2 * limit:
        return text
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text  # pragma: no cover - the encoded length said otherwise


def _xml_text(text: str) -> str:
    """``text`` as the content of an element: forbidden characters removed, cut to a cell's limit,
    escaped."""
    if len(text) <= MAX_CELL_UNITS // 2 and not _SPECIAL_RE.search(text):
        return text
    text = _cut(_FORBIDDEN_RE.sub("", text), MAX_CELL_UNITS)
    if "_x" in text:
        text = _ESCAPE_LIKE_RE.sub(r"_x005F_\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _xml_attr(text: str) -> str:
    return (_FORBIDDEN_RE.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;"))


def _display_width(text: str) -> int:
    """Width in characters of a fixed-width font: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


_NAME_FORBIDDEN_RE = re.compile(f"[\\[\\]:*?/\\\\{_FORBIDDEN}\x7f]")


def sheet_names(names: Iterable[str]) -> list[str]:
    """Names Excel accepts for these sheets, in order: ``[ ] : * ? / \\`` and control characters become
    ``_``; no apostrophe first or last; at most 31 characters; not empty (``Sheet<n>``) nor Excel's
    reserved ``History``; unique within the book ignoring case (``名称 (2)``, ``名称 (3)``…)."""
    out: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(names, 1):
        name = _cut(_NAME_FORBIDDEN_RE.sub("_", raw).strip().strip("'"), MAX_SHEET_NAME).rstrip("'")
        if not name:
            name = f"Sheet{number}"
        if name.casefold() == "history":
            name += "_"
        base, n = name, 1
        while name.casefold() in seen:
            n += 1
            suffix = f" ({n})"
            name = _cut(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix
        seen.add(name.casefold())
        out.append(name)
    return out


def _column_letters(count: int) -> list[str]:
    letters = []
    for i in range(1, count + 1):
        name = ""
        while i:
            i, rest = divmod(i - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576


def _widths(header: Sequence[str], widths: Sequence[float] | None) -> list[str]:
    if widths is None:
        # Room for a bold header and the filter's drop-down button.
        values = [min(60.0, max(8.0, _display_width(str(h)) + 4.0)) for h in header]
    else:
        if len(widths) != len(header):
            raise ValueError(f"{len(widths)} column widths for {len(header)} columns")
        values = []
        for w in widths:
            if not (isinstance(w, int | float) and math.isfinite(w) and w > 0):
                raise ValueError(f"column width {w!r} is not a positive number")
            values.append(min(255.0, float(w)))
    return [format(round(w, 2), "g") for w in values]


# == cells =============================================================================================

# Style indices (cellXfs in styles.xml).
_S_HEADER = 1
_S_DATE = 2
_S_DATETIME = 3
_S_TEXT_QUOTED = 4
_S_HEADER_QUOTED = 5

_EPOCH = dt.date(1899, 12, 30)  # serial 0 of the 1900 date system, counting from 1900-03-01
_LEAP_BUG = dt.date(1900, 3, 1)  # Excel counts a 29 February 1900: serials before it are one less
_FIRST_DATE = dt.date(1900, 1, 1)


def _text_cell(ref: str, text: str, style: int = 0) -> str:
    if not _FORBIDDEN_RE.sub("", text):  # nothing XML can hold (control characters only): an empty cell
        return ""
    if style == _S_HEADER:
        style = _S_HEADER_QUOTED if _looks_like_formula(text) else _S_HEADER
    elif text and text[0] in _SUSPECT_FIRST and _looks_like_formula(text):
        style = _S_TEXT_QUOTED
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


def _int_cell(ref: str, v: int) -> str:
    if -_MAX_EXACT_INT <= v <= _MAX_EXACT_INT:
        return f'<c r="{ref}"><v>{v}</v></c>'
    return _text_cell(ref, str(v))


def _other_cell(ref: str, v: object) -> str:
    """Cells of the types the inner loop does not take itself."""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, int):
        return _int_cell(ref, int(v))
    if isinstance(v, float):
        return f'<c r="{ref}"><v>{float(v)!r}</v></c>' if math.isfinite(v) else ""
    if isinstance(v, str):
        return _text_cell(ref, str.__str__(v))
    if isinstance(v, Decimal):
        return f'<c r="{ref}"><v>{v}</v></c>' if v.is_finite() else ""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            raise TypeError(f"cell {ref}: a datetime with a time zone ({v.isoformat()}); convert it to a naive local time")
        day = v.date()
        if day < _FIRST_DATE:
            return _text_cell(ref, v.isoformat(sep=" "))
        seconds = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        serial = (day - _EPOCH).days - (day < _LEAP_BUG) + seconds / 86400
        return f'<c r="{ref}" s="{_S_DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(v, dt.date):
        if v < _FIRST_DATE:
            return _text_cell(ref, v.isoformat())
        return f'<c r="{ref}" s="{_S_DATE}"><v>{(v - _EPOCH).days - (v < _LEAP_BUG)}</v></c>'
    if v is None:
        return ""
    raise TypeError(f"cell {ref}: cannot write a {type(v).__name__} to a spreadsheet")


def _rows_xml(rows: Iterable[Sequence[object]], letters: list[str], write: Callable[[bytes], object]) -> int:
    """Writes ``<row>`` elements from row 2 on; returns the number of the last row written (1 if none)."""
    ncols = len(letters)
    isfinite = math.isfinite
    special = _SPECIAL_RE.search
    suspect = _SUSPECT_FIRST
    short = MAX_CELL_UNITS // 2
    n = 1
    batch: list[str] = []
    v: Any  # the loop tells types apart by type(v), which mypy does not follow
    for row in rows:
        n += 1
        if len(row) > ncols:
            raise ValueError(f"row {n} has {len(row)} cells, the header {ncols}")
        if n > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS} rows: Excel cannot open the sheet")
        r = str(n)
        cells = [f'<row r="{r}">']
        for letter, v in zip(letters, row, strict=False):
            t = type(v)
            if t is str:
                if not v:
                    continue
                if v[0] in suspect or len(v) > short or special(v):
                    cells.append(_text_cell(letter + r, v))
                else:  # the common case, inline: plain text
                    cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>')
            elif t is float:
                if isfinite(v):
                    cells.append(f'<c r="{letter}{r}"><v>{v!r}</v></c>')
            elif t is int:
                if -_MAX_EXACT_INT <= v <= _MAX_EXACT_INT:
                    cells.append(f'<c r="{letter}{r}"><v>{v}</v></c>')
                else:
                    cells.append(_text_cell(letter + r, str(v)))
            elif v is not None:
                cells.append(_other_cell(letter + r, v))
        cells.append("</row>")
        batch.append("".join(cells))
        if len(batch) >= 256:
            write("".join(batch).encode("utf-8"))
            batch.clear()
    if batch:
        write("".join(batch).encode("utf-8"))
    return n


# == parts =============================================================================================

_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_STYLES = (
    _XML_DECL
    + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    "</numFmts>"
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" quotePrefix="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

_ROOT_RELS = (
    _XML_DECL
    + f'<Relationships xmlns="{_NS_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_NS_R}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)


def _content_types(count: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                     for i in range(1, count + 1))
    return (
        _XML_DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _workbook(names: list[str], filters: list[str | None]) -> str:
    sheets = "".join(f'<sheet name="{_xml_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, 1))
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_xml_text(_quoted_sheet(name))}!{ref}</definedName>"
        for i, (name, ref) in enumerate(zip(names, filters, strict=True)) if ref
    )
    return (
        _XML_DECL
        + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{sheets}</sheets>"
        + (f"<definedNames>{defined}</definedNames>" if defined else "")
        + "</workbook>"
    )


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_rels(count: int) -> str:
    sheets = "".join(f'<Relationship Id="rId{i}" Type="{_NS_R}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                     for i in range(1, count + 1))
    return (
        _XML_DECL
        + f'<Relationships xmlns="{_NS_PKG_RELS}">{sheets}'
        f'<Relationship Id="rId{count + 1}" Type="{_NS_R}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )


def _write_sheet(sheet: Sheet, selected: bool, write: Callable[[bytes], object]) -> str | None:
    """Writes one worksheet part; returns its filter range in absolute form (``$A$1:$C$9``), if any."""
    header = list(sheet.header)
    if len(header) > MAX_COLUMNS:
        raise ValueError(f"{len(header)} columns: Excel has {MAX_COLUMNS}")
    letters = _column_letters(len(header))
    widths = _widths(header, sheet.widths)
    view = ' tabSelected="1"' if selected else ""
    head = [
        _XML_DECL,
        f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">',
        f'<sheetViews><sheetView{view} workbookViewId="0">',
    ]
    if header:
        head.append('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>')
    head.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if header:
        head.append("<cols>")
        head += [f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)]
        head.append("</cols>")
    head.append("<sheetData>")
    if header:
        head.append('<row r="1">')
        head += [_text_cell(f"{letter}1", "" if h is None else str(h), _S_HEADER) for letter, h in zip(letters, header, strict=True)]
        head.append("</row>")
    write("".join(head).encode("utf-8"))
    last = _rows_xml(sheet.rows, letters, write)
    if not header:
        write(b"</sheetData></worksheet>")
        return None
    ref = f"A1:{letters[-1]}{last}"
    write(f'</sheetData><autoFilter ref="{ref}"/></worksheet>'.encode())
    return f"$A$1:${letters[-1]}${last}"


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED  # at zlib's default level, 6
    info.create_system = 3  # Unix, whatever the platform
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    return info


def write_xlsx(sheets: Iterable[Sheet], out: IO[bytes]) -> None:
    """Writes a workbook of ``sheets`` to ``out`` (a binary file object open for writing; it is not
    closed). Each sheet's rows are streamed into its compressed entry: memory stays bounded."""
    book = list(sheets)
    if not book:
        raise ValueError("a workbook needs at least one sheet")
    names = sheet_names(s.name for s in book)
    with zipfile.ZipFile(out, "w") as zf:  # each entry says how it is compressed
        zf.writestr(_entry("[Content_Types].xml"), _content_types(len(book)))
        zf.writestr(_entry("_rels/.rels"), _ROOT_RELS)
        zf.writestr(_entry("xl/styles.xml"), _STYLES)
        filters = []
        for i, sheet in enumerate(book, 1):
            with zf.open(_entry(f"xl/worksheets/sheet{i}.xml"), "w") as part:
                filters.append(_write_sheet(sheet, i == 1, part.write))
        zf.writestr(_entry("xl/workbook.xml"), _workbook(names, filters))
        zf.writestr(_entry("xl/_rels/workbook.xml.rels"), _workbook_rels(len(book)))


def iter_xlsx(sheets: Iterable[Sheet], chunk_size: int = 65536) -> Iterator[bytes]:
    """The bytes of :func:`write_xlsx`'s workbook, in chunks of ``chunk_size``: for a streamed HTTP
    response. The workbook is built, on the first ``next()``, into a temporary file (in memory up to
    4 MiB, then on disk), which is closed after the last chunk or when the iterator is closed."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return _iter_xlsx(sheets, chunk_size)


def _iter_xlsx(sheets: Iterable[Sheet], chunk_size: int) -> Iterator[bytes]:
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as fh:
        write_xlsx(sheets, fh)
        fh.seek(0)
        while chunk := fh.read(chunk_size):
            yield chunk


# == CSV ===============================================================================================

def _csv_cell(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, str):
        return csv_safe(str.__str__(v))
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return float.__repr__(v) if math.isfinite(v) else ""
    if isinstance(v, Decimal):
        return str(v) if v.is_finite() else ""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            raise TypeError(f"a datetime with a time zone ({v.isoformat()}); convert it to a naive local time")
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    raise TypeError(f"cannot write a {type(v).__name__} to a spreadsheet")


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, chunk_rows: int = 1000) -> Iterator[str]:
    """CSV text in chunks of ``chunk_rows`` rows: a BOM and the header first, CRLF line ends, every
    text cell (the header too) through :func:`csv_safe`, numbers unquoted (see the module's docstring).
    Rows are consumed lazily, once; a row longer than the header is a :class:`ValueError`."""
    ncols = len(header)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    out.writerow([_csv_cell(h) for h in header])
    pending = 0
    v: Any
    for n, row in enumerate(rows, 2):
        if len(row) > ncols:
            raise ValueError(f"row {n} has {len(row)} cells, the header {ncols}")
        cells = []
        for v in row:
            t = type(v)
            if t is str:
                cells.append(v if not v or v[0] not in _SUSPECT_FIRST else csv_safe(v))
            elif t is int:
                cells.append(v)
            elif t is float:
                cells.append(v if math.isfinite(v) else "")
            else:
                cells.append(_csv_cell(v))
        out.writerow(cells)
        pending += 1
        if pending >= chunk_rows:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            pending = 0
    if text := buf.getvalue():
        yield text
