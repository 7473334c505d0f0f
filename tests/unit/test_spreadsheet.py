"""The spreadsheet writer: what openpyxl reads back from our XLSX, the same bytes on every export,
bounded memory on a long stream of rows, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import hashlib
import io
import math
import re
import time
import tracemalloc
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesvc.commands import _table
from rulesvc.spreadsheet import (
    FORMULA_TRIGGERS,
    Sheet,
    csv_safe,
    iter_csv,
    iter_xlsx,
    sheet_names,
    write_xlsx,
)

HEADER = ["姓名", "检察院", "案件数", "得分", "参加考评", "入额日期", "备注", "更新时间"]


def report_rows():
    yield ["张三", "北京市人民检察院", 12, 87.5, True, dt.date(2020, 3, 1), None, dt.datetime(2024, 5, 6, 7, 8, 9)]
    yield ["李四", "上海市浦东新区人民检察院", 0, 60.0, False, dt.date(2019, 12, 31), "=cmd|' /C calc'!A0", None]
    yield ["王五", "=HYPERLINK(\"http://x\")", -3, 1e-7, True, None, "+1+1", dt.datetime(2024, 1, 1)]
    yield ["赵六", "@SUM(A1)", 10**15 - 1, 0.1 + 0.2, False, dt.date(2024, 2, 29), "-2+3", None]


def report(rows=None):
    return [
        Sheet("总览", HEADER, report_rows() if rows is None else rows),
        Sheet("等次变化", ["等次", "人数"], iter([["优秀", 3], ["称职", 70000]])),
        Sheet("空表", ["列"], iter([])),
    ]


def xlsx_bytes(sheets) -> bytes:
    out = io.BytesIO()
    write_xlsx(sheets, out)
    return out.getvalue()


def open_book(data: bytes, read_only: bool):
    return openpyxl.load_workbook(io.BytesIO(data), read_only=read_only)


def values(ws) -> list[tuple]:
    """The rows, each as wide as the widest: in read-only mode openpyxl ends a row at its last cell,
    since the sheet declares no dimension (it cannot: the last row is known only after streaming)."""
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    return [r + (None,) * (width - len(r)) for r in rows]


def part(data: bytes, name: str) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(name).decode("utf-8")


# == what openpyxl reads back ==========================================================================

EXPECTED = [
    tuple(HEADER),
    ("张三", "北京市人民检察院", 12, 87.5, True, dt.datetime(2020, 3, 1), None, dt.datetime(2024, 5, 6, 7, 8, 9)),
    ("李四", "上海市浦东新区人民检察院", 0, 60.0, False, dt.datetime(2019, 12, 31), "=cmd|' /C calc'!A0", None),
    ("王五", "=HYPERLINK(\"http://x\")", -3, 1e-7, True, None, "+1+1", dt.datetime(2024, 1, 1)),
    ("赵六", "@SUM(A1)", 10**15 - 1, 0.1 + 0.2, False, dt.datetime(2024, 2, 29), "-2+3", None),
]


@pytest.mark.parametrize("read_only", [False, True], ids=["normal", "read-only"])
def test_openpyxl_reads_back_names_headers_and_typed_values(read_only):
    book = open_book(xlsx_bytes(report()), read_only)
    assert book.sheetnames == ["总览", "等次变化", "空表"]
    got = values(book["总览"])
    assert got == EXPECTED
    for row in got[1:]:  # ints stay ints, floats floats, bools bools
        assert [type(v) for v in row[2:5]] == [int, float, bool]
    assert values(book["等次变化"]) == [("等次", "人数"), ("优秀", 3), ("称职", 70000)]
    assert values(book["空表"]) == [("列",)]
    book.close()


def test_text_that_looks_like_a_formula_stays_text_with_excels_quote_prefix():
    data = xlsx_bytes(report())
    assert "<f>" not in part(data, "xl/worksheets/sheet1.xml")
    ws = open_book(data, read_only=False)["总览"]
    for ref in ("G3", "B4", "G4", "B5", "G5"):
        assert ws[ref].data_type == "s" and ws[ref].value[0] in FORMULA_TRIGGERS
        assert ws[ref].quotePrefix, ref
    assert ws["A2"].value == "张三" and not ws["A2"].quotePrefix  # plain text has no prefix
    hostile = xlsx_bytes([Sheet("s", ["=1+1", " @x"], [])])
    head = open_book(hostile, read_only=False)["s"]
    assert [c.value for c in head[1]] == ["=1+1", " @x"]
    assert all(c.quotePrefix and c.font.b and c.data_type == "s" for c in head[1])


def test_header_is_bold_frozen_filtered_and_columns_have_widths():
    data = xlsx_bytes(report())
    book = open_book(data, read_only=False)
    ws = book["总览"]
    assert all(c.font.b for c in ws[1]) and not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H5"
    assert book["空表"].auto_filter.ref == "A1:A1"
    # Default widths from the header: a CJK character counts two, plus room for the filter button.
    assert ws.column_dimensions["A"].width == 8  # 姓名: 4 + 4
    assert ws.column_dimensions["B"].width == 10  # 检察院: 6 + 4
    assert ws["F2"].number_format == "yyyy-mm-dd" and ws["H2"].number_format == "yyyy-mm-dd hh:mm:ss"
    wide = open_book(xlsx_bytes([Sheet("s", ["a", "b"], [], widths=[30, 12.5])]), read_only=False)["s"]
    assert (wide.column_dimensions["A"].width, wide.column_dimensions["B"].width) == (30, 12.5)
    # Excel's record of each filter range, and the sheet parts in schema order.
    assert "<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"0\" hidden=\"1\">'总览'!$A$1:$H$5" \
        in part(data, "xl/workbook.xml")
    sheet = part(data, "xl/worksheets/sheet1.xml")
    order = [sheet.index(tag) for tag in ("<sheetViews>", "<cols>", "<sheetData>", "</sheetData>", "<autoFilter")]
    assert order == sorted(order)


@pytest.mark.parametrize("widths", [[1], [1, 2, 3], [0, 5], [float("nan"), 5], [-1, 5]])
def test_bad_widths_are_refused(widths):
    with pytest.raises(ValueError, match="width"):
        xlsx_bytes([Sheet("s", ["a", "b"], [], widths=widths)])


def test_nan_infinities_none_and_empty_text_are_empty_cells():
    rows = [[float("nan"), float("inf"), -math.inf, None, "", Decimal("NaN"), 1]]
    ws = open_book(xlsx_bytes([Sheet("s", list("abcdefg"), rows)]), read_only=False)["s"]
    assert [c.value for c in ws[2]] == [None] * 6 + [1]


def test_text_is_escaped_cleaned_and_cut_at_excels_limit():
    tricky = "a & b < c > d \"e\" 'f'\r\n\tg  "
    rows = [
        [tricky, "ctl\x00\x01\x08\x0b\x0c\x1f\x7f end", "lone \ud800 surrogate \ufffe\uffff", "x" * 40_000,
         "𝄞" * 20_000, "_x0041_ literally", " 前后空格 "],
    ]
    data = xlsx_bytes([Sheet("s", list("abcdefg"), rows)])
    got = values(open_book(data, read_only=False)["s"])[1]
    assert got[0] == tricky  # CR, LF, tab and outer spaces kept
    assert got[1] == "ctl\x7f end"  # what XML 1.0 forbids is removed
    assert got[2] == "lone  surrogate "
    assert got[3] == "x" * 32_767
    assert got[4] == "𝄞" * 16_383  # two UTF-16 units each
    assert got[6] == " 前后空格 "
    # A literal _xHHHH_ is escaped the OOXML way, so Excel shows it as written (openpyxl does not undo it).
    assert "_x005F_x0041_ literally" in part(data, "xl/worksheets/sheet1.xml")


class Level(enum.IntEnum):
    HIGH = 3


class Grade(enum.StrEnum):
    EXCELLENT = "优秀"


class Kind(str, enum.Enum):  # noqa: UP042 - the old spelling, whose str() is "Kind.EVENT"
    EVENT = "事件"


def test_other_value_types():
    rows = [[Decimal("12.50"), Level.HIGH, Grade.EXCELLENT, Kind.EVENT, 10**15, -(10**18), 2.0**60]]
    ws = open_book(xlsx_bytes([Sheet("s", list("abcdefg"), rows)]), read_only=False)["s"]
    assert [c.value for c in ws[2]] == [12.5, 3, "优秀", "事件", "1000000000000000", "-1000000000000000000",
                                        2.0**60]
    assert ws["A2"].data_type == "n" and ws["B2"].data_type == "n" and ws["G2"].data_type == "n"


def test_dates_use_the_1900_system_and_dates_before_it_are_text():
    days = [dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.date(1970, 1, 1), dt.date(2099, 12, 31)]
    data = xlsx_bytes([Sheet("s", ["d", "old"], [[d, dt.date(1899, 12, 31)] for d in days])])
    sheet = part(data, "xl/worksheets/sheet1.xml")
    serials = [int(v) for v in re.findall(r'<c r="A\d+" s="2"><v>(\d+)</v>', sheet)]
    assert serials == [1, 59, 61, 25569, 73050]  # Excel's own serials (it counts a 29 February 1900)
    got = values(open_book(data, read_only=False)["s"])[1:]
    assert [r[0].date() for r in got[2:]] == days[2:]
    assert {r[1] for r in got} == {"1899-12-31"}


def test_what_cannot_be_written_is_refused():
    with pytest.raises(TypeError, match="cell B2: cannot write a set"):
        xlsx_bytes([Sheet("s", ["a", "b"], [[1, {2}]])])
    with pytest.raises(TypeError, match="time zone"):
        xlsx_bytes([Sheet("s", ["a"], [[dt.datetime(2024, 1, 1, tzinfo=dt.UTC)]])])
    with pytest.raises(ValueError, match="row 3 has 3 cells, the header 2"):
        xlsx_bytes([Sheet("s", ["a", "b"], [[1, 2], [1, 2, 3]])])
    with pytest.raises(ValueError, match="at least one sheet"):
        xlsx_bytes([])


def test_shorter_rows_and_a_sheet_without_columns():
    data = xlsx_bytes([Sheet("s", ["a", "b", "c"], [[1], [], [None, 2]]), Sheet("none", [], [[], []])])
    book = open_book(data, read_only=False)
    assert values(book["s"]) == [("a", "b", "c"), (1, None, None), (None, None, None), (None, 2, None)]
    assert values(book["none"]) == []


# == sheet names =======================================================================================

def test_sheet_names_are_what_excel_accepts_and_unique():
    names = sheet_names(["a[1]:b*c?d/e\\f", "'引号'", "x" * 40, "X" * 40, "", "history", "汇总", "汇总",
                         "Summary", "SUMMARY", "检察官业绩考评模拟测评报告之各检察院等次分布与人数变化"])
    assert names == ["a_1__b_c_d_e_f", "引号", "x" * 31, "X" * 27 + " (2)", "Sheet5", "history_", "汇总",
                     "汇总 (2)", "Summary", "SUMMARY (2)", "检察官业绩考评模拟测评报告之各检察院等次分布与人数变化"[:31]]
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)


def test_a_workbook_with_awkward_names_opens():
    data = xlsx_bytes([Sheet("O'Brien & <Co>", ["a"], [[1]]), Sheet("O'Brien & <Co>", ["a"], [[2]])])
    book = open_book(data, read_only=False)
    assert book.sheetnames == ["O'Brien & <Co>", "O'Brien & <Co> (2)"]
    assert "'O''Brien &amp; &lt;Co&gt;'!$A$1:$A$2" in part(data, "xl/workbook.xml")


# == the same bytes every time =========================================================================

def test_two_exports_at_different_times_are_byte_identical(monkeypatch):
    first = xlsx_bytes(report())
    later = 2_000_000_000.0  # 2033: any clock zipfile or a library might read says something else
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "localtime", lambda secs=None: time.gmtime(later if secs is None else secs))
    second = xlsx_bytes(report(rows=list(report_rows())))  # a list instead of a generator: same bytes
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert b"".join(iter_xlsx(report(), chunk_size=1000)) == first


def test_zip_entries_have_fixed_order_and_metadata():
    data = xlsx_bytes(report())
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert [i.filename for i in infos] == [
        "[Content_Types].xml", "_rels/.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
    ]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert (info.compress_type, info.create_system, info.external_attr) == (zipfile.ZIP_DEFLATED, 3, 0o100644 << 16)
    assert b"dcterms" not in data  # no core properties, so no creation time


class Pipe(io.RawIOBase):
    """A write-only stream that cannot seek or tell, like a socket."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self):
        return True

    def write(self, b):
        self.chunks.append(bytes(b))
        return len(b)


