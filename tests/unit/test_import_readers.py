"""Import readers and column handling, without a database: encodings, line numbers, aliases, hashing."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import openpyxl
import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.errors import ImportRejected, InvalidInput
from rulesvc.services.importing.columns import (
    SPECS,
    ColumnMap,
    attribute_aliases,
    detect_kind,
    resolve_header,
)
from rulesvc.services.importing.common import ContentHash, Limits
from rulesvc.services.importing.readers import (
    CsvReader,
    JsonLinesReader,
    XlsxReader,
    detect_encoding,
    reader_for,
)

DICT = load_dictionary(PROJECT_ROOT / "rules")


def records(reader_cls, data: bytes):
    reader = reader_cls(io.BytesIO(data), "f")
    header = reader.open()
    try:
        return header, list(reader.records())
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("a,b\n张三,1\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "a,b\n张三,1\n".encode(), "utf-8-sig"),
        ("a,b\n张三,1\n".encode("gb18030"), "gb18030"),
        (b"a,b\nplain,1\n", "utf-8"),
    ],
)
def test_csv_encoding_is_detected(data, encoding):
    assert detect_encoding(io.BytesIO(data), "f") == encoding


def test_a_gbk_byte_on_the_last_line_is_still_found():
    data = b"a,b\n" + b"x,1\n" * 300_000 + "张三,2\n".encode("gb18030")
    assert detect_encoding(io.BytesIO(data), "f") == "gb18030"


def test_undecodable_bytes_are_reported_with_their_line():
    with pytest.raises(ImportRejected) as info:
        detect_encoding(io.BytesIO(b"a,b\nok,1\n\xff\xfe\xff,2\n"), "f")
    assert info.value.row_errors[0].line == 3


def test_csv_lines_count_from_the_header_skip_blanks_and_keep_quoted_newlines():
    data = b"a,b\n1,2\n\n\"multi\nline\",3\n,\n4,5,6\n"
    header, rows = records(CsvReader, data)
    assert header == ["a", "b"]
    assert [(line, values) for line, values, _ in rows] == [
        (2, {"a": "1", "b": "2"}), (4, {"a": "multi\nline", "b": "3"}), (6, {"a": "4", "b": "5"})]
    assert rows[-1][2][0].line == 6 and "more values" in rows[-1][2][0].message_en


def test_csv_bom_does_not_reach_the_header():
    header, _ = records(CsvReader, b"\xef\xbb\xbfevent_id,x\n1,2\n")
    assert header == ["event_id", "x"]


def test_xlsx_rows_keep_their_sheet_numbers_and_native_types():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "when", "n", "flag", None])
    sheet.append(["220000", dt.date(2020, 7, 1), 3, False])
    sheet.append([])
    sheet.append([220100, None, 0.5, True, "stray"])
    buf = io.BytesIO()
    book.save(buf)
    header, rows = records(XlsxReader, buf.getvalue())
    assert header == ["code", "when", "n", "flag"]
    assert [(line, values) for line, values, _ in rows] == [
        (2, {"code": "220000", "when": dt.datetime(2020, 7, 1), "n": 3, "flag": False}),
        (4, {"code": 220100, "n": 0.5, "flag": True}),
    ]
    assert rows[1][2] is not None and rows[1][2][0].line == 4


def test_a_formula_whose_result_the_file_does_not_hold_is_refused_with_its_cell():
    """A data clerk's audit (2026-12-07): ``adopted`` written as ``=TRUE()`` by a program (no saved result) was read
    as an empty cell — the event imported as not adopted; ``=DATE(…)`` in a required column read "为必填项"."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["event_id", "occurred_on", "adopted"])
    sheet.append(["E1", dt.date(2020, 7, 22), "=TRUE()"])
    sheet.append(["E2", "=DATE(2020,7,15)", True])
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(ImportRejected) as err:
        records(XlsxReader, buf.getvalue())
    found = [(e.line, e.column, e.message_zh) for e in err.value.row_errors]
    assert [(line, col) for line, col, _ in found] == [(2, "adopted"), (3, "occurred_on")]
    assert "单元格 C2 是公式 =TRUE()，文件中没有它的计算结果" in found[0][2]
    # Without formulas: read as before (and a saved result would be read as that result).
    book = openpyxl.Workbook()
    book.active.append(["event_id", "adopted"])
    book.active.append(["E1", True])
    buf = io.BytesIO()
    book.save(buf)
    assert records(XlsxReader, buf.getvalue())[1][0][1] == {"event_id": "E1", "adopted": True}


