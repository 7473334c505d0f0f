"""Importing events and reference data: whole files or nothing, every bad row reported, idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from rulesvc.cli import main as cli_main
from rulesvc.commands.importing import import_command
from rulesvc.errors import ImportRejected
from rulesvc.extensions import db
from rulesvc.persistence.models import Dataset, Department, Event, Procuratorate, Prosecutor
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.importing import import_file

DATA = Path(__file__).resolve().parent.parent / "data" / "import"
REFERENCE_FILES = ("procuratorates.csv", "departments.csv", "prosecutors.csv")


def run_import(app, source, **kwargs):
    with app.app_context():
        return import_file(db.session, source, dictionary=get_dictionary(app.config["RULES_DIR"]), **kwargs)


def rejected(app, source, **kwargs) -> list[tuple[int, str | None]]:
    with pytest.raises(ImportRejected) as info:
        run_import(app, source, **kwargs)
    return [(e.line, e.column) for e in info.value.row_errors]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def event_lines() -> list[str]:
    return (DATA / "events.csv").read_text(encoding="utf-8").splitlines()


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture
def reference(app):
    """The five procuratorates, four departments and four prosecutors of tests/data/import."""
    for name in REFERENCE_FILES:
        assert run_import(app, DATA / name).created
    return app


def as_cells(lines: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = rows[0]
    return header, [{k: v for k, v in zip(header, row, strict=True) if v} for row in rows[1:]]


def native(column: str, value: str):
    """What Excel or JSON would hold for a CSV cell: numbers, booleans, dates."""
    if column in ("procuratorate", "suspects"):
        return int(value)
    if column in ("detained", "plea_leniency"):
        return value == "true"
    if column == "occurred_on":
        return dt.date.fromisoformat(value)
    return value


# -- the acceptance criteria ---------------------------------------------------------------------


def test_csv_with_one_bad_row_in_the_middle_lands_nothing_and_reports_that_row(reference, tmp_path):
    lines = event_lines()
    lines[3] = lines[3].replace("provincial", "galactic")  # line 4 = E3, an honour
    before = count(reference, Dataset)
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "events.csv", lines))
    (error,) = info.value.row_errors
    assert (error.line, error.column, error.value) == (4, "level", "galactic")
    assert "级别" in error.message_zh and "level" in error.message_en
    assert count(reference, Event) == 0
    assert count(reference, Dataset) == before


def test_importing_the_same_good_file_twice_leaves_one_copy(reference):
    first = run_import(reference, DATA / "events.csv")
    second = run_import(reference, DATA / "events.csv")
    assert first.created and not second.created
    assert second.dataset_id == first.dataset_id and second.content_hash == first.content_hash
    assert "未做任何修改" in second.message and "nothing changed" in second.message
    assert count(reference, Event) == 6
    with reference.app_context():
        assert db.session.scalar(select(func.count()).select_from(Dataset).where(Dataset.kind == "events")) == 1


# -- what lands ----------------------------------------------------------------------------------


def test_events_land_typed_with_their_dataset_period_and_resolved_codes(reference):
    result = run_import(reference, DATA / "events.csv", name="2020 下半年", created_by="tester")
    assert (result.rows, result.period_start, result.period_end) == (6, dt.date(2020, 7, 1), dt.date(2020, 9, 1))
    with reference.app_context():
        ds = db.session.get(Dataset, result.dataset_id)
        assert (ds.kind, ds.name, ds.source, ds.row_count, ds.created_by) == (
            "events", "2020 下半年", "events.csv", 6, "tester")
        assert (ds.period_start, ds.period_end) == (dt.date(2020, 7, 1), dt.date(2020, 9, 1))
        e1 = db.session.scalar(select(Event).where(Event.external_id == "E1"))
        assert e1.attrs == {"suspects": 2, "category": "ordinary", "detained": True}
        assert (e1.prosecutor.code, e1.procuratorate.code, e1.case_id, e1.occurred_on) == (
            "P001", "220102", "C1", dt.date(2020, 7, 1))
        e6 = db.session.scalar(select(Event).where(Event.external_id == "E6"))
        assert e6.prosecutor_id is None and e6.case_id is None
        assert e6.attrs == {"kind": "typical_case", "level": "national", "title": "某典型案例"}


def test_same_data_as_csv_xlsx_and_jsonl_has_the_same_content_hash(reference, tmp_path):
    header, rows = as_cells(event_lines())
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([native(c, row[c]) if c in row else None for c in header])
    book.save(tmp_path / "events.xlsx")
    with open(tmp_path / "events.jsonl", "w", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            obj = {c: native(c, v) for c, v in row.items()}
            obj["occurred_on"] = row["occurred_on"]
            if i % 2:  # attributes may also sit in an "attrs" object
                common = ("event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on")
                obj = {**{k: v for k, v in obj.items() if k in common},
                       "attrs": {k: v for k, v in obj.items() if k not in common}}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n\n")

    from_csv = run_import(reference, DATA / "events.csv")
    from_xlsx = run_import(reference, tmp_path / "events.xlsx")
    from_jsonl = run_import(reference, tmp_path / "events.jsonl")
    assert from_csv.created and not from_xlsx.created and not from_jsonl.created
    assert from_csv.content_hash == from_xlsx.content_hash == from_jsonl.content_hash
    assert from_xlsx.dataset_id == from_jsonl.dataset_id == from_csv.dataset_id
    assert count(reference, Event) == 6


def test_rows_in_another_order_are_the_same_dataset(reference, tmp_path):
    lines = event_lines()
    shuffled = write(tmp_path / "shuffled.csv", [lines[0], *reversed(lines[1:])])
    assert run_import(reference, DATA / "events.csv").content_hash == run_import(reference, shuffled).content_hash
    assert count(reference, Event) == 6


def test_gb18030_csv_with_chinese_headers_and_labels_imports(reference, tmp_path):
    lines = [
        "事件编号,事件类型,检察院代码,检察官工号,案件编号,发生日期,犯罪嫌疑人数,案件类别,在押",
        "Z1,受理审查起诉案件,220102,P001,C9,2020-07-01,3,普通犯罪,是",
        "Z2,case_accepted,220202,P003,C10,2020-07-02,1,职务犯罪,否",
    ]
    result = run_import(reference, write(tmp_path / "事件.csv", lines, encoding="gb18030"))
    assert result.created and result.rows == 2
    with reference.app_context():
        z1 = db.session.scalar(select(Event).where(Event.external_id == "Z1"))
        assert (z1.event_type, z1.attrs) == ("case_accepted", {"suspects": 3, "category": "ordinary", "detained": True})


def test_utf8_csv_with_bom_imports(reference, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (DATA / "events.csv").read_bytes())
    assert run_import(reference, path).rows == 6


def test_upload_as_bytes_or_stream_needs_only_a_file_name(reference):
    data = (DATA / "events.csv").read_bytes()
    first = run_import(reference, data, filename="upload.csv")
    again = run_import(reference, io.BytesIO(data), filename="again.csv")
    assert first.created and not again.created and again.dataset_id == first.dataset_id


# -- every bad row, with its line and column -----------------------------------------------------


def test_every_bad_row_is_reported_with_line_and_column(reference, tmp_path):
    header = event_lines()[0]
    lines = [
        header,
        "B1,no_such_type,220102,P001,C1,2020-07-01,,,,,,,,,",
        "B2,case_accepted,220102,P001,C1,2020-13-01,1,ordinary,,,,,,,",
        "B3,case_accepted,220102,P001,,2020-07-01,1,ordinary,,,,,,,",
        "B4,case_accepted,999999,,C1,2020-07-01,1,ordinary,,,,,,,",
        "B5,case_accepted,2201,,C1,2020-07-01,1,ordinary,,,,,,,",
        "B6,honour,220102,,,2020-07-01,2,,,,,,honour,city,表彰",
        "B7,case_accepted,220102,P001,C1,2020-07-01,,ordinary,,,,,,,",
        "B8,prosecution_review,220102,P001,C1,2020-07-01,,,,S1,prosecute,maybe,,,",
        ",case_accepted,220102,P001,C1,07/01/2020,1,ordinary,,,,,,,",
    ]
    assert sorted(rejected(reference, write(tmp_path / "bad.csv", lines))) == [
        (2, "event_type"),
        (3, "occurred_on"),
        (4, "case_id"),
        (5, "procuratorate"),
        (6, "procuratorate"),
        (7, "suspects"),
        (8, "suspects"),
        (9, "plea_leniency"),
        (10, "event_id"),
        (10, "occurred_on"),
    ]
    assert count(reference, Event) == 0


def test_a_flood_of_errors_stops_at_the_limit_and_says_how_many_rows_were_not_checked(reference, tmp_path):
    header = event_lines()[0]
    lines = [header] + [f"F{i},case_accepted,220102,P001,C1,2020-07-0{i},x,ordinary,,,,,,," for i in range(1, 6)]
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "flood.csv", lines), max_errors=3)
    assert [e.line for e in info.value.row_errors] == [2, 3, 4]
    assert info.value.details["total_errors"] == 3 and info.value.details["unchecked_rows"] == 2
    assert info.value.error_code == "import.stopped"


def test_unknown_prosecutor_and_prosecutor_of_another_procuratorate_are_reported(reference, tmp_path):
    lines = event_lines()[:2] + [
        "X1,honour,220102,P999,,2020-08-01,,,,,,,honour,city,x",
        "X2,honour,220102,P003,,2020-08-01,,,,,,,honour,city,x",
    ]
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "people.csv", lines))
    errors = info.value.row_errors
    assert [(e.line, e.column) for e in errors] == [(3, "prosecutor"), (4, "prosecutor")]
    assert "P999" in errors[0].message_zh and "unknown prosecutor" in errors[0].message_en
    assert "220202" in errors[1].message_zh and "not 220102" in errors[1].message_en


def test_an_event_dated_after_today_is_a_row_error(reference, tmp_path):
    """Integrator audit (2026-12-07): an event dated tomorrow was imported and counted in the open month. What has
    not happened is a mistake of the file: the row says so (Beijing's today) and nothing lands."""
    from rulesvc.persistence.models import Event
    from rulesvc.services import localtime

    tomorrow = (localtime.today() + dt.timedelta(days=1)).isoformat()
    lines = event_lines()[:2] + [f"X1,honour,220102,P001,,{tomorrow},,,,,,,honour,city,x"]
    before = count(reference, Event)
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "tomorrow.csv", lines))
    (error,) = info.value.row_errors
    assert (error.line, error.column) == (3, "occurred_on")
    assert f"发生日期 {tomorrow} 晚于今天" in error.message_zh and "has not happened" in error.message_en
    assert count(reference, Event) == before


