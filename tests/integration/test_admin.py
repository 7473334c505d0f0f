"""The admin UI at /admin (Flask test client, SQLite and PostgreSQL): login, Chinese/English, read-only lists.

The users service and ``rulesvc users`` are tested in test_users.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from admin.auth import safe_next
from rulesvc.extensions import db
from rulesvc.persistence.models import Event, EventType, Procuratorate, User
from rulesvc.services.users import create_user
from tests.integration.helpers import province_id, sql_statements

PASSWORD = "correct horse battery"
UI_TESTER = "ui_tester"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username: str, password: str, next_url: str | None = None):
    url = "/admin/login/" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "username": username, "password": password})


def add_user(app, username: str = "alice", role: str = "viewer", password: str = PASSWORD,
             procuratorate_id: int | None = None) -> None:
    if role != "admin" and procuratorate_id is None:
        procuratorate_id = province_id(app)
    with app.app_context():
        create_user(db.session, username, password, role=role, procuratorate_id=procuratorate_id)
        db.session.commit()


def list_count(html: str) -> int:
    """The total the list's menu bar shows: "共 97 条" or "97 rows in all"."""
    match = re.search(r'id="list-count">(?:共 )?([\d,]+)(?: 条| rows in all)<', html)
    return int(match.group(1).replace(",", "")) if match else 0


def rows(html: str) -> int:
    return html.count('<td class="col-id">') or html.count('<td class="col-code">')


@pytest.fixture
def demo_client(demo_app):
    """A client of the demo database, signed in as a viewer (the only row the tests add to it)."""
    with demo_app.app_context():
        if db.session.scalar(select(User.id).where(User.username == UI_TESTER)) is None:
            create_user(db.session, UI_TESTER, PASSWORD, role="admin", display_name="界面测试")
            db.session.commit()
    client = demo_app.test_client()
    assert login(client, UI_TESTER, PASSWORD).status_code == 302
    return client


# -- signing in ------------------------------------------------------------------------------------------


def test_anonymous_user_is_redirected_to_login_with_next(client):
    for path in ("/admin/", "/admin/procuratorates/", "/admin/events/?page=2"):
        response = client.get(path)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/admin/login/"
        assert parse_qs(location.query)["next"] == [path]


def test_login_page_is_chinese_by_default(client):
    html = client.get("/admin/login/").get_data(as_text=True)
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "检察官业绩考评规则服务" in html