def test_a_stream_that_cannot_seek_gets_a_valid_and_deterministic_file():
    outs = []
    for _ in range(2):
        pipe = Pipe()
        write_xlsx(report(), pipe)
        outs.append(b"".join(pipe.chunks))
    assert outs[0] == outs[1]
    assert values(open_book(outs[0], read_only=True)["总览"]) == EXPECTED


def test_iter_xlsx_builds_lazily_and_closes_its_file(monkeypatch):
    consumed = []

    def rows():
        consumed.append(True)
        yield ["甲", 1]

    chunks = iter_xlsx([Sheet("s", ["a", "b"], rows())], chunk_size=100)
    assert consumed == []  # nothing happens before the response iterates
    first = next(chunks)
    assert consumed == [True] and len(first) == 100
    rest = list(chunks)
    assert all(len(c) <= 100 for c in rest)
    assert values(open_book(first + b"".join(rest), read_only=True)["s"]) == [("a", "b"), ("甲", 1)]
    with pytest.raises(ValueError):
        iter_xlsx([], chunk_size=0)


def test_iter_xlsx_closed_early_closes_the_temporary_file(monkeypatch):
    import tempfile

    opened = []
    real = tempfile.SpooledTemporaryFile

    def spy(*args, **kwargs):
        fh = real(*args, **kwargs)
        opened.append(fh)
        return fh

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", spy)
    chunks = iter_xlsx(report(), chunk_size=10)
    next(chunks)
    assert not opened[0].closed
    chunks.close()  # what a WSGI server does when the client goes away
    assert opened[0].closed


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.floats(allow_nan=False, allow_infinity=False),
                          st.integers(-(10**15) + 1, 10**15 - 1), st.booleans()), max_size=5))