def test_duplicate_event_id_is_reported_on_the_later_line(reference, tmp_path):
    lines = event_lines()
    lines[5] = "E1" + lines[5][2:]
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "dup.csv", lines))
    (error,) = info.value.row_errors
    assert (error.line, error.column) == (6, "event_id")
    assert "第 2 行" in error.message_zh and "line 2" in error.message_en


def test_an_id_excel_rewrote_in_scientific_notation_is_refused(reference, tmp_path):
    """A data clerk's audit (2026-12-07): 900001 imported, then the same row saved by Excel as 9.00001E+05 — a new
    id, so the event counted twice (监督立案数 3 → 5). Ids in scientific notation are refused, event and case ids."""
    lines = event_lines()
    lines[1] = "9.00001E+05" + lines[1][2:]
    lines[2] = lines[2].replace(",C1,", ",3.20102E+17,", 1)
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "sci.csv", lines))
    found = {(e.line, e.column): e.message_zh for e in info.value.row_errors}
    assert "科学计数法，像是 Excel 改写了长数字编号" in found[(2, "event_id")]
    assert "案件编号“3.20102E+17”是科学计数法" in found[(3, "case_id")]


def test_missing_required_column_and_unknown_column_are_reported_on_line_1(reference, tmp_path):
    lines = event_lines()
    lines[0] = lines[0].replace("occurred_on", "occured_on")
    assert sorted(rejected(reference, write(tmp_path / "header.csv", lines)), key=str) == [
        (1, "occured_on"), (1, "occurred_on")]


