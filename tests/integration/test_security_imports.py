"""Security regressions of issue 9 around data: facts counted once, bounded imports, NUL bytes,
encodings, formula injection in exports. Each test reproduces a finding of the attack session first.

Runs on SQLite and on PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text

from rulesvc.commands._table import csv_safe, printable
from rulesvc.commands.importing import import_command
from rulesvc.engine.evaluate import PythonDecider
from rulesvc.engine.periods import parse_period
from rulesvc.errors import Conflict, ImportRejected, InvalidInput, NotFound
from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, Dataset, DatasetWithdrawal, Event, Prosecutor
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.facts import datasets_in_use, events_frame, in_use
from rulesvc.services.governance.access import actor_for_scope, system_actor
from rulesvc.services.importing import Limits, import_file, list_datasets, resolve_dataset, withdraw_dataset
from rulesvc.services.importing.readers import CsvReader, JsonLinesReader, XlsxReader
from rulesvc.services.scoring import compile_cached, evaluate_one, load_scheme_file, score_period

DATA = Path(__file__).resolve().parent.parent / "data" / "import"
HEADER = "event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained"
ACTOR = system_actor("test")

# One metric: the cases a prosecutor accepted; one point each, so the total is the count.
TINY_SCHEME = """
code: test-tiny
name: 受理案件数
subject: prosecutor
period: month
org: "220000"
participants: {quota_status: [quota, non_quota], min_office_share: 0}
combination: {method: sum, base: 0}
dimensions:
  efficiency: {name: 效率, weight: 100}
metrics:
  cases: {name: 受理案件数, event: case_accepted}
indicators:
  caseload:
    name: 办案数
    formula: cases
    dimension: efficiency
    scoring: {method: per_unit, points: 1, cap: 1000}
"""


# -- helpers ------------------------------------------------------------------------------------------


def run_import(app, source, **kwargs):
    with app.app_context():
        return import_file(db.session, source, dictionary=get_dictionary(app.config["RULES_DIR"]), **kwargs)


def rejection(app, source, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        run_import(app, source, **kwargs)
    return info.value


def case(eid: str, day: int, *, suspects: int = 1, who: str = "P001") -> str:
    return f"{eid},case_accepted,220102,{who},C-{eid},2020-07-{day:02d},{suspects},ordinary,false"


def write(path: Path, rows: list[str], header: str = HEADER, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


NINE = [case(f"K{i}", i) for i in range(1, 10)]


@pytest.fixture
def reference(app):
    """Five procuratorates, four departments and four prosecutors (P001 in 220102, in office since 2018)."""
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
        assert run_import(app, DATA / name).created
    return app


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SCHEME, encoding="utf-8")
    return path


def july_cases(app, scheme: Path, code: str = "P001", dataset_ids=None) -> tuple[float, float]:
    """P001's July total by the bulk path (ranking) and by the single-subject path (score card)."""
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(scheme), dictionary)
        period = parse_period("2020-07")
        bulk, _ = score_period(db.session, compiled, dictionary, period, dataset_ids)
        pid = db.session.scalar(select(Prosecutor.id).where(Prosecutor.code == code))
        bulk_total = bulk.frame.filter(bulk.frame["prosecutor_id"] == pid)["total"][0]
        one = evaluate_one(db.session, compiled, dictionary, period, code, decider=PythonDecider(),
                           dataset_ids=dataset_ids)
        db.session.rollback()
        return bulk_total, one.total


def counting(app) -> dict[str, int]:
    """Event id -> how many times it counts."""
    with app.app_context():
        q = select(Event.external_id).where(in_use(db.session).condition())
        found: dict[str, int] = {}
        for eid in db.session.scalars(q):
            found[eid] = found.get(eid, 0) + 1
        db.session.rollback()
        return found


def withdraw(app, ref, reason="测试撤回", actor=ACTOR):
    with app.app_context():
        done = withdraw_dataset(db.session, actor, ref, reason)
        db.session.commit()
        return done


# == 1. facts counted once =============================================================================