def test_any_text_float_int_and_bool_round_trips(rows):
    data = xlsx_bytes([Sheet("s", ["t", "f", "i", "b"], rows)])
    got = values(open_book(data, read_only=False)["s"])[1:]
    forbidden = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
    escaped = re.compile("_(x[0-9A-Fa-f]{4}_)")
    for (text, f, i, b), back in zip(rows, got, strict=True):
        clean = escaped.sub(r"_x005F_\1", forbidden.sub("", text))
        assert back == ((clean or None), f, i, b)
        assert type(back[1]) is float and type(back[2]) is int


# == bounded memory and speed ==========================================================================

class Sink(io.RawIOBase):
    """Counts the bytes written and keeps the last few, like a socket that keeps nothing."""

    def __init__(self):
        self.size = 0
        self.tail = b""

    def writable(self):
        return True

    def write(self, b):
        self.size += len(b)
        self.tail = (self.tail + bytes(b))[-256:]
        return len(b)


@pytest.mark.slow  # about 12 s: tracemalloc slows every allocation
def test_two_hundred_thousand_rows_stream_in_bounded_memory():
    made = 0

    def rows():  # distinct strings and floats: held in memory, these rows would take far over 30 MB
        nonlocal made
        for i in range(200_000):
            made += 1
            yield (f"检察官{i:06d}", f"第{i % 97}检察院", i, i / 7, i % 3 == 0, None, f"备注{i}", -i, i * 0.25, "=x")

    tracemalloc.start()
    try:
        sink = Sink()
        write_xlsx([Sheet("大表", [f"列{j}" for j in range(10)], rows())], sink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made == 200_000 and sink.size > 1_000_000
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB"  # in fact: a batch of rows and zlib's buffers


def test_seventy_thousand_rows_of_twenty_columns_take_seconds_not_minutes():
    def rows():
        for i in range(70_000):
            yield [f"检察官{i}", i, i * 0.5, i % 7 == 0, None, "某检察院", 12.25, i * 3, "文本", 1 / (i + 1)] * 2

    header = [f"列{j}" for j in range(20)]
    start = time.perf_counter()
    write_xlsx([Sheet("s", header, rows())], Sink())
    xlsx = time.perf_counter() - start
    start = time.perf_counter()
    for _ in iter_csv(header, rows()):
        pass
    csv_seconds = time.perf_counter() - start
    assert xlsx < 20 and csv_seconds < 10, (xlsx, csv_seconds)  # about 1.2 s and 0.4 s on a laptop


# == CSV ===============================================================================================

def test_csv_is_bom_crlf_and_formula_safe_with_plain_numbers():
    text = "".join(iter_csv(["姓名", "=得分", "数", "是否", "日期", "时间", "备注"], [
        ["张三", 87.5, 12, True, dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 8, 30), None],
        ["=cmd|' /C calc'!A0", 0.1 + 0.2, -3, False, None, None, 'say "hi", then\nleave'],
        [" @x", float("nan"), 10**20, None, None, None, "-2+3"],
        ["\t=1", 1e-7, 0, None, None, None, Decimal("1.50")],
    ]))
    assert text.startswith("\ufeff姓名,'=得分,数,")
    assert "\n" not in text.replace("\r\n", "").replace("then\nleave", "")  # CRLF ends, LF only inside quotes
    lines = text[1:].split("\r\n")
    assert lines[1] == "张三,87.5,12,TRUE,2024-01-31,2024-01-31 08:30:00,"
    assert lines[2] == "'=cmd|' /C calc'!A0,0.30000000000000004,-3,FALSE,,,\"say \"\"hi\"\", then\nleave\""
    assert lines[3] == "' @x,,100000000000000000000,,,,'-2+3"
    assert lines[4] == "'\t=1,1e-07,0,,,,1.50"
    assert lines[5] == ""  # the file ends with a line end
    back = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert back[2][6] == 'say "hi", then\nleave'