def test_a_workbook_named_csv_and_a_workbook_with_data_on_other_sheets_are_said_as_what_they_are():
    """A data clerk's audit (2026-12-07): an .xlsx renamed .csv read "文件不是 UTF-8 编码…"; a workbook's second
    sheet was dropped without a word."""
    book = openpyxl.Workbook()
    book.active.append(["event_id", "adopted"])
    book.active.append(["E1", True])
    extra = book.create_sheet("第二批")
    extra.append(["event_id", "adopted"])
    extra.append(["E2", False])
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(ImportRejected) as err:
        records(CsvReader, buf.getvalue())
    assert "文件是 Excel 工作簿（.xlsx）或其他压缩文件，不是 CSV 文本" in err.value.row_errors[0].message_zh
    with pytest.raises(ImportRejected) as err:
        records(CsvReader, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "旧版 Excel 工作簿（.xls）" in err.value.row_errors[0].message_zh
    with pytest.raises(ImportRejected) as err:
        records(XlsxReader, buf.getvalue())
    assert "还有 1 个工作表有数据；一个文件只导入第一个工作表" in err.value.row_errors[0].message_zh
    book.remove(extra)
    book.create_sheet("说明")  # an empty sheet besides: read as before
    buf = io.BytesIO()
    book.save(buf)
    assert records(XlsxReader, buf.getvalue())[1][0][1] == {"event_id": "E1", "adopted": True}


def test_a_file_that_is_not_a_workbook_is_rejected():
    with pytest.raises(ImportRejected) as info:
        records(XlsxReader, b"not a zip")
    assert info.value.error_code == "import.rejected" and info.value.details["total_errors"] == 1
    assert "Excel" in info.value.row_errors[0].message_zh


def test_jsonl_uses_physical_lines_and_merges_attrs():
    data = "\n".join([
        json.dumps({"event_id": "1", "attrs": {"suspects": 2}, "case_id": ""}),
        "",
        "[1, 2]",
        "{broken",
        json.dumps({"event_id": "2", "suspects": 1, "attrs": {"suspects": 2}}),
    ]).encode()
    header, rows = records(JsonLinesReader, data)
    assert header == ["event_id", "suspects"]
    assert rows[0] == (1, {"event_id": "1", "suspects": 2}, None)
    assert [(line, problems[0].column) for line, _, problems in rows[1:]] == [(3, None), (4, None), (5, "suspects")]


@pytest.mark.parametrize(("name", "cls"), [("a.CSV", CsvReader), ("b.xlsx", XlsxReader), ("c.ndjson", JsonLinesReader),
                                           ("d.jsonl", JsonLinesReader)])
def test_the_reader_is_chosen_by_extension(name, cls):
    assert reader_for(name) is cls


def test_an_unknown_extension_is_refused():
    with pytest.raises(InvalidInput, match=r"\.xls"):
        reader_for("old.xls")


def test_chinese_headers_and_attribute_labels_resolve_to_canonical_names():
    cmap = ColumnMap(SPECS["events"], attribute_aliases(DICT))
    names, errors, missing = resolve_header(
        cmap, ["事件编号", "事件类型", "检察院代码", "工号", "案件编号", "发生日期", "犯罪嫌疑人数", " Decision ", ""])
    assert errors == [] and missing == []
    assert names == ["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "suspects",
                     "decision", None]
    assert cmap.display("suspects") == "犯罪嫌疑人数"


def test_header_problems_are_all_reported_on_line_1():
    cmap = ColumnMap(SPECS["events"], attribute_aliases(DICT))
    _, errors, missing = resolve_header(cmap, ["event_id", "事件编号", "event_type", "procuratorate", "colour"])
    assert [(e.line, e.column) for e in errors] == [(1, "事件编号"), (1, "colour"), (1, "occurred_on")]
    assert missing == ["occurred_on"]


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (["event_id", "事件类型"], "events"),
        (["code", "name", "level", "parent_code"], "procuratorates"),
        (["检察院代码", "部门代码", "部门名称"], "departments"),
        (["工号", "姓名", "检察院代码", "部门代码", "业务条线", "任职起始日期"], "prosecutors"),
    ],
)
def test_the_kind_is_detected_from_the_header(header, kind):
    assert detect_kind(header, "f") == kind