def test_the_same_nine_events_as_a_second_file_are_refused_and_the_metric_stays_9(reference, tiny, tmp_path):
    others = [case("Q1", 5, who="P002"), case("Q2", 6, who="P002")]
    first = run_import(reference, write(tmp_path / "july.csv", NINE + others))
    assert first.created and july_cases(reference, tiny) == (9, 9)
    # The finding: P001's 9 events again, as a file of their own, went 9 -> 18.
    again = rejection(reference, write(tmp_path / "july-again.csv", list(reversed(NINE))))
    assert again.error_code == "dataset.ids_exist" and again.details["total_errors"] == 9
    assert sorted((e.line, e.column, e.value) for e in again.row_errors) == [
        (line, "event_id", f"K{10 - line + 1}") for line in range(2, 11)]
    assert f"#{first.dataset_id}" in again.row_errors[0].message_zh and "july.csv" in again.row_errors[0].message_zh
    # ... and the same ids with other attributes too.
    other = rejection(reference, write(tmp_path / "july-other.csv", [case(f"K{i}", i, suspects=3) for i in range(1, 10)]))
    assert other.error_code == "dataset.ids_exist" and len(other.row_errors) == 9
    # One new id among counted ones: the whole file is refused, nothing written.
    mixed = rejection(reference, write(tmp_path / "mixed.csv", [case("K1", 1), case("NEW1", 20)]))
    assert [(e.line, e.value) for e in mixed.row_errors] == [(2, "K1")]
    assert july_cases(reference, tiny) == (9, 9)
    with reference.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 11
        assert db.session.scalar(select(func.count()).select_from(Dataset).where(Dataset.kind == "events")) == 1


def test_two_imports_of_the_same_ids_at_once_land_one(reference, tmp_path, monkeypatch):
    """The check that ids are not counted yet and the write that counts them do not interleave with
    another import: the second waits for the first, then finds the ids counted."""
    import threading

    from rulesvc.services.importing import service

    real_write = service.write_events

    def slow_write(*args, **kwargs):
        time.sleep(0.8)  # the other import gets to its check meanwhile
        return real_write(*args, **kwargs)

    monkeypatch.setattr(service, "write_events", slow_write)
    files = [write(tmp_path / "a.csv", NINE + [case("QA", 20)]), write(tmp_path / "b.csv", NINE + [case("QB", 21)])]
    outcomes: list[object] = []

    def one(path: Path) -> None:
        try:
            outcomes.append(run_import(reference, path))
        except ImportRejected as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=(f,)) for f in files]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join(30)
    assert sorted(type(o).__name__ for o in outcomes) == ["ImportRejected", "ImportResult"]
    assert all(n == 1 for n in counting(reference).values()) and len(counting(reference)) == 10


def test_the_byte_identical_file_again_changes_nothing(reference, tmp_path):
    path = write(tmp_path / "july.csv", NINE)
    first = run_import(reference, path)
    again = run_import(reference, path)
    same_rows_as_jsonl = tmp_path / "july.jsonl"
    same_rows_as_jsonl.write_text("".join(json.dumps(dict(zip(HEADER.split(","), r.split(","), strict=True))) + "\n"
                                          for r in NINE), encoding="utf-8")
    as_jsonl = run_import(reference, same_rows_as_jsonl)
    assert first.created and not again.created and not as_jsonl.created
    assert again.dataset_id == as_jsonl.dataset_id == first.dataset_id
    assert counting(reference) == {f"K{i}": 1 for i in range(1, 10)}


def test_a_correction_replaces_the_same_ids_and_adds_new_ones_and_is_audited(reference, tiny, tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    # Two cases were really accepted in August, one more in July was missing.
    fixed = [r.replace("2020-07-01", "2020-08-01").replace("2020-07-02", "2020-08-02") for r in NINE] + [case("K10", 28)]
    with reference.app_context():
        ds_hash = db.session.get(Dataset, first.dataset_id).content_hash
    corr = run_import(reference, write(tmp_path / "fix.csv", fixed), corrects=ds_hash[:8], actor=ACTOR)
    assert corr.created and (corr.corrects_id, corr.replaced, corr.added) == (first.dataset_id, 9, 1)
    assert corr.summary is not None and corr.summary.code == "dataset.corrected"
    assert july_cases(reference, tiny) == (8, 8)
    assert counting(reference) == {f"K{i}": 1 for i in range(1, 11)}
    with reference.app_context():
        ds = db.session.get(Dataset, corr.dataset_id)
        assert ds.corrects_id == first.dataset_id and ds.status == "in_use"
        rec = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "dataset.correct"))
        assert rec.detail["corrects_id"] == first.dataset_id and rec.detail["replaced"] == 9
        assert rec.actor_ref == "system:test"
    # The same correction again: nothing changes. The same rows as a plain import: refused (counted).
    assert not run_import(reference, tmp_path / "fix.csv", corrects=first.dataset_id, actor=ACTOR).created
    assert rejection(reference, tmp_path / "fix.csv").error_code == "dataset.ids_exist"


