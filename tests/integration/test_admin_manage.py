"""The administration pages (issue 12, pages 11–13) with the real app, on SQLite and PostgreSQL: importing a
file (the result; a bad file's row errors and nothing imported), withdrawing a dataset (a reason required),
users managed by an administrator (403 for a designer, a city administrator kept to the city), API keys (the
key shown once, then only its prefix; revoked), the audit log's filters, the home page's 待办 and the error
pages of the admin in the UI's language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from rulesvc.config import PROJECT_ROOT
from rulesvc.extensions import db
from rulesvc.persistence.models import ApiKey, AuditRecord, Dataset, DatasetWithdrawal, Event, User
from rulesvc.schema.scheme import read_document
from rulesvc.services import localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import actor_for_user
from rulesvc.services.governance.apikeys import actor_for_token
from rulesvc.services.passwords import hash_password
from tests.integration.helpers import add_procuratorates, rendered_page
from tests.integration.test_admin import csrf_token

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

DATA = PROJECT_ROOT / "tests" / "data" / "import"
MINI = PROJECT_ROOT / "tests" / "data" / "schemes" / "mini.yaml"
PASSWORD = "manage pages 2026"
ORGS = [("910000", "示范省人民检察院", "province", None), ("910100", "东川市人民检察院", "city", "910000"),
        ("910101", "清瑞区人民检察院", "county", "910100"), ("910102", "东湖区人民检察院", "county", "910100")]
PEOPLE = {"boss": ("admin", None), "cityadmin": ("admin", "910100"), "pdesigner": ("designer", "910000"),
          "previewer": ("reviewer", "910000"), "cdesigner": ("designer", "910101"), "cviewer": ("viewer", "910101"),
          "oviewer": ("viewer", "910102")}


def _actor(name: str):
    return actor_for_user(db.session, db.session.scalar(select(User).where(User.username == name)))


@pytest.fixture
def world(app) -> dict[str, int]:
    hashed = hash_password(PASSWORD)
    with app.app_context():
        ids = add_procuratorates(ORGS)
        for name, (role, code) in PEOPLE.items():
            db.session.add(User(username=name, password_hash=hashed, role=role, display_name=f"{name} 本人",
                                procuratorate_id=ids[code] if code else None))
        db.session.commit()
        return ids


@pytest.fixture
def schemes(app, world) -> None:
    """The template's v1 in review (submitted by the provincial designer) and its v2 draft with a lint error."""
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        doc = read_document(MINI.read_text(encoding="utf-8"))
        v1 = versions.create_scheme(db.session, _actor("pdesigner"), code="TPL", name="示范省检察官考评模板",
                                    procuratorate="910000", subject_kind="prosecutor", period_kind="month",
                                    document=doc, change_note="首版")
        versions.submit(db.session, _actor("pdesigner"), v1.id, dictionary)
        db.session.commit()
        v2 = versions.create_draft(db.session, _actor("pdesigner"), "TPL", change_note="第二版")
        v2_id = v2.id
        db.session.commit()
        # v2 names something that does not exist in a formula: a lint error the editor would flag.
        broken = dict(v2.document)
        broken["indicators"] = {**broken["indicators"],
                                "plea_rate": {**broken["indicators"]["plea_rate"], "formula": "plea / nothing_here"}}
        versions.update_draft(db.session, _actor("pdesigner"), v2_id, lock_version=v2.lock_version, document=broken)
        db.session.commit()


def signed_in(app, username: str):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login/").get_data(as_text=True))
    assert client.post("/admin/login/", data={"csrf_token": token, "username": username,
                                              "password": PASSWORD}).status_code == 302
    return client


def token_of(client, url: str = "/admin/") -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def upload(client, path_or_bytes, filename: str, **fields):
    body = path_or_bytes.read_bytes() if hasattr(path_or_bytes, "read_bytes") else path_or_bytes
    import io

    data = {"csrf_token": token_of(client, "/admin/import/"), "file": (io.BytesIO(body), filename), **fields}
    return client.post("/admin/import/upload/", data=data, content_type="multipart/form-data",
                       headers={"HX-Request": "true"})


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# -- 导入 ----------------------------------------------------------------------------------------------------