def test_an_empty_file_or_one_without_rows_is_rejected(reference, tmp_path):
    assert rejected(reference, write(tmp_path / "empty.csv", [""])) == [(1, None)]
    assert rejected(reference, write(tmp_path / "header-only.csv", event_lines()[:1])) == [(1, None)]


def test_jsonl_reports_physical_lines_bad_json_and_unknown_keys(reference, tmp_path):
    good = {"event_id": "J1", "event_type": "honour", "procuratorate": "220102", "occurred_on": "2020-08-01",
            "attrs": {"kind": "honour", "level": "city", "title": "x"}}
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        json.dumps(good),
        "",
        "{not json",
        json.dumps({**good, "event_id": "J2", "colour": "red"}),
        json.dumps({**good, "event_id": "J3", "kind": "honour"}),
    ]) + "\n", encoding="utf-8")
    assert rejected(reference, path) == [(3, None), (4, "colour"), (5, "kind")]


# -- reference data ------------------------------------------------------------------------------


def test_reference_import_then_events_import(reference):
    assert (count(reference, Procuratorate), count(reference, Department), count(reference, Prosecutor)) == (5, 4, 4)
    with reference.app_context():
        county = db.session.scalar(select(Procuratorate).where(Procuratorate.code == "220102"))
        assert (county.level, county.parent.code, county.parent.parent.code) == ("county", "220100", "220000")
        li = db.session.scalar(select(Prosecutor).where(Prosecutor.code == "P002"))
        assert (li.quota_status, li.is_leader, li.leader_title, li.department.code, li.business_code) == (
            "quota", True, "副检察长", "D02", "serious_crime")
        zhao = db.session.scalar(select(Prosecutor).where(Prosecutor.code == "P004"))
        assert (zhao.quota_status, zhao.active_to) == ("exited", dt.date(2020, 6, 30))
        assert db.session.scalar(select(func.count()).select_from(Dataset).where(Dataset.kind == "reference")) == 3
    assert run_import(reference, DATA / "events.csv").rows == 6