def test_a_correction_may_not_take_ids_counted_in_another_dataset(reference, tmp_path):
    a = run_import(reference, write(tmp_path / "a.csv", NINE[:5]))
    b = run_import(reference, write(tmp_path / "b.csv", NINE[5:]))
    refused = rejection(reference, write(tmp_path / "fix.csv", [case("K1", 3), case("K7", 3), case("K20", 3)]),
                        corrects=a.dataset_id, actor=ACTOR)
    assert refused.error_code == "dataset.ids_elsewhere"
    assert [(e.line, e.column, e.value) for e in refused.row_errors] == [(3, "event_id", "K7")]
    assert f"#{b.dataset_id}" in refused.row_errors[0].message_zh
    assert counting(reference) == {f"K{i}": 1 for i in range(1, 10)}


def test_withdrawing_takes_events_out_and_withdrawing_a_correction_brings_back_what_it_replaced(reference, tiny,
                                                                                               tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    corr = run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, suspects=2), case("K2", 2, who="P002")]),
                      corrects=first.dataset_id, actor=ACTOR)
    assert july_cases(reference, tiny) == (8, 8)  # K2 is P002's now
    done = withdraw(reference, corr.dataset_id, "更正有误")
    assert (done.stopped, done.restored, done.corrections_in_use) == (2, {first.dataset_id: 2}, ())
    assert july_cases(reference, tiny) == (9, 9)
    with reference.app_context():
        w = db.session.get(DatasetWithdrawal, corr.dataset_id)
        assert (w.reason, w.by_ref) == ("更正有误", "system:test")
        assert db.session.get(Dataset, corr.dataset_id).status == "withdrawn"
        rec = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "dataset.withdraw"))
        assert rec.detail["reason"] == "更正有误" and rec.detail["events_stopped"] == 2
        # the dataset row itself never changes: the database refuses it
        with pytest.raises(Exception):  # noqa: B017 - IntegrityError or DatabaseError, by dialect
            db.session.execute(text("UPDATE datasets SET name = 'x' WHERE id = :i"), {"i": corr.dataset_id})
            db.session.flush()
        db.session.rollback()
    with reference.app_context():
        with pytest.raises(Conflict) as info:
            withdraw_dataset(db.session, ACTOR, corr.dataset_id, "again")
        assert info.value.error_code == "dataset.withdrawn"
        db.session.rollback()
    withdraw(reference, first.dataset_id)
    assert july_cases(reference, tiny) == (0, 0)
    assert counting(reference) == {}


def test_withdrawing_a_corrected_dataset_takes_its_own_events_out_and_leaves_the_correction(reference, tiny, tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    corr = run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, suspects=2), case("K10", 10)]),
                      corrects=first.dataset_id, actor=ACTOR)
    done = withdraw(reference, first.dataset_id)
    assert done.stopped == 8 and done.corrections_in_use == (corr.dataset_id,)
    assert counting(reference) == {"K1": 1, "K10": 1}
    assert july_cases(reference, tiny) == (2, 2)


def test_a_chain_of_corrections_never_counts_an_id_twice(reference, tmp_path):
    d = run_import(reference, write(tmp_path / "d.csv", NINE))
    c1 = run_import(reference, write(tmp_path / "c1.csv", [case("K1", 11), case("K2", 12)]), corrects=d.dataset_id,
                    actor=ACTOR)
    # K1 now lives in C1: correcting it again means correcting C1; naming D is refused.
    wrong = rejection(reference, write(tmp_path / "c2-wrong.csv", [case("K1", 21)]), corrects=d.dataset_id, actor=ACTOR)
    assert wrong.error_code == "dataset.ids_elsewhere" and f"#{c1.dataset_id}" in wrong.row_errors[0].message_zh
    c2 = run_import(reference, write(tmp_path / "c2.csv", [case("K1", 21)]), corrects=c1.dataset_id, actor=ACTOR)
    assert c2.replaced == 1

    def where() -> dict[str, int]:
        with reference.app_context():
            rows = db.session.execute(select(Event.external_id, Event.dataset_id)
                                      .where(in_use(db.session).condition(), Event.external_id.in_(["K1", "K2"])))
            out = dict(rows.all())
            db.session.rollback()
            return out

    assert where() == {"K1": c2.dataset_id, "K2": c1.dataset_id}
    withdraw(reference, c1.dataset_id)  # C2 still corrects K1; K2 goes back to D
    assert where() == {"K1": c2.dataset_id, "K2": d.dataset_id}
    assert all(n == 1 for n in counting(reference).values())
    withdraw(reference, c2.dataset_id)
    assert where() == {"K1": d.dataset_id, "K2": d.dataset_id}