def test_an_import_lands_and_is_listed_and_a_bad_file_shows_its_row_errors_and_imports_nothing(app, world):
    client = signed_in(app, "boss")
    rendered_page(client, "/admin/import/")
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
        r = upload(client, DATA / name, name)
        assert r.status_code == 200 and 'id="import-done"' in r.get_data(as_text=True), name
    r = upload(client, DATA / "events.csv", "events.csv", name="七月事件")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已导入" in html and "(imported" not in html
    assert "导入完成" in html and 'id="reload-datasets"' in html  # the list below the form is the page's: a way to it
    events = count(app, Event)
    with app.app_context():
        dataset = db.session.scalar(select(Dataset).where(Dataset.name == "七月事件"))
        assert dataset is not None and dataset.created_by == "boss" and dataset.row_count == events
    listed = client.get("/admin/import/").get_data(as_text=True)
    assert f'id="dataset-{dataset.id}"' in listed and "七月事件" in listed and "使用中" in listed

    # A bad file: every bad row with its line, column and reason; nothing imported.
    datasets = count(app, Dataset)
    bad = (b"event_id,event_type,procuratorate,prosecutor,case_id,occurred_on\n"
           b"B1,case_accepted,220102,P001,C9,2020-13-01\n"
           b"B2,no_such_type,220102,P001,C9,2020-07-01\n")
    r = upload(client, bad, "bad.csv")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="row-errors"' in html and "未导入任何数据" in html
    assert "第 2 行" in html and "第 3 行" in html and "occurred_on" in html and "event_type" in html
    assert count(app, Dataset) == datasets and count(app, Event) == events

    # Without htmx the page itself answers (the same errors, 422).
    import io

    r = client.post("/admin/import/upload/", data={"csrf_token": token_of(client, "/admin/import/"),
                                                   "file": (io.BytesIO(bad), "bad.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="row-errors"' in r.get_data(as_text=True) and 'id="datasets"' in r.get_data(as_text=True)

    # The same file again changes nothing and says so.
    r = upload(client, DATA / "events.csv", "events.csv")
    assert r.status_code == 200 and "相同的数据已导入过" in r.get_data(as_text=True)


def test_a_withdrawal_needs_a_reason_and_a_correction_names_its_dataset(app, world):
    client = signed_in(app, "boss")
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv", "events.csv"):
        assert upload(client, DATA / name, name).status_code == 200
    with app.app_context():
        ds = db.session.scalar(select(Dataset.id).where(Dataset.kind == "events"))
    # A correction: E1 again with another date replaces it, E99 is added; the audit log keeps it.
    fix = (b"event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained\n"
           b"E1,case_accepted,220102,P001,C1,2020-07-02,2,ordinary,true\n"
           b"E99,case_accepted,220102,P001,C99,2020-07-05,1,ordinary,false\n")
    r = upload(client, fix, "fix.csv", corrects=str(ds))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "替换其中 1 条事件，新增 1 条" in html, html
    with app.app_context():
        assert db.session.scalar(select(AuditRecord.actor).where(AuditRecord.action == "dataset.correct")) == "boss"
        fix_id = db.session.scalar(select(Dataset.id).where(Dataset.corrects_id == ds))
    # The events list says which of E1's two rows counts (an audit: both looked alike).
    listed = client.get("/admin/events/", query_string={"search": "E1"}).get_data(as_text=True)
    assert f"已被 #{fix_id} 更正" in listed and ">计入<" in listed
    # 撤回 without a reason: refused beside the field, nothing withdrawn.
    token = token_of(client, "/admin/import/")
    r = client.post(f"/admin/import/{ds}/withdraw/", data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 422 and 'id="withdraw-error">撤回须说明理由<' in r.get_data(as_text=True)
    # An English browser on the Chinese pages (an audit: the refusal came in English): the pages' language wins.
    r = client.post(f"/admin/import/{ds}/withdraw/", data={"csrf_token": token, "reason": "  "},
                    headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.status_code == 422 and 'id="withdraw-error">撤回须说明理由<' in r.get_data(as_text=True)
    assert "needs a reason" not in r.get_data(as_text=True)
    assert count(app, DatasetWithdrawal) == 0
    r = client.post(f"/admin/import/{ds}/withdraw/", data={"csrf_token": token, "reason": "日期录错"},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and f"已撤回数据集 #{ds}" in html and "日期录错" in html and "已撤回" in html
    listed = client.get("/admin/events/", query_string={"search": "C1"}).get_data(as_text=True)
    # C1: E1 and E2 of the withdrawn dataset, and the correction's E1 (which counts)
    assert listed.count('badge badge-secondary">已撤回<') == 2 and listed.count(">计入<") == 1
    datasets_page = client.get("/admin/datasets/").get_data(as_text=True)
    assert datasets_page.count('badge badge-secondary">已撤回<') == 1 and "使用中" in datasets_page
    with app.app_context():
        assert db.session.scalar(select(DatasetWithdrawal.by).where(DatasetWithdrawal.dataset_id == ds)) == "boss"
    # Withdrawn once is final: a second withdrawal is refused with the service's words.
    r = client.post(f"/admin/import/{ds}/withdraw/", data={"csrf_token": token, "reason": "再撤一次"})
    assert r.status_code == 409 and "已撤回" in r.get_data(as_text=True)
    # The correction withdrawn too: the dataset it corrected says so (an audit read "已由 #4 更正" after it went).
    client.post(f"/admin/import/{fix_id}/withdraw/", data={"csrf_token": token, "reason": "更正有误"})
    assert f"已由 #{fix_id}（已撤回） 更正" in client.get("/admin/import/").get_data(as_text=True)


def test_the_import_page_does_what_its_messages_say_without_the_command_line(app, world):
    """A data clerk's audit (2026-12-07): the page's refusals told the clerk to use --reuse-withdrawn, --encoding,
    --outside-office, --corrects and --kind, options the page did not have. Its 更多选项 has them now, and the
    messages name the page's field (and the command line's option)."""
    client = signed_in(app, "boss")
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
        assert upload(client, DATA / name, name).status_code == 200
    html = client.get("/admin/import/").get_data(as_text=True)
    assert "更多选项" in html and 'name="encoding"' in html and "重新使用已撤回的数据（作为新的数据集）" in html
    assert upload(client, DATA / "events.csv", "events.csv").status_code == 200
    with app.app_context():
        ds = db.session.scalar(select(Dataset.id).where(Dataset.kind == "events"))
    token = token_of(client, "/admin/import/")
    assert client.post(f"/admin/import/{ds}/withdraw/", data={"csrf_token": token, "reason": "导错了"}).status_code \
        in (200, 302)
    r = upload(client, DATA / "events.csv", "events.csv")
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "请在导入页面勾选“重新使用已撤回的数据”（命令行加 --reuse-withdrawn）" in text
    events = count(app, Event)
    r = upload(client, DATA / "events.csv", "events.csv", reuse_withdrawn="1")
    assert r.status_code == 200 and 'id="import-done"' in r.get_data(as_text=True)
    assert count(app, Event) > events
    # A GBK file named as such is read; an encoding the page does not offer is a field error.
    gbk = "event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained\n" \
          "G1,case_accepted,220102,P001,C77,2020-07-09,1,ordinary,false\n"
    r = upload(client, gbk.encode("gb18030"), "gbk.csv", encoding="gb18030")
    assert r.status_code == 200, r.get_data(as_text=True)
    r = upload(client, gbk.encode("gb18030"), "gbk2.csv", encoding="ebcdic")
    assert r.status_code == 422 and "请从列表中选择文件编码。" in r.get_data(as_text=True)


@pytest.mark.parametrize("username", ["cityadmin", "pdesigner", "cviewer"])
def test_only_the_provinces_administrator_imports(app, world, username):
    client = signed_in(app, username)
    r = client.get("/admin/import/")
    assert r.status_code == 403 and "只有全省的管理员可以导入数据" in r.get_data(as_text=True)
    assert "/admin/import/" not in client.get("/admin/").get_data(as_text=True)
    token = token_of(client)
    assert client.post("/admin/import/1/withdraw/", data={"csrf_token": token, "reason": "x"}).status_code == 403


# -- 用户 ------------------------------------------------------------------------------------------------------


def test_an_administrator_creates_changes_resets_and_deactivates_a_user(app, world):
    client = signed_in(app, "boss")
    html = client.get("/admin/users/").get_data(as_text=True)
    assert "cviewer" in html and "姓名" in html and "查看人员" in html and "scrypt" not in html
    ids = world
    token = token_of(client, "/admin/users/new/")
    # A designer without a procuratorate and a short password: both said beside their fields, nothing saved.
    r = client.post("/admin/users/new/", data={"csrf_token": token, "username": "newbie", "display_name": "新人",
                                               "role": "designer", "procuratorate": "province",
                                               "password": "short", "password2": "short"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="error-procuratorate"' in html and 'id="error-password"' in html
    assert "--procuratorate" not in html and "至少 12 个字符" in html
    assert count(app, User) == len(PEOPLE)
    r = client.post("/admin/users/new/", data={"csrf_token": token, "username": "newbie", "display_name": "新人",
                                               "role": "designer", "procuratorate": str(ids["910101"]),
                                               "password": "a long password 1", "password2": "a long password 1"})
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "newbie"))
        assert user.role == "designer" and user.procuratorate_id == ids["910101"] and user.display_name == "新人"
    # Change the role and procuratorate.
    token = token_of(client, "/admin/users/newbie/")
    r = client.post("/admin/users/newbie/", data={"csrf_token": token, "display_name": "新人",
                                                  "role": "reviewer", "procuratorate": str(ids["910100"])})
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "newbie"))
        assert user.role == "reviewer" and user.procuratorate_id == ids["910100"]
    # A new password of 12 characters or more; two that differ are refused.
    r = client.post("/admin/users/newbie/password/", data={"csrf_token": token, "password": "another password",
                                                           "password2": "another passwordX"})
    assert r.status_code == 422 and 'id="error-password2"' in r.get_data(as_text=True)
    r = client.post("/admin/users/newbie/password/", data={"csrf_token": token, "password": "another password",
                                                           "password2": "another password"})
    assert r.status_code == 302
    other = app.test_client()
    t = csrf_token(other.get("/admin/login/").get_data(as_text=True))
    assert other.post("/admin/login/", data={"csrf_token": t, "username": "newbie",
                                             "password": "another password"}).status_code == 302
    # Deactivated: their session ends, they cannot sign in; activated again.
    assert client.post("/admin/users/newbie/active/", data={"csrf_token": token, "active": "0"}).status_code == 302
    assert other.get("/admin/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.is_active).where(User.username == "newbie")) is False
    assert client.post("/admin/users/newbie/active/", data={"csrf_token": token, "active": "1"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.is_active).where(User.username == "newbie")) is True
    # The last active administrator of the province keeps the role: the service's refusal, on the page.
    with app.app_context():
        db.session.execute(User.__table__.update().where(User.username == "cityadmin").values(is_active=False))
        db.session.commit()
    r = client.post("/admin/users/boss/active/", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 409 and "最后一个启用的管理员" in r.get_data(as_text=True)


def test_users_are_for_administrators_and_a_city_administrator_keeps_to_the_city(app, world):
    designer = signed_in(app, "pdesigner")
    assert designer.get("/admin/users/").status_code == 403
    assert designer.get("/admin/users/new/").status_code == 403
    token = token_of(designer)
    assert designer.post("/admin/users/cviewer/active/", data={"csrf_token": token, "active": "0"}).status_code == 403
    city = signed_in(app, "cityadmin")
    html = city.get("/admin/users/").get_data(as_text=True)
    assert "cviewer" in html and "oviewer" in html and "pdesigner" not in html and "boss" not in html
    assert city.get("/admin/users/boss/").status_code == 404 and city.get("/admin/users/pdesigner/").status_code == 404
    token = token_of(city, "/admin/users/new/")
    # No "whole province" account, and no procuratorate outside the city.
    form = city.get("/admin/users/new/").get_data(as_text=True)
    assert 'value="province"' not in form and "示范省人民检察院" not in form
    r = city.post("/admin/users/new/", data={"csrf_token": token, "username": "cityguy", "role": "admin",
                                             "procuratorate": "province", "password": "a long password 1",
                                             "password2": "a long password 1"})
    assert r.status_code == 422 and count(app, User) == len(PEOPLE)
    r = city.post("/admin/users/new/", data={"csrf_token": token, "username": "cityguy", "role": "viewer",
                                             "procuratorate": str(world["910000"]), "password": "a long password 1",
                                             "password2": "a long password 1"})
    assert r.status_code == 422 and count(app, User) == len(PEOPLE)


# -- API 密钥 ---------------------------------------------------------------------------------------------------


def test_an_api_key_is_shown_once_then_only_its_prefix_and_can_be_revoked(app, world):
    client = signed_in(app, "boss")
    token = token_of(client, "/admin/apikeys/")
    # The review permission without an owner: refused with the service's reason.
    r = client.post("/admin/apikeys/", data={"csrf_token": token, "name": "绩效系统", "procuratorates": ["910101"],
                                             "permissions": ["read", "review"]})
    assert r.status_code == 422 and 'id="error-owner"' in r.get_data(as_text=True) and count(app, ApiKey) == 0
    # No procuratorate ticked: said in words, no English, no "none given" (a UI audit, 2026-12-07).
    r = client.post("/admin/apikeys/", data={"csrf_token": token, "name": "绩效系统", "permissions": ["read"]})
    said = r.get_data(as_text=True)
    assert r.status_code == 422 and "请至少选择一个检察院" in said and "none given" not in said and count(app, ApiKey) == 0
    r = client.post("/admin/apikeys/", data={"csrf_token": token, "name": "绩效系统", "procuratorates": ["910101"],
                                             "permissions": ["read", "score"], "expires": "2999-12-31"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="token" value="(rsk_[^"]+)"', html).group(1)
    assert "只显示这一次" in html
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.permissions == ["read", "score"] and actor_for_token(db.session, secret) is not None
        assert db.session.scalar(select(AuditRecord.actor).where(AuditRecord.action == "apikey.create")) == "boss"
    # Afterwards: the prefix, never the key.
    listed = client.get("/admin/apikeys/").get_data(as_text=True)
    assert key.prefix in listed and secret not in listed and secret.split("_", 2)[2] not in listed
    assert "2999-12-31" in listed and "清瑞区人民检察院" in listed
    r = client.post(f"/admin/apikeys/{key.prefix}/revoke/", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "已吊销" in r.get_data(as_text=True)
    with app.app_context():
        assert actor_for_token(db.session, secret) is None
        assert db.session.scalar(select(func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.action == "apikey.revoke")) == 1


def test_api_keys_are_for_administrators_within_their_tree(app, world):
    designer = signed_in(app, "pdesigner")
    assert designer.get("/admin/apikeys/").status_code == 403
    boss = signed_in(app, "boss")
    token = token_of(boss, "/admin/apikeys/")
    assert boss.post("/admin/apikeys/", data={"csrf_token": token, "name": "省里的", "procuratorates": ["910000"],
                                              "permissions": ["read"]}).status_code == 200
    city = signed_in(app, "cityadmin")
    html = city.get("/admin/apikeys/").get_data(as_text=True)
    assert "省里的" not in html and 'value="910000"' not in html
    with app.app_context():
        prefix = db.session.scalar(select(ApiKey.prefix))
    token = token_of(city, "/admin/apikeys/")
    r = city.post(f"/admin/apikeys/{prefix}/revoke/", data={"csrf_token": token})
    assert r.status_code == 403
    r = city.post("/admin/apikeys/", data={"csrf_token": token, "name": "越权", "procuratorates": ["910000"],
                                           "permissions": ["read"]})
    assert r.status_code == 422 and count(app, ApiKey) == 1


# -- 审计日志 ----------------------------------------------------------------------------------------------------


def test_the_audit_log_filters_by_scheme_action_person_and_dates(app, schemes):
    client = signed_in(app, "previewer")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert 'id="audit-records"' in html and "每页 50 条" in html and "新建方案" in html and "提交审核" in html
    def rows(**query) -> list[str]:
        page = rendered_page(client, "/admin/audit/", query_string=query)
        return re.findall(r'<tr class="record" data-action="([^"]+)"', page.get_data(as_text=True))

    everything = rows()
    assert set(everything) >= {"scheme.create", "version.submit", "version.create", "version.update"}
    assert rows(action="version.submit") == ["version.submit"]
    assert rows(scheme="TPL") == everything
    assert rows(person="pdesigner") == everything and rows(person="nobody") == []
    today = localtime.to_local(dt.datetime.now(dt.UTC)).date()  # the page's days are Beijing days
    assert rows(**{"from": (today + dt.timedelta(days=1)).isoformat()}) == []
    assert rows(**{"from": today.isoformat(), "to": today.isoformat()}) == everything
    assert rows(**{"from": "not a date"}) == everything  # an unreadable date is no filter
    assert signed_in(app, "cviewer").get("/admin/audit/").status_code == 403


def test_the_audit_log_pages_by_fifty(app, world):
    with app.app_context():
        actor = _actor("boss")
        from rulesvc.services.governance import audit

        for i in range(55):
            audit.record(db.session, actor, "apikey.revoke", summary=f"第 {i} 条", procuratorate_id=world["910000"])
        db.session.commit()
    client = signed_in(app, "boss")
    first = client.get("/admin/audit/").get_data(as_text=True)
    assert first.count('<tr class="record"') == 50 and "共 55 条，每页 50 条" in first and "第 1 页，共 2 页" in first
    second = client.get("/admin/audit/", query_string={"page": 2}).get_data(as_text=True)
    assert second.count('<tr class="record"') == 5
    assert client.get("/admin/audit/", query_string={"page": 10**12}).status_code == 200


def test_the_audit_log_shows_and_filters_beijing_time(app, world):
    """The database keeps UTC; a county reads Beijing time: 17:30 UTC on 1 January is 01:30 on 2 January, the
    page says so once, and its days are Beijing days."""
    with app.app_context():
        db.session.add(AuditRecord(at=dt.datetime(2026, 1, 1, 17, 30, tzinfo=dt.UTC), actor="boss", actor_ref="user:1",
                                   action="apikey.revoke", procuratorate_id=world["910000"], summary="跨日的记录"))
        db.session.commit()
    client = signed_in(app, "boss")

    def page(**query) -> str:
        return client.get("/admin/audit/", query_string=query).get_data(as_text=True)

    html = page(**{"from": "2026-01-02", "to": "2026-01-02"})
    assert "跨日的记录" in html and "2026-01-02 01:30" in html and "17:30" not in html
    assert "时间（北京时间）" in html and "本页时间均为北京时间。" in html
    assert "跨日的记录" not in page(**{"from": "2026-01-01", "to": "2026-01-01"})
    english = client.get("/admin/audit/", query_string={"from": "2026-01-02", "lang": "en"},
                         headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2026-01-02 01:30" in english


# -- 首页 ------------------------------------------------------------------------------------------------------


def test_the_home_page_shows_a_designer_their_broken_draft_and_a_reviewer_the_version_in_review(app, world, schemes):
    designer = signed_in(app, "pdesigner")
    html = rendered_page(designer, "/admin/").get_data(as_text=True)
    drafts = re.search(r'id="todo-drafts">(.*?)</ul>', html, re.S).group(1)
    assert "/admin/schemes/TPL/2/" in drafts and "本人" in drafts and "个错误" in drafts
    assert 'id="todo-reviews"' not in html  # a designer does not review; and they submitted v1
    reviewer = signed_in(app, "previewer")
    html = reviewer.get("/admin/").get_data(as_text=True)
    reviews = re.search(r'id="todo-reviews">(.*?)</ul>', html, re.S).group(1)
    assert "/admin/schemes/TPL/1/" in reviews and "尚未附模拟测评" in reviews
    assert 'id="todo-drafts"' not in html
    # A succeeded run of exactly v1's content (what approval takes, attached or not): no longer "not simulated".
    with app.app_context():
        from rulesvc.persistence.models import Scheme, SchemeVersion, SimulationRun

        v1 = db.session.scalars(select(SchemeVersion).join(Scheme).where(Scheme.code == "TPL",
                                                                        SchemeVersion.number == 1)).one()
        db.session.add(SimulationRun(run_hash="f" * 64, procuratorate_id=world["910000"], scheme_id=v1.scheme_id,
                                     documents={}, candidate_hash=v1.content_hash, periods=["2020"], datasets=[],
                                     dictionary_hash="d" * 64, engine_version="test", status="succeeded"))
        db.session.commit()
    reviews = re.search(r'id="todo-reviews">(.*?)</ul>',
                        reviewer.get("/admin/").get_data(as_text=True), re.S).group(1)
    assert "/admin/schemes/TPL/1/" in reviews and "尚未附模拟测评" not in reviews
    # Approved, not yet given a date (a reviewer audit: only the schemes page listed it): on the home page too.
    assert 'id="todo-golive"' not in reviewer.get("/admin/").get_data(as_text=True)
    with app.app_context():
        v1 = db.session.scalars(select(SchemeVersion).join(Scheme).where(Scheme.code == "TPL",
                                                                        SchemeVersion.number == 1)).one()
        v1.status = "approved"
        db.session.commit()
    golive = re.search(r'id="todo-golive">(.*?)</ul>', reviewer.get("/admin/").get_data(as_text=True), re.S).group(1)
    assert "/admin/schemes/TPL/1/" in golive and "请在版本页面设定生效日期" in golive
    # A county viewer: nothing of the province's drafts or reviews.
    html = signed_in(app, "cviewer").get("/admin/").get_data(as_text=True)
    assert 'id="nothing-to-do"' in html and "TPL" not in html
    # In English.
    reviewer.get("/admin/lang/en/")
    html = reviewer.get("/admin/").get_data(as_text=True)
    assert "Approved, waiting to go live" in html and "已批准" not in html


# -- error pages and stock words ---------------------------------------------------------------------------


def test_the_admins_error_pages_speak_the_ui_language(app, world):
    client = signed_in(app, "cviewer")
    r = client.get("/admin/no-such-page/")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and "没有这个页面" in html and 'id="current-user"' in html and "Not Found" not in html
    r = client.get("/admin/users/")
    assert r.status_code == 403 and "只有管理员可以管理用户" in r.get_data(as_text=True)
    r = client.get("/admin/prosecutors/new/")  # a list view's refused URL (abort(404)) gets the same page
    assert r.status_code == 404 and "没有这个页面" in r.get_data(as_text=True)
    r = client.post("/admin/schemes/", data={"csrf_token": token_of(client)})
    assert r.status_code == 405 and "不能这样使用此页面" in r.get_data(as_text=True)
    client.get("/admin/lang/en/")
    r = client.get("/admin/no-such-page/")
    assert r.status_code == 404 and "There is no such page." in r.get_data(as_text=True)
    # The API keeps its JSON envelope.
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.is_json


def test_list_pages_say_per_page_and_in_all_the_chinese_way(app, world):
    html = signed_in(app, "boss").get("/admin/procuratorates/").get_data(as_text=True)
    assert "每页 100 条" in html and "共 4 条" in html and "项目" not in html and "添加筛选器" not in html


def test_the_import_reports_its_progress_to_the_page_under_its_token(app, world, monkeypatch):
    """The service's progress callback reaches /admin/import/progress/<token>/ (the last report is kept here by
    leaving the file in place; normally the end of the import removes it)."""
    from admin import manage_progress

    client = signed_in(app, "boss")
    page = client.get("/admin/import/").get_data(as_text=True)
    token = re.search(r'name="progress" id="progress-token" value="([0-9a-f]{32})"', page).group(1)
    assert client.get(f"/admin/import/progress/{token}/").get_json() == {}
    monkeypatch.setattr(manage_progress.FileProgress, "close", lambda self: None)
    assert upload(client, DATA / "procuratorates.csv", "procuratorates.csv", progress=token).status_code == 200
    assert client.get(f"/admin/import/progress/{token}/").get_json() == {"phase": "validate", "percent": 100}
    monkeypatch.undo()
    assert upload(client, DATA / "procuratorates.csv", "procuratorates.csv", progress=token).status_code == 200
    assert client.get(f"/admin/import/progress/{token}/").get_json() == {}  # removed at the end
    assert client.get("/admin/import/progress/..%2F..%2Fsecret_key/").get_json() in ({}, None)
    assert signed_in(app, "pdesigner").get(f"/admin/import/progress/{token}/").status_code == 403


@pytest.mark.parametrize(("username", "offered"), [
    ("boss", {"/admin/import/", "/admin/audit/", "/admin/users/", "/admin/apikeys/"}),
    ("cityadmin", {"/admin/audit/", "/admin/users/", "/admin/apikeys/"}),
    ("pdesigner", {"/admin/audit/"}),
    ("previewer", {"/admin/audit/"}),
    ("cviewer", set()),
])
def test_each_role_is_offered_only_the_pages_it_may_use_and_the_others_answer_403(app, world, username, offered):
    client = signed_in(app, username)
    home = client.get("/admin/").get_data(as_text=True)
    pages = {"/admin/import/", "/admin/audit/", "/admin/users/", "/admin/apikeys/"}
    assert {p for p in pages if f'href="{p}"' in home} == offered
    assert ("系统管理" in home) == bool(offered)
    for p in pages:
        assert client.get(p).status_code == (200 if p in offered else 403), p


def test_a_server_error_under_admin_is_a_page_of_the_admin(app, world, monkeypatch):
    from admin import manage_users

    def broken(_session):
        raise RuntimeError("boom")

    monkeypatch.setattr(manage_users.users_service, "list_users", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    client = signed_in(app, "boss")
    r = client.get("/admin/users/")
    html = r.get_data(as_text=True)
    assert r.status_code == 500 and "服务器出错了" in html and 'id="current-user"' in html and "boom" not in html


def test_the_home_page_shows_a_localization_behind_a_newer_template_and_the_simulations_finished(app, world):
    """The county localizes template v1; the province then approves v2 (on a simulation): the county designer's
    home page says its localization rests on v1 while v2 is approved, and lists the simulations of its tree."""
    from tests.integration.helpers import give_events, simulate

    give_events(app, "2020")
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        doc = read_document(MINI.read_text(encoding="utf-8"))
        v1 = versions.create_scheme(db.session, _actor("pdesigner"), code="TPL", name="示范省检察官考评模板",
                                    procuratorate="910000", subject_kind="prosecutor", period_kind="month",
                                    document=doc, change_note="首版")
        versions.submit(db.session, _actor("pdesigner"), v1.id, dictionary)
        run = simulate(db.session, _actor("pdesigner"), v1.id, "2020")
        versions.attach_simulation(db.session, _actor("pdesigner"), v1.id, run_id=run.id)
        versions.approve(db.session, _actor("previewer"), v1.id, note="同意")
        versions.activate(db.session, _actor("previewer"), v1.id, effective_from=dt.date(2021, 1, 1))
        loc = versions.localize(db.session, _actor("cdesigner"), parent_version_id=v1.id, procuratorate="910101",
                                code="LOC-910101", name="清瑞区检察官考评方案", change_note="本地化")
        versions.submit(db.session, _actor("cdesigner"), loc.id, dictionary)
        simulate(db.session, _actor("cdesigner"), loc.id, "2020")
        v2 = versions.create_draft(db.session, _actor("pdesigner"), "TPL", change_note="第二版")
        versions.submit(db.session, _actor("pdesigner"), v2.id, dictionary)
        run2 = simulate(db.session, _actor("pdesigner"), v2.id, "2020")
        versions.attach_simulation(db.session, _actor("pdesigner"), v2.id, run_id=run2.id)
        versions.approve(db.session, _actor("previewer"), v2.id, note="同意")
        db.session.commit()
    html = signed_in(app, "cdesigner").get("/admin/").get_data(as_text=True)
    drift = re.search(r'id="todo-drifts">(.*?)</ul>', html, re.S).group(1)
    assert "/admin/schemes/LOC-910101/1/" in drift and "依据模板第 1 版制定；模板第 2 版已批准" in drift
    assert "/admin/schemes/TPL/2/" in drift
    runs = re.search(r'id="todo-runs">(.*?)</ul>', html, re.S).group(1)
    assert "/admin/schemes/LOC-910101/1/simulations/" in runs and "本人" in runs and "已完成" in runs
    assert re.search(r"参加测评 [\d,]+ 人", runs)  # people for a scheme scoring prosecutors (个院 for units)
    assert "/admin/schemes/TPL/" not in runs  # the province's runs are not the county's
    # Another county's viewer sees none of it.
    other = signed_in(app, "oviewer").get("/admin/").get_data(as_text=True)
    assert 'id="todo-drifts"' not in other and "simulations/" not in other