def test_wrong_password_shows_generic_chinese_error_and_no_session(app, client):
    add_user(app)
    for username, password in (("alice", "wrong password!"), ("nobody", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 200
        assert "用户名或密码错误" in response.get_data(as_text=True)
        with client.session_transaction() as session:
            assert "_user_id" not in session
    assert client.get("/admin/procuratorates/").status_code == 302


def test_login_without_csrf_token_is_rejected_and_sent_back_with_a_message(app, client):
    add_user(app)
    response = client.post("/admin/login/", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/login/")
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert "页面已过期" in client.get("/admin/login/").get_data(as_text=True)


def test_login_with_csrf_token_signs_in_follows_next_and_records_the_time(app, client):
    add_user(app)
    response = login(client, "Alice", PASSWORD, next_url="/admin/events/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/events/"
    assert client.get("/admin/events/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.last_login_at).where(User.username == "alice")) is not None


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, client, target):
    add_user(app)
    response = login(client, "alice", PASSWORD, next_url=target)
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/events/?flt0_0=x", "/admin/events/?flt0_0=x"),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("https://evil.example/admin", None),
        ("admin/", None),
        ("/admin/\r\nSet-Cookie: x", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_accepts_local_paths_only(target, expected):
    assert safe_next(target) == expected


def test_logout_needs_post_with_csrf_and_ends_the_session(app, client):
    add_user(app)
    login(client, "alice", PASSWORD)
    html = client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/logout/").status_code == 405
    refused = client.post("/admin/logout/")  # no CSRF token: refused, still signed in
    assert refused.status_code == 302 and refused.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    response = client.post("/admin/logout/", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login/"
    assert client.get("/admin/").status_code == 302


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(app, client):
    from rulesvc.services.users import set_password

    add_user(app)
    login(client, "alice", PASSWORD)
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        set_password(db.session, "alice", "another long passphrase")
        db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/")
    login(client, "alice", "another long passphrase")
    assert client.get("/admin/").status_code == 200


def test_inactive_user_cannot_sign_in(app, client):
    add_user(app)
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "alice")).is_active = False
        db.session.commit()
    assert "用户名或密码错误" in login(client, "alice", PASSWORD).get_data(as_text=True)


# -- the lists -------------------------------------------------------------------------------------------


def test_home_page_shows_counts_and_api_links(demo_app, demo_client):
    html = demo_client.get("/admin/").get_data(as_text=True)
    assert "检察官业绩考评规则服务" in html and "待办事项" in html
    assert 'id="count-procuratorates">97<' in html
    with demo_app.app_context():
        events = db.session.scalar(select(func.count()).select_from(Event))
    assert f'id="count-events">{events:,}<' in html
    assert "/api/docs/swagger" in html and "/api/docs/redoc" in html


def test_procuratorates_list_shows_all_97_in_chinese(demo_client):
    html = demo_client.get("/admin/procuratorates/").get_data(as_text=True)
    assert list_count(html) == 97
    assert rows(html) == 97
    for text in ("检察院", "层级", "上级院", "省级院", "市级院", "基层院", "共 97 条", "每页 100 条"):
        assert text in html


def test_search_and_filters_narrow_the_procuratorates(demo_app, demo_client):
    with demo_app.app_context():
        city = db.session.scalars(select(Procuratorate).where(Procuratorate.level == "city").order_by(Procuratorate.code)).first()
        children = db.session.scalar(select(func.count()).where(Procuratorate.parent_id == city.id))
        counties = db.session.scalar(select(func.count()).where(Procuratorate.level == "county"))
    html = demo_client.get("/admin/procuratorates/", query_string={"search": city.code}).get_data(as_text=True)
    assert city.name in html and list_count(html) >= 1
    # Filters: 0 = level, 1 = parent (see ProcuratorateView.column_filters).
    html = demo_client.get("/admin/procuratorates/", query_string={"flt0_0": "county"}).get_data(as_text=True)
    assert list_count(html) == counties
    html = demo_client.get("/admin/procuratorates/", query_string={"flt0_1": str(city.id)}).get_data(as_text=True)
    assert list_count(html) == children
    html = demo_client.get("/admin/procuratorates/", query_string={"flt0_1": "99999999999"}).get_data(as_text=True)
    assert list_count(html) == 97  # an impossible id is ignored with a message, not a database error


def test_english_switch_shows_english_labels_and_back(demo_client):
    response = demo_client.get("/admin/lang/en/", query_string={"next": "/admin/procuratorates/"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/procuratorates/"
    html = demo_client.get("/admin/procuratorates/").get_data(as_text=True)
    for text in ("Procuratorates", "Parent procuratorate", "County-level", "Level", "97 rows in all", "Sign out"):
        assert text in html
    assert "基层院" not in html and "层级" not in html
    demo_client.get("/admin/lang/zh/")
    assert "基层院" in demo_client.get("/admin/procuratorates/").get_data(as_text=True)


def test_language_switch_stays_on_site_and_ignores_unknown_codes(demo_client):
    assert demo_client.get("/admin/lang/zh/?next=https://evil.example/").headers["Location"] == "/admin/"
    assert demo_client.get("/admin/lang/xx/").status_code == 404
    assert "基层院" in demo_client.get("/admin/procuratorates/").get_data(as_text=True)


def test_pages_load_no_asset_from_another_site(demo_app, demo_client):
    anonymous = demo_app.test_client()
    for client, page in ((anonymous, "/admin/login/"), (demo_client, "/admin/"), (demo_client, "/admin/events/")):
        html = client.get(page).get_data(as_text=True)
        assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
        assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
        # Every address the page names (links too, and url()/@import in inline styles) stays on this site. The
        # page's random tokens (nonce, CSRF) are not addresses: a token may well contain "cdn".
        named = re.findall(r'(?:src|href|action)\s*=\s*["\']([^"\']*)', html)
        named += re.findall(r'(?:url\(|@import\s+)\s*["\']?([^"\')\s;]+)', html)
        foreign = [url for url in named if re.match(r"(?:[a-z][a-z0-9+.-]*:)?//", url, re.I)
                   or "cdn" in url.lower() or "googleapis" in url.lower()]
        assert named and not foreign, foreign


def test_every_list_page_renders_in_both_languages(demo_client):
    pages = ("/admin/", "/admin/procuratorates/", "/admin/departments/", "/admin/prosecutors/",
             "/admin/dictionary/", "/admin/datasets/", "/admin/events/", "/admin/users/")
    for lang in ("en", "zh"):
        demo_client.get(f"/admin/lang/{lang}/")
        for page in pages:
            assert demo_client.get(page).status_code == 200, (lang, page)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/procuratorates/new/"),
        ("get", "/admin/procuratorates/edit/?id=1"),
        ("get", "/admin/procuratorates/details/?id=1"),
        ("post", "/admin/procuratorates/delete/"),
        ("post", "/admin/procuratorates/action/"),
        ("get", "/admin/events/export/csv/"),
        ("get", "/admin/events/new/"),
        ("post", "/admin/users/delete/"),
    ],
)
def test_nothing_can_be_created_edited_or_deleted(demo_client, method, path):
    token = csrf_token(demo_client.get("/admin/").get_data(as_text=True))
    kwargs = {"data": {"csrf_token": token, "id": "1"}} if method == "post" else {}
    assert getattr(demo_client, method)(path, **kwargs).status_code == 404


def test_list_pages_offer_no_create_or_edit_links(demo_client):
    html = demo_client.get("/admin/procuratorates/").get_data(as_text=True)
    assert "/admin/procuratorates/new/" not in html and "/edit/" not in html and "/delete/" not in html


def test_events_list_newest_first_with_dictionary_labels(demo_app, demo_client):
    with demo_app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Event))
        newest = db.session.scalar(select(func.max(Event.id)))
    html = demo_client.get("/admin/events/").get_data(as_text=True)
    assert list_count(html) == total
    assert rows(html) == 50
    first_id = re.search(r'<td class="col-id">\s*(\d+)', html).group(1)
    assert int(first_id) == newest
    assert re.search(r"[\u4e00-\u9fff]+: ", html), "attributes are shown as 'label: value'"
    huge = demo_client.get("/admin/events/?page_size=1000000").get_data(as_text=True)
    assert rows(huge) == 50, "a page size outside page_size_options falls back to the default"


def test_events_filters_and_search(demo_app, demo_client):
    with demo_app.app_context():
        sample = db.session.scalars(select(Event).where(Event.case_id.is_not(None)).order_by(Event.id)).first()
        by_type = db.session.scalar(select(func.count()).where(Event.event_type == sample.event_type))
        by_org = db.session.scalar(select(func.count()).where(Event.procuratorate_id == sample.procuratorate_id))
        by_case = db.session.scalar(select(func.count()).where(Event.case_id == sample.case_id))
        by_dataset = db.session.scalar(select(func.count()).where(Event.dataset_id == sample.dataset_id))
        in_range = db.session.scalar(select(func.count()).where(Event.occurred_on == sample.occurred_on))
        type_name = db.session.get(EventType, sample.event_type).name

    def count(**query):
        html = demo_client.get("/admin/events/", query_string=query).get_data(as_text=True)
        return list_count(html), html

    # Filters: 0 = type, 1 = procuratorate, 2 = dataset, 3 = date range (see EventView.column_filters).
    n, html = count(flt0_0=sample.event_type)
    assert n == by_type and type_name in html
    assert count(flt0_1=str(sample.procuratorate_id))[0] == by_org
    assert count(flt0_2=str(sample.dataset_id))[0] == by_dataset
    day = sample.occurred_on.isoformat()
    assert count(flt0_3=f"{day} to {day}")[0] == in_range
    assert count(flt0_0=sample.event_type, flt1_1=str(sample.procuratorate_id))[0] <= min(by_type, by_org)
    assert count(search=sample.case_id)[0] == by_case
    assert count(search=sample.external_id)[0] >= 1
    assert count(search="no-such-case")[0] == 0


def test_events_page_query_count_does_not_grow_with_page_size(demo_app, demo_client):
    demo_client.get("/admin/events/?page_size=20")  # warm up (dictionary, sessions)
    with sql_statements(demo_app) as small:
        assert demo_client.get("/admin/events/?page_size=20").status_code == 200
    with sql_statements(demo_app) as large:
        assert demo_client.get("/admin/events/?page_size=100").status_code == 200
    assert len(small) == len(large) <= 15, "\n".join(large)


def test_dictionary_lists_event_types_with_readable_fields(demo_client):
    html = demo_client.get("/admin/dictionary/").get_data(as_text=True)
    assert list_count(html) == 17
    assert "受理审查起诉案件" in html and "犯罪嫌疑人数" in html and "必填" in html and "1–200" in html


def test_users_view_is_for_administrators_and_never_shows_hashes(app, client):
    add_user(app, "victor", role="viewer")
    add_user(app, "ada", role="admin")
    login(client, "victor", PASSWORD)
    assert client.get("/admin/users/").status_code == 403
    assert "/admin/users/" not in client.get("/admin/").get_data(as_text=True)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    client.post("/admin/logout/", data={"csrf_token": token})
    login(client, "ada", PASSWORD)
    html = client.get("/admin/users/").get_data(as_text=True)
    assert "victor" in html and "查看人员" in html
    assert "scrypt" not in html and "pbkdf2" not in html and "password_hash" not in html


# -- translations ----------------------------------------------------------------------------------------


def test_chinese_catalog_is_complete_and_compiled():
    """Every translatable string of admin/ has Chinese in the committed .mo (see admin/translations/README.md)."""
    root = Path(__file__).resolve().parents[2]
    with open(root / "admin" / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    msgids = {message for _f, _l, message, *_ in extract_from_dir(root / "admin", _relative(method_map), options_map,
                                                                   keywords=keywords)}
    catalog = root / "admin" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    with open(catalog / "messages.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with open(catalog / "messages.mo", "rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert len(msgids) > 40 and not [m for m in msgids if not po.get(m)], "msgids without Chinese in messages.po"
    assert mo == po, "messages.mo is not compiled from messages.po: run pybabel compile"


def _relative(method_map):
    # babel.cfg patterns start at the repository root ("admin/**.py"); extraction walks admin/.
    return [(pattern.removeprefix("admin/"), method) for pattern, method in method_map]


# -- lists scoped by the user's tree ------------------------------------------------------------------------


def _scope_user(demo_app, username: str, role: str, code: str | None) -> None:
    with demo_app.app_context():
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            org = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == code)) if code else None
            create_user(db.session, username, PASSWORD, role=role, procuratorate_id=org)
            db.session.commit()


@pytest.fixture
def tree(demo_app):
    """A county with prosecutors and events, its city, and the ids of both trees."""
    from rulesvc.persistence.models import Prosecutor

    with demo_app.app_context():
        county = db.session.scalars(
            select(Procuratorate).join(Prosecutor, Prosecutor.procuratorate_id == Procuratorate.id)
            .where(Procuratorate.level == "county").order_by(Procuratorate.code)).first()
        city = db.session.get(Procuratorate, county.parent_id)
        city_ids = {city.id, *db.session.scalars(select(Procuratorate.id).where(Procuratorate.parent_id == city.id))}
        other = db.session.scalars(select(Prosecutor).where(Prosecutor.procuratorate_id.not_in(city_ids))
                                   .order_by(Prosecutor.id)).first()
        own = db.session.scalars(select(Prosecutor).where(Prosecutor.procuratorate_id == county.id)
                                 .order_by(Prosecutor.id)).first()
        return {"county": county.code, "county_id": county.id, "city": city.code, "city_ids": city_ids,
                "other_prosecutor": (other.id, other.code), "own_prosecutor": (own.id, own.code)}


def _counts(demo_app, ids: set[int] | None) -> dict[str, int]:
    from rulesvc.persistence.models import Dataset, Department, Prosecutor

    def count(model, column):
        stmt = select(func.count()).select_from(model)
        return db.session.scalar(stmt if ids is None else stmt.where(column.in_(ids)))

    with demo_app.app_context():
        return {
            "procuratorates": count(Procuratorate, Procuratorate.id),
            "departments": count(Department, Department.procuratorate_id),
            "prosecutors": count(Prosecutor, Prosecutor.procuratorate_id),
            "events": count(Event, Event.procuratorate_id),
            "datasets": db.session.scalar(select(func.count()).select_from(Dataset)),
        }


def _client_for(demo_app, username: str):
    client = demo_app.test_client()
    assert login(client, username, PASSWORD).status_code == 302
    return client


def _seen(client) -> dict[str, int]:
    return {name: list_count(client.get(f"/admin/{name}/").get_data(as_text=True))
            for name in ("procuratorates", "departments", "prosecutors", "events", "datasets", "dictionary")}


def test_a_county_viewer_sees_their_county_only(demo_app, tree):
    _scope_user(demo_app, "county_viewer", "viewer", tree["county"])
    client = _client_for(demo_app, "county_viewer")
    expected = _counts(demo_app, {tree["county_id"]})
    seen = _seen(client)
    assert seen == {**expected, "dictionary": 17}, seen  # the data dictionary is the province's
    assert 0 < seen["prosecutors"] < _counts(demo_app, None)["prosecutors"]
    html = client.get("/admin/").get_data(as_text=True)
    assert 'id="count-procuratorates">1<' in html
    assert f'id="count-events">{expected["events"]:,}<' in html
    # Another county's prosecutor: not found, by search, by filter, by id.
    other_id, other_code = tree["other_prosecutor"]
    assert list_count(client.get("/admin/prosecutors/", query_string={"search": other_code}).get_data(as_text=True)) == 0
    assert list_count(client.get("/admin/prosecutors/", query_string={"search": tree["own_prosecutor"][1]})
                      .get_data(as_text=True)) == 1
    with demo_app.app_context():
        other_org = db.session.scalar(select(Procuratorate.id).where(Procuratorate.id.not_in(tree["city_ids"])))
    assert list_count(client.get("/admin/events/", query_string={"flt0_1": str(other_org)}).get_data(as_text=True)) == 0
    assert client.get(f"/admin/prosecutors/details/?id={other_id}").status_code == 404
    assert client.get("/admin/users/").status_code == 403
    # The filter menus offer only their own procuratorate.
    html = client.get("/admin/events/").get_data(as_text=True)
    with demo_app.app_context():
        names = dict(db.session.execute(select(Procuratorate.id, Procuratorate.name)).all())
    assert names[tree["county_id"]] in html and names[other_org] not in html


def test_a_city_designer_sees_the_city_and_its_counties(demo_app, tree):
    _scope_user(demo_app, "city_designer", "designer", tree["city"])
    seen = _seen(_client_for(demo_app, "city_designer"))
    expected = _counts(demo_app, tree["city_ids"])
    assert seen == {**expected, "dictionary": 17}, seen
    assert seen["procuratorates"] == len(tree["city_ids"]) > 1


def test_the_province_admin_sees_everything(demo_app, demo_client):
    assert _seen(demo_client) == {**_counts(demo_app, None), "dictionary": 17}


def test_a_city_admin_sees_the_accounts_of_the_city_tree_only(demo_app, tree):
    _scope_user(demo_app, "county_viewer", "viewer", tree["county"])
    _scope_user(demo_app, "city_admin", "admin", tree["city"])
    html = _client_for(demo_app, "city_admin").get("/admin/users/").get_data(as_text=True)
    assert "county_viewer" in html and "city_admin" in html
    assert UI_TESTER not in html  # the province's administrator (no procuratorate) is outside the city


def test_someone_without_a_procuratorate_sees_nothing(demo_app):
    """A designer created before procuratorates were required (the service now refuses it)."""
    with demo_app.app_context():
        if db.session.scalar(select(User.id).where(User.username == "orphan")) is None:
            from rulesvc.services.passwords import hash_password

            db.session.add(User(username="orphan", password_hash=hash_password(PASSWORD), role="designer"))
            db.session.commit()
    seen = _seen(_client_for(demo_app, "orphan"))
    assert seen == {"procuratorates": 0, "departments": 0, "prosecutors": 0, "events": 0,
                    "datasets": seen["datasets"], "dictionary": 17}
    with demo_app.app_context():
        from rulesvc.persistence.models import Dataset

        reference = db.session.scalar(select(func.count()).where(Dataset.kind == "reference"))
    assert seen["datasets"] == reference  # the directory's imports only, never an events dataset


def test_get_one_is_scoped_too(demo_app, tree):
    """Flask-Admin's record views are switched off (404); their loader is scoped all the same."""
    from flask_login import login_user

    _scope_user(demo_app, "county_viewer", "viewer", tree["county"])
    with demo_app.test_request_context("/admin/prosecutors/"):
        login_user(db.session.scalar(select(User).where(User.username == "county_viewer")))
        (view,) = [v for v in demo_app.extensions["admin"][0]._views if v.endpoint == "admin_prosecutors"]
        assert view.get_one(str(tree["own_prosecutor"][0])) is not None
        assert view.get_one(str(tree["other_prosecutor"][0])) is None
        assert view.get_one("999999999") is None