def test_the_data_of_a_withdrawn_dataset_is_refused_unless_asked_for_again(reference, tmp_path):
    path = write(tmp_path / "july.csv", NINE)
    first = run_import(reference, path)
    withdraw(reference, first.dataset_id, "重复导入")
    with reference.app_context():
        with pytest.raises(Conflict) as info:
            import_file(db.session, path, dictionary=get_dictionary(reference.config["RULES_DIR"]))
        assert info.value.error_code == "dataset.withdrawn_data" and "重复导入" in info.value.message
    again = run_import(reference, path, reuse_withdrawn=True)
    assert again.created and again.dataset_id != first.dataset_id and again.content_hash != first.content_hash
    assert counting(reference) == {f"K{i}": 1 for i in range(1, 10)}


def test_withdrawal_needs_a_reason_an_event_dataset_and_the_whole_province(reference, tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    with reference.app_context():
        for reason, code in (("  ", "dataset.withdraw_needs_reason"), ("x" * 4001, "field.too_long"),
                             ("a\x00b", "field.nul_byte")):
            with pytest.raises(InvalidInput) as info:
                withdraw_dataset(db.session, ACTOR, first.dataset_id, reason)
            assert info.value.error_code == code
        reference_ds = db.session.scalar(select(Dataset.id).where(Dataset.kind == "reference"))
        with pytest.raises(InvalidInput) as info:
            withdraw_dataset(db.session, ACTOR, reference_ds, "x")
        assert info.value.error_code == "dataset.not_events"
        county = actor_for_scope(db.session, "user:9", "县院管理员", ["read", "edit"],
                                 [db.session.execute(text("SELECT id FROM procuratorates WHERE code = '220102'"))
                                  .scalar_one()])
        with pytest.raises(Exception) as denied:
            withdraw_dataset(db.session, county, first.dataset_id, "x")
        assert denied.value.error_code == "permission.scope"
        with pytest.raises(NotFound):
            resolve_dataset(db.session, "999")
        db.session.rollback()


def test_what_a_period_is_scored_on_is_recorded_and_can_be_scored_again(reference, tiny, tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    corr = run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, who="P002")]), corrects=first.dataset_id,
                      actor=ACTOR)
    august = run_import(reference, write(tmp_path / "aug.csv", [case("A1", 1).replace("2020-07", "2020-08")]))
    with reference.app_context():
        dictionary = get_dictionary(reference.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(tiny), dictionary)
        _, data = score_period(db.session, compiled, dictionary, parse_period("2020-07"))
        hashes = {i: db.session.get(Dataset, i).content_hash for i in (first.dataset_id, corr.dataset_id)}
        assert data.datasets == tuple(sorted(hashes.items()))  # August's dataset has nothing in July
        assert august.dataset_id not in dict(data.datasets)
        assert data.dataset_hashes == tuple(hashes[i] for i in sorted(hashes))
        assert datasets_in_use(db.session, dt.date(2020, 7, 1), dt.date(2020, 7, 31)) == list(data.datasets)
        db.session.rollback()
    recorded = [i for i, _ in data.datasets]
    withdraw(reference, corr.dataset_id)
    run_import(reference, write(tmp_path / "late.csv", [case("L1", 30)]))
    assert july_cases(reference, tiny) == (10, 10)  # now: K1 back with P001, and L1
    assert july_cases(reference, tiny, dataset_ids=recorded) == (8, 8)  # then: exactly as it was scored