def test_reference_reimport_is_unchanged_and_edits_upsert_by_code(reference, tmp_path):
    again = run_import(reference, DATA / "prosecutors.csv")
    assert not again.created and (again.inserted, again.updated) == (0, 0)
    lines = (DATA / "prosecutors.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("张三", "张叁")
    lines.append("P005,钱七,220202,,普通犯罪检察,,,,2021-01-01,")
    changed = run_import(reference, write(tmp_path / "prosecutors-v2.csv", lines))
    assert changed.created and (changed.inserted, changed.updated, changed.rows) == (1, 1, 5)
    assert count(reference, Prosecutor) == 5
    with reference.app_context():
        assert db.session.scalar(select(Prosecutor.name).where(Prosecutor.code == "P001")) == "张叁"
    back = run_import(reference, DATA / "prosecutors.csv")  # the old file again: its content is put back
    assert not back.created and (back.inserted, back.updated) == (0, 1)


def test_procuratorate_parent_must_be_defined_above_and_higher(app, tmp_path):
    lines = [
        "代码,名称,级别,上级院代码",
        "220100,长春市人民检察院,市级院,220000",
        "220000,吉林省人民检察院,省级院,",
        "220102,南关区人民检察院,基层院,220103",
        "220103,朝阳区人民检察院,基层院,220102",
        "220104,自己,基层院,220104",
        "22010,短代码,基层院,",
        "220000,重复,省级院,",
    ]
    assert rejected(app, write(tmp_path / "orgs.csv", lines)) == [
        (2, "上级院代码"), (4, "上级院代码"), (5, "上级院代码"), (6, "上级院代码"), (7, "代码"), (8, "代码")]
    assert count(app, Procuratorate) == 0


def test_prosecutor_rows_are_checked_against_departments_and_choices(reference, tmp_path):
    lines = [
        "工号,姓名,检察院代码,部门代码,业务条线,员额状态,是否院领导,领导职务,任职起始日期,任职终止日期",
        "Q1,甲,220102,D09,ordinary_crime,quota,否,,2020-01-01,",
        "Q2,乙,220102,D01,no_such_business,quota,否,,2020-01-01,",
        "Q3,丙,220102,D01,ordinary_crime,half,否,,2020-01-01,",
        "Q4,丁,220102,D01,ordinary_crime,quota,否,,2020-01-01,2019-01-01",
        "Q5,戊,999999,,ordinary_crime,quota,也许,,2020-01-01,",
    ]
    assert rejected(reference, write(tmp_path / "people.csv", lines)) == [
        (2, "部门代码"), (3, "业务条线"), (4, "员额状态"), (5, "任职终止日期"), (6, "检察院代码"), (6, "是否院领导")]
    assert count(reference, Prosecutor) == 4


def test_kind_is_detected_or_given_and_an_unknown_header_is_refused(app, tmp_path):
    orgs = write(tmp_path / "orgs.jsonl", [json.dumps({"code": "220000", "name": "吉林省人民检察院",
                                                        "level": "province"})])
    result = run_import(app, orgs)
    assert (result.kind, result.created) == ("procuratorates", True)
    with pytest.raises(ImportRejected) as info:
        run_import(app, write(tmp_path / "odd.csv", ["a,b", "1,2"]))
    assert info.value.row_errors[0].line == 1 and "--kind" in info.value.row_errors[0].message_zh
    depts = write(tmp_path / "depts.csv", ["procuratorate,code,name", "220000,D1,办公室"])
    assert run_import(app, depts, kind="departments").kind == "departments"


# -- the command line ----------------------------------------------------------------------------


def test_cli_imports_a_file_and_reports_in_chinese_and_english(reference, runner):
    result = runner.invoke(import_command, [str(DATA / "events.csv"), "--name", "七月"])
    assert result.exit_code == 0, result.output
    assert "已导入 6 条事件" in result.output and "imported 6 events" in result.output
    again = runner.invoke(import_command, [str(DATA / "events.csv")])
    assert again.exit_code == 0 and "未做任何修改" in again.output and "nothing changed" in again.output
    assert count(reference, Event) == 6


def test_cli_rejection_lists_every_bad_row_and_exits_1(reference, runner, tmp_path):
    lines = event_lines()
    lines[3] = lines[3].replace("provincial", "galactic")
    lines[5] = lines[5].replace("2020-08-20", "2020-08-32")
    result = runner.invoke(import_command, [str(write(tmp_path / "bad.csv", lines))])
    assert result.exit_code == 1
    assert "2 个错误，未导入任何数据" in result.stderr
    assert "第 4 行，列 level" in result.stderr and "line 4, column level" in result.stderr
    assert "第 6 行，列 occurred_on" in result.stderr and "line 6, column occurred_on" in result.stderr
    assert count(reference, Event) == 0


def test_cli_import_is_registered_on_the_rulesvc_command(reference, runner, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # FlaskGroup sets it; restored after the test
    result = runner.invoke(cli_main, ["import", str(DATA / "events.csv"), "--kind", "events"])
    assert result.exit_code == 0, result.output
    assert count(reference, Event) == 6


def test_cli_refuses_an_unsupported_format(app, runner, tmp_path):
    path = tmp_path / "events.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    result = runner.invoke(import_command, [str(path)])
    assert result.exit_code == 1 and "不支持的文件格式" in result.stderr


# -- events outside the prosecutor's office -------------------------------------------------------

def test_an_event_dated_outside_the_prosecutors_office_is_refused_with_line_and_reason(reference, tmp_path):
    lines = event_lines()[:2] + [
        "X1,honour,220100,P004,,2020-07-15,,,,,,,honour,city,x",  # P004 left the quota on 2020-06-30
        "X2,honour,220102,P001,,2017-12-31,,,,,,,honour,city,x",  # P001 in office from 2018-01-01
        "X3,honour,220100,P004,,2020-06-30,,,,,,,honour,city,x",  # the last day in office counts
    ]
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "office.csv", lines))
    errors = info.value.row_errors
    assert [(e.line, e.column) for e in errors] == [(3, "occurred_on"), (4, "occurred_on")]
    assert "不在检察官“P004”的任职期间（2015-01-01 至 2020-06-30）内" in errors[0].message_zh
    assert "2018-01-01 至今" in errors[1].message_zh and "active dates" in errors[1].message_en
    assert count(reference, Event) == 0