def test_content_hash_ignores_row_order_but_not_content():
    def digest(rows):
        h = ContentHash("events")
        for row in rows:
            h.add(row)
        return h.hexdigest()

    a, b = ["E1", {"x": 1, "y": True}], ["E2", {"x": 2}]
    assert digest([a, b]) == digest([b, a])
    assert digest([a, b]) != digest([a, ["E2", {"x": 2.5}]])
    assert digest([a]) != ContentHash("procuratorates").hexdigest()


# -- limits, NUL characters and encodings (issue 9) ----------------------------------------------------


def test_windows_1252_is_not_taken_for_gb18030_but_may_be_named():
    data = "name\nRenée Müller\n".encode("cp1252")
    assert data.decode("gb18030")  # GB18030 reads it without complaint: "Ren閑 M黮ler"
    with pytest.raises(ImportRejected) as info:
        detect_encoding(io.BytesIO(data), "f")
    assert "--encoding" in info.value.row_errors[0].message_zh and info.value.row_errors[0].line == 2
    assert detect_encoding(io.BytesIO(data), "f", forced="cp1252") == "cp1252"
    header, rows = records_with(CsvReader, data, encoding="cp1252")
    assert rows[0][1] == {"name": "Renée Müller"}


def test_a_forced_encoding_must_decode_every_byte_and_exist():
    with pytest.raises(ImportRejected) as info:
        detect_encoding(io.BytesIO("a\n张三\n".encode("gb18030")), "f", forced="ascii")
    assert info.value.row_errors[0].line == 2
    with pytest.raises(InvalidInput):
        detect_encoding(io.BytesIO(b"a\n"), "f", forced="klingon")


def records_with(reader_cls, data: bytes, **kwargs):
    reader = reader_cls(io.BytesIO(data), "f", **kwargs)
    header = reader.open()
    try:
        return header, list(reader.records())
    finally:
        reader.close()


def test_a_line_longer_than_the_limit_is_skipped_unread_and_the_next_line_read():
    limits = Limits(max_cell_chars=10)  # lines up to 640 characters
    data = b"a,b\n" + b"x" * 5000 + b",1\nok,2\n"
    _, rows = records_with(CsvReader, data, limits=limits)
    assert rows[0][0] == 2 and rows[0][1] is None and "640" in rows[0][2][0].message_zh
    assert rows[1][:2] == (3, {"a": "ok", "b": "2"})


def test_cells_too_long_or_with_nul_are_errors_of_their_column():
    limits = Limits(max_cell_chars=10)
    _, rows = records_with(CsvReader, b"a,b\n" + b"y" * 11 + b",1\nok,n\x00ul\n", limits=limits)
    assert [(line, [(e.column, e.value) for e in problems]) for line, _, problems in rows] == [
        (2, [("a", "y" * 11)]), (3, [("b", "n\\0ul")])]
    _, rows = records_with(JsonLinesReader, b'{"a": "' + b"z" * 11 + b'"}\n{"b": "\\u0000"}\n', limits=limits)
    assert [[e.column for e in problems] for _, _, problems in rows] == [["a"], ["b"]]


def test_json_nested_100000_deep_is_a_row_error():
    _, rows = records_with(JsonLinesReader, b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert rows[1][0] == 2 and rows[1][1] is None


def test_rows_are_counted_before_any_is_checked():
    with pytest.raises(ImportRejected) as info:
        records_with(CsvReader, b"a\n" + b"1\n" * 11, limits=Limits(max_rows=10))
    assert "11" in info.value.row_errors[0].message_zh
    header, rows = records_with(CsvReader, b"a\n" + b"1\n" * 10, limits=Limits(max_rows=10))
    assert len(rows) == 10


def test_xlsx_rows_below_a_stale_dimension_are_read():
    book = openpyxl.Workbook()
    for row in (["a"], [1], [2], [3], [4]):
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:A5"', b'<dimension ref="A1:A2"')
            z.writestr(name, data)
    _, rows = records_with(XlsxReader, out.getvalue())
    assert [values for _, values, _ in rows] == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]


def test_quota_status_takes_the_words_the_pages_show_and_the_short_ones():
    """Found by a first day in the UI: a file saying 非员额人员 — the word the ranking and the card show — was
    refused."""
    from rulesvc.persistence.models import QUOTA_ALIASES, QUOTA_LABELS
    from rulesvc.services.importing.values import choice

    for given, code in (("非员额人员", "non_quota"), ("非员额", "non_quota"), ("员额检察官", "quota"), ("员额", "quota"),
                        ("已退出员额", "exited"), ("non_quota", "non_quota")):
        assert choice(given, "员额状态", QUOTA_LABELS, QUOTA_ALIASES) == code