def test_every_scoring_path_reads_events_through_the_one_filter(reference, tmp_path):
    first = run_import(reference, write(tmp_path / "july.csv", NINE))
    run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, suspects=5)]), corrects=first.dataset_id,
               actor=ACTOR)
    with reference.app_context():
        frame = events_frame(db.session, get_dictionary(reference.config["RULES_DIR"]), start=dt.date(2020, 7, 1),
                             end=dt.date(2020, 7, 31))
        assert frame.height == 9 and frame.filter(frame["event_id"] == "K1")["suspects"].to_list() == [5.0]
        # What a score card shows behind an item: the event once, as it counts (not the replaced row too).
        from rulesvc.services.facts import events_by_id

        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.external_id == "K1")) == 2
        assert len(events_by_id(db.session, ["K1"])) == 1
        assert len(events_by_id(db.session, ["K1"], [first.dataset_id])) == 1  # the facts of one dataset
        db.session.rollback()
    # The modules that load events for scoring all go through rulesvc.services.facts.
    root = Path(__file__).resolve().parents[2] / "rulesvc"
    reads_events = re.compile(r"select\(\s*Event\b(?!Type|Field)|\.select_from\(\s*Event\b(?!Type|Field)")
    readers = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
               if reads_events.search(p.read_text(encoding="utf-8"))]
    assert set(readers) <= {"services/facts.py", "services/importing/service.py", "services/importing/datasets.py"}


def test_cli_import_correct_withdraw_and_list(reference, runner, tmp_path):
    path = write(tmp_path / "july.csv", NINE)
    ok = runner.invoke(args=["import", "events", str(path)])
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(args=["import", "events", str(write(tmp_path / "again.csv", NINE[:3]))])
    assert refused.exit_code == 1 and "3 个事件编号已在使用中的数据集中出现" in refused.stderr
    assert "第 2 行，列 event_id" in refused.stderr and "K1" in refused.stderr
    with reference.app_context():
        first = db.session.scalar(select(Dataset).where(Dataset.kind == "events"))
        first_id, prefix = first.id, first.content_hash[:10]
        db.session.rollback()
    fixed = runner.invoke(args=["import", "events", str(write(tmp_path / "fix.csv", [case("K1", 1, suspects=2)])),
                                "--corrects", prefix])
    assert fixed.exit_code == 0 and "替换其中 1 条事件" in fixed.output, fixed.output
    listed = runner.invoke(args=["datasets", "list"])
    assert listed.exit_code == 0 and "使用中" in listed.output and f"#{first_id}" in listed.output
    no_reason = runner.invoke(args=["datasets", "withdraw", str(first_id + 1), "--reason", " "])
    assert no_reason.exit_code == 1 and "撤回须说明理由" in no_reason.stderr
    forgot = runner.invoke(args=["datasets", "withdraw", str(first_id + 1)])  # was click's English "Missing option"
    assert forgot.exit_code == 1 and "撤回须说明理由" in forgot.stderr
    gone = runner.invoke(args=["datasets", "withdraw", str(first_id + 1), "--reason", "更正有误"])
    assert gone.exit_code == 0 and "其 1 条事件不再计入考评" in gone.output and "重新计入" in gone.output
    listed = runner.invoke(args=["datasets", "list"])
    assert "已撤回" in listed.output and "更正有误" in listed.output
    with reference.app_context():
        infos = {d.id: d for d in list_datasets(db.session)}
        assert (infos[first_id].counting, infos[first_id + 1].counting, infos[first_id + 1].status) == (9, 0, "withdrawn")
        db.session.rollback()


# == 2. bounded imports ===============================================================================