def test_events_outside_the_office_can_be_imported_flagged(reference, tmp_path, runner):
    lines = event_lines()[:2] + ["X1,honour,220100,P004,,2020-07-15,,,,,,,honour,city,x"]
    result = run_import(reference, write(tmp_path / "office.csv", lines), outside_office="flag")
    assert result.created and result.rows == 2 and result.flagged_count == 1
    assert result.flagged[0].line == 3 and "已导入并标注" in result.message
    with reference.app_context():
        ds = db.session.get(Dataset, result.dataset_id)
        assert "第 3 行" in ds.note and "任职期间" in ds.note
    cli = runner.invoke(import_command, [str(write(tmp_path / "again.csv", lines[:1] + [lines[2].replace("X1", "X9")])),
                                         "--outside-office", "flag"])
    assert cli.exit_code == 0, cli.output
    assert "标注：第 2 行" in cli.stderr


def test_a_review_accepted_after_its_own_date_is_refused(reference, tmp_path):
    """Found by an audit: 受理日期 2020-10-05 on a review concluded 2020-09-30 was imported, and the review
    then counted as concluded within 45 days (a negative number of days). The dictionary says which date
    may not come after which (``not_after``); such a row is refused with both dates."""
    lines = ["event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspect_id,decision,plea_leniency,accepted_on",
             "R1,prosecution_review,220102,P001,C1,2020-09-30,S1,prosecute,true,2020-10-05",
             "R2,prosecution_review,220102,P001,C2,2020-09-30,S2,prosecute,true,2020-09-30",  # the same day: fine
             "R3,prosecution_review,220102,P001,C3,2020-09-30,S3,prosecute,true,"]  # no 受理日期: fine
    with pytest.raises(ImportRejected) as info:
        run_import(reference, write(tmp_path / "order.csv", lines))
    errors = info.value.row_errors
    assert [(e.line, e.column) for e in errors] == [(2, "accepted_on")]
    assert errors[0].message_zh == "“受理日期”2020-10-05 晚于“发生日期”2020-09-30"
    assert "is after 'occurred_on'" in errors[0].message_en
    assert count(reference, Event) == 0
    assert run_import(reference, write(tmp_path / "ok.csv", lines[:1] + lines[2:])).created