def test_csv_streams_in_chunks_and_refuses_long_rows():
    consumed = 0

    def rows():
        nonlocal consumed
        for i in range(2500):
            consumed += 1
            yield [i, f"名{i}"]

    chunks = iter_csv(["a", "b"], rows(), chunk_rows=1000)
    first = next(chunks)
    assert consumed == 1000 and first.startswith("\ufeffa,b\r\n0,名0\r\n")
    assert len(list(chunks)) == 2 and consumed == 2500
    assert list(iter_csv(["a"], [])) == ["\ufeffa\r\n"]
    with pytest.raises(ValueError, match="row 2 has 2 cells"):
        list(iter_csv(["a"], [[1, 2]]))
    with pytest.raises(TypeError, match="cannot write a object"):
        list(iter_csv(["a"], [[object()]]))


def test_csv_is_deterministic():
    rows = [[1.1, "x", 2, dt.date(2024, 1, 1)] for _ in range(3000)]
    assert "".join(iter_csv(list("abcd"), rows)) == "".join(iter_csv(list("abcd"), iter(rows)))


def test_csv_safe_is_still_importable_from_the_commands_table():
    assert _table.csv_safe is csv_safe and _table.FORMULA_TRIGGERS is FORMULA_TRIGGERS
    assert csv_safe("=1") == "'=1" and csv_safe(-1) == -1 and csv_safe("张三") == "张三"