def workbook_base() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["event_id", "event_type"])
    book.active.append(["E1", "case_accepted"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = b"</sheetData></worksheet>"


def rewrite(path: Path, parts: dict[str, object]) -> Path:
    """A copy of a small openpyxl workbook with some parts replaced: bytes, or a function writing them
    in pieces (so a bomb is built without holding it in memory)."""
    src = zipfile.ZipFile(io.BytesIO(workbook_base()))
    names = [i.filename for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in names + [n for n in parts if n not in names]:
            part = parts.get(name)
            if part is None:
                out.writestr(name, src.read(name))
            elif isinstance(part, bytes):
                out.writestr(name, part)
            else:
                with out.open(name, "w") as fh:
                    part(fh)  # type: ignore[operator]
    return path


def test_an_xlsx_of_3_million_rows_in_one_megabyte_is_refused_in_a_moment(reference, tmp_path):
    row = b'<row><c t="inlineStr"><is><t>E1</t></is></c><c t="inlineStr"><is><t>case_accepted</t></is></c></row>'

    def sheet(fh):
        fh.write(SHEET_HEAD + b'<row><c t="inlineStr"><is><t>event_id</t></is></c><c t="inlineStr"><is><t>event_type'
                 b"</t></is></c></row>")
        chunk = row * 10_000
        for _ in range(300):
            fh.write(chunk)
        fh.write(SHEET_TAIL)

    path = rewrite(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    assert path.stat().st_size < 2_000_000
    t0 = time.perf_counter()
    refused = rejection(reference, path)
    assert time.perf_counter() - t0 < 3
    (error,) = refused.row_errors
    assert "压缩炸弹" in error.message_zh and "zip bomb" in error.message_en
    # Without the ratio check, the rows counted up front refuse it, still without reading a row.
    t0 = time.perf_counter()
    counted = rejection(reference, path, limits=Limits(max_xlsx_ratio=10**9))
    assert time.perf_counter() - t0 < 10
    assert "3,000,000" in counted.row_errors[0].message_zh and "2,000,000" in counted.row_errors[0].message_zh


def test_an_xlsx_cell_of_50_mb_is_a_row_error_read_without_holding_it(reference, tmp_path):
    shared = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
              b'2006/main" count="4" uniqueCount="4"><si><t>event_id</t></si><si><t>event_type</t></si><si><t>E1</t>'
              b"</si><si><t>")

    def strings(fh):
        fh.write(shared)
        chunk = b"A" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b"</t></si></sst>")

    sheet = (SHEET_HEAD + b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
             b'<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>' + SHEET_TAIL)
    src = zipfile.ZipFile(io.BytesIO(workbook_base()))
    types = src.read("[Content_Types].xml").replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                                     b'ContentType="application/vnd.openxmlformats-officedocument.'
                                                     b'spreadsheetml.sharedStrings+xml"/></Types>')
    rels = src.read("xl/_rels/workbook.xml.rels").replace(b"</Relationships>", b'<Relationship Id="rIdSS" Type="http:'
                                                          b'//schemas.openxmlformats.org/officeDocument/2006/relations'
                                                          b'hips/sharedStrings" Target="sharedStrings.xml"/>'
                                                          b"</Relationships>")
    path = rewrite(tmp_path / "cell.xlsx", {"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": strings,
                                            "[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels})
    assert path.stat().st_size < 1_000_000
    # The default refuses it as a zip bomb; with the ratio check off, the cell itself is found.
    assert "压缩炸弹" in rejection(reference, path).row_errors[0].message_zh
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        refused = rejection(reference, path, limits=Limits(max_xlsx_ratio=10**9))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5
    assert peak < 20 * 1024 * 1024  # the 50 MB value was never held
    (error,) = refused.row_errors
    assert (error.line, error.column) == (2, "B") and "4,096" in error.message_zh


def test_an_inline_xlsx_cell_and_a_csv_cell_too_long_are_row_errors(reference, tmp_path):
    big = b"x" * 200_000
    sheet = (SHEET_HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><t>event_id</t></is></c></row>'
             b'<row r="7"><c r="A7" t="inlineStr"><is><t>' + big + b"</t></is></c></row>" + SHEET_TAIL)
    refused = rejection(reference, rewrite(tmp_path / "inline.xlsx", {"xl/worksheets/sheet1.xml": sheet}))
    assert [(e.line, e.column) for e in refused.row_errors] == [(7, "A")]
    # CSV: 5,000 characters is a row error of that cell (a line error when even the line is too long)
    path = write(tmp_path / "long.csv", [case("K1", 1).replace("C-K1", "C" * 5000), case("K2", 2)])
    refused = rejection(reference, path)
    assert [(e.line, e.column) for e in refused.row_errors] == [(2, "case_id")]
    assert "5,000" in refused.row_errors[0].message_zh and len(str(refused.row_errors[0].value)) < 50


def test_a_csv_line_of_30_mb_is_refused_without_reading_it_whole(reference, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:
        fh.write((HEADER + "\n").encode() + case("K1", 1).encode() + b",")
        for _ in range(30):
            fh.write(b"A" * (1 << 20))
        fh.write(b"\n" + case("K2", 2).encode() + b"\n")
    tracemalloc.start()
    try:
        refused = rejection(reference, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert [e.line for e in refused.row_errors] == [2] and "个字符" in refused.row_errors[0].message_zh


def test_checking_stops_after_200_errors_and_says_how_many_rows_were_not_checked(reference, tmp_path):
    rows = [f"B{i},case_accepted,220102,P001,C{i},2020-07-01,many,ordinary,false" for i in range(100_000)]
    t0 = time.perf_counter()
    refused = rejection(reference, write(tmp_path / "flood.csv", rows))
    assert time.perf_counter() - t0 < 5
    assert refused.error_code == "import.stopped" and len(refused.row_errors) == 200
    assert refused.details["unchecked_rows"] == 100_000 - 200
    assert "99,800" in refused.message


def test_too_many_rows_and_too_big_a_file_are_refused_before_checking(reference, tmp_path):
    many = write(tmp_path / "many.csv", [case(f"M{i}", 1) for i in range(30)])
    refused = rejection(reference, many, limits=Limits(max_rows=20))
    assert "30" in refused.row_errors[0].message_zh and "20" in refused.row_errors[0].message_zh
    big = rejection(reference, many, limits=Limits(max_file_bytes=100))
    assert "MB" in big.row_errors[0].message_zh
    lines = rejection(reference, write(tmp_path / "m.jsonl", ["{}"] * 30, header="{}"), limits=Limits(max_rows=20))
    assert "31" in lines.row_errors[0].message_zh


# == 3. NUL bytes =====================================================================================


def test_a_terminal_escape_in_a_name_is_a_row_error(reference, tmp_path):
    """Re-probe: a prosecutor named A<ESC>]0;pwn<BEL>B imported, then `rank` printed the escape sequence."""
    names = write(tmp_path / "people.csv", ["P010,A\x1b]0;pwn\x07B,220102,,ordinary_crime,quota,false,,2018-01-01,"],
                  header="code,name,procuratorate,department,business,quota_status,is_leader,leader_title,"
                         "active_from,active_to")
    errors = rejection(reference, names).row_errors
    assert [(e.line, e.column) for e in errors] == [(2, "name")] and "\\x1b" in errors[0].value


def test_a_text_direction_override_in_a_name_is_a_row_error(reference, tmp_path):
    """A review imported a prosecutor named with U+202E (right-to-left override): every list and export then showed
    the rest of the line reversed. Overrides and isolates are refused like the other control characters."""
    for mark in ("\u202e", "\u2066"):
        names = write(tmp_path / "people.csv", [f"P010,张{mark}三,220102,,ordinary_crime,quota,false,,2018-01-01,"],
                      header="code,name,procuratorate,department,business,quota_status,is_leader,leader_title,"
                             "active_from,active_to")
        errors = rejection(reference, names).row_errors
        assert [(e.line, e.column) for e in errors] == [(2, "name")], mark
        assert f"\\u{ord(mark):04x}" in errors[0].value and "文字方向" in errors[0].message_zh


def test_a_nul_byte_is_a_row_error_of_its_cell_not_a_server_error(reference, tmp_path):
    csv_path = write(tmp_path / "nul.csv", [case("K1", 1), case("K2", 2).replace("C-K2", "C-\x00K2")])
    refused = rejection(reference, csv_path)
    assert [(e.line, e.column) for e in refused.row_errors] == [(3, "case_id")]
    assert "NUL" in refused.row_errors[0].message_zh and "\\0" in refused.row_errors[0].value
    jsonl = tmp_path / "nul.jsonl"
    jsonl.write_text(json.dumps({"event_id": "J1", "event_type": "honour", "procuratorate": "220102",
                                 "occurred_on": "2020-07-01", "attrs": {"kind": "honour", "level": "city",
                                                                        "title": "a\u0000b"}}) + "\n", encoding="utf-8")
    refused = rejection(reference, jsonl, kind="events")
    assert [(e.line, e.column) for e in refused.row_errors] == [(1, "title")]
    names = write(tmp_path / "people.csv", ["P009,王\x00五,220102,,ordinary_crime,quota,false,,2018-01-01,"],
                  header="code,name,procuratorate,department,business,quota_status,is_leader,leader_title,"
                         "active_from,active_to")
    assert [(e.line, e.column) for e in rejection(reference, names).row_errors] == [(2, "name")]
    with reference.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


# == 4. encodings =====================================================================================

PEOPLE_HEADER = "code,name,procuratorate,department,business,quota_status,is_leader,leader_title,active_from,active_to"


def test_windows_1252_is_refused_rather_than_read_as_gb18030(reference, tmp_path):
    path = write(tmp_path / "people.csv", ["P010,Renée Müller,220102,,ordinary_crime,quota,false,,2018-01-01,"],
                 header=PEOPLE_HEADER, encoding="cp1252")
    refused = rejection(reference, path)
    (error,) = refused.row_errors
    assert "UTF-8" in error.message_zh and "--encoding" in error.message_zh and "--encoding" in error.message_en
    with reference.app_context():
        assert db.session.scalar(select(Prosecutor).where(Prosecutor.code == "P010")) is None
    # Named, it is read right.
    assert run_import(reference, path, encoding="cp1252").created
    with reference.app_context():
        assert db.session.scalar(select(Prosecutor.name).where(Prosecutor.code == "P010")) == "Renée Müller"
    with pytest.raises(InvalidInput) as info:
        run_import(reference, path, encoding="no-such-encoding")
    assert info.value.error_code == "import.encoding_unknown"


def test_utf8_with_and_without_bom_and_confident_gb18030_are_accepted(reference, tmp_path):
    rows = ["P011,欧阳明,220102,,ordinary_crime,quota,false,,2018-01-01,"]
    assert run_import(reference, write(tmp_path / "u.csv", rows, header=PEOPLE_HEADER)).created
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + write(tmp_path / "x.csv", [rows[0].replace("P011", "P012")],
                                             header=PEOPLE_HEADER).read_bytes())
    assert run_import(reference, bom).created
    gb = write(tmp_path / "gb.csv", [rows[0].replace("P011", "P013").replace("欧阳明", "司马光")], header=PEOPLE_HEADER,
               encoding="gb18030")
    assert run_import(reference, gb).created
    with reference.app_context():
        assert db.session.scalar(select(Prosecutor.name).where(Prosecutor.code == "P013")) == "司马光"


def test_cli_import_takes_an_encoding(reference, runner, tmp_path):
    path = write(tmp_path / "people.csv", ["P010,Renée,220102,,ordinary_crime,quota,false,,2018-01-01,"],
                 header=PEOPLE_HEADER, encoding="cp1252")
    refused = runner.invoke(import_command, [str(path)])
    assert refused.exit_code == 1 and "--encoding" in refused.stderr
    ok = runner.invoke(import_command, [str(path), "--encoding", "cp1252"])
    assert ok.exit_code == 0, ok.output


# == 5. formula injection in exports ===================================================================

HOSTILE = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", [HOSTILE, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "\u3000@x"])
def test_csv_safe_neutralises_every_formula_start(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "a=b", "P001", "", 5, -3.5, None])
def test_csv_safe_leaves_plain_cells_alone(value):
    assert csv_safe(value) == value


def test_rank_csv_escapes_a_hostile_prosecutor_name_and_indicator_name(reference, runner, tiny, tmp_path):
    run_import(reference, write(tmp_path / "july.csv", NINE))
    people = write(tmp_path / "evil.csv", [f'P001,"{HOSTILE}",220102,D01,ordinary_crime,quota,false,,2018-01-01,'],
                   header=PEOPLE_HEADER)
    run_import(reference, people)
    scheme = tmp_path / "evil.yaml"
    scheme.write_text(TINY_SCHEME.replace("name: 办案数", "name: \"@SUM(1+1)\""), encoding="utf-8")
    out = tmp_path / "rank.csv"
    result = runner.invoke(args=["rank", "--scheme", str(scheme), "--period", "2020-07", "--points", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert "'" + HOSTILE in [cell for row in rows for cell in row]
    assert HOSTILE not in [cell for row in rows for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any(h.startswith("'@SUM") for h in rows[0])


def test_the_import_error_report_escapes_the_values_it_echoes(reference, runner, tmp_path):
    path = write(tmp_path / "bad.csv", [f"K1,case_accepted,220102,{HOSTILE.replace(',', '')},C1,2020-07-01,1,ordinary,false",
                                        "K2,case_accepted,220102,P001,C2,2020-07-01,=1+1,ordinary,false"])
    report = tmp_path / "errors.csv"
    result = runner.invoke(import_command, [str(path), "--report", str(report)])
    assert result.exit_code == 1
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["行", "列", "原因", "reason", "值"] and len(rows) == 3
    cells = [cell for row in rows[1:] for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=1+1" in cells


def test_terminal_output_shows_control_characters_as_escapes():
    assert printable("名\x1b[2J字\x00\u202e") == "名\\x1b[2J字\\x00\\u202e"


def test_readers_can_be_given_limits_directly():
    # (the unit-level entry points of the readers keep working with their defaults)
    for cls, data in ((CsvReader, b"a\n1\n"), (JsonLinesReader, b'{"a": 1}\n')):
        reader = cls(io.BytesIO(data), "f", Limits(max_rows=5))
        assert reader.open() == ["a"]
        assert [r[1] for r in reader.records()] == [{"a": "1"} if cls is CsvReader else {"a": 1}]
        reader.close()
    with pytest.raises(ImportRejected):
        XlsxReader(io.BytesIO(b"PK\x03\x04junk"), "f").open()
