"""The API frame: OpenAPI and its offline viewers, the one error envelope, health, the directory."""

from __future__ import annotations

import json
import re
import time
import uuid
from html.parser import HTMLParser

import pytest
from flask import abort
from flask_smorest import Blueprint
from sqlalchemy import create_engine

import rulesvc.api
from rulesvc import create_app
from rulesvc.api.health import check_health
from rulesvc.errors import Conflict, ImportRejected, InvalidInput, NotFound, PermissionDenied, RowError
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate

ENVELOPE_KEYS = {"code", "status", "error_code", "message", "errors"}


def assert_envelope(response, code: int, status: str) -> dict:
    assert response.status_code == code
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert ENVELOPE_KEYS <= set(body) <= ENVELOPE_KEYS | {"field_codes", "current"}
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- OpenAPI document and documentation pages -------------------------------------------------------


class _AssetLinks(HTMLParser):
    """Collects the URLs a page loads (script src, link href, img src)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def test_openapi_document_is_json_and_lists_the_resources(client):
    response = client.get("/api/docs/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["version"] == "v1"
    assert "检察官" in spec["info"]["title"] and "Prosecutor" in spec["info"]["title"]
    assert {"/api/v1/health", "/api/v1/procuratorates", "/api/v1/procuratorates/{code}"} <= set(spec["paths"])
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == ENVELOPE_KEYS | {"field_codes"}
    list_op = spec["paths"]["/api/v1/procuratorates"]["get"]
    assert "X-Pagination" in list_op["responses"]["200"]["headers"]
    assert {p["name"] for p in list_op["parameters"]} >= {"level", "parent", "page", "page_size"}


@pytest.mark.parametrize("page", ["/api/docs/swagger", "/api/docs/redoc"])
def test_docs_page_loads_only_local_assets(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "http" not in csp
    links = _AssetLinks()
    links.feed(html)
    scripts = [u for u in links.urls if u.endswith(".js")]
    assert scripts, "the page loads its viewer"
    for url in links.urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/api/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 100, url
        asset.close()


def test_swagger_ui_asks_for_no_online_validator(client):
    html = client.get("/api/docs/swagger").get_data(as_text=True)
    config = json.loads(re.search(r'data-config="([^"]*)"', html).group(1).replace("&#34;", '"'))
    assert config["validatorUrl"] is None


# --- the error envelope -------------------------------------------------------------------------------


def test_unknown_api_path_gives_the_json_envelope(client):
    body = assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert body["errors"] == {}


def test_wrong_method_keeps_allow_header_and_gives_the_envelope(client):
    response = client.post("/api/v1/health")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/nope", "/admin/nope"])
def test_pages_outside_the_api_keep_html_errors(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.get_json(silent=True) is None


def test_unknown_procuratorate_is_a_domain_not_found(client):
    body = assert_envelope(client.get("/api/v1/procuratorates/999999"), 404, "not_found")
    assert "999999" in body["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=martian", "level"),
        ("parent=abc", "parent"),
        ("page=0", "page"),
        ("page_size=100000", "page_size"),
        ("page=two", "page"),
    ],
)
def test_invalid_query_parameters_give_422_with_field_errors(client, query, field):
    body = assert_envelope(client.get(f"/api/v1/procuratorates?{query}"), 422, "unprocessable_entity")
    assert list(body["errors"]) == ["query"]
    assert field in body["errors"]["query"]
    assert all(isinstance(m, str) for m in body["errors"]["query"][field])


# A blueprint that exists only in these tests, added to the registry of a separate app: it proves that
# adding a module to BLUEPRINTS mounts, documents and CSRF-exempts it, and lets us raise anything.
probe = Blueprint("frame_probe", __name__, url_prefix="/frame-probe", description="test only")

DOMAIN_ERRORS = {
    "not_found": (NotFound("没有 (none)"), 404),
    "conflict": (Conflict("版本冲突 (stale version)"), 409),
    "forbidden": (PermissionDenied("无权 (not allowed)"), 403),
    "invalid_input": (InvalidInput("无效 (invalid)", errors={"weight": ["must be positive"]}), 422),
    "import_rejected": (ImportRejected(row_errors=[RowError(3, "date", "日期无效", "bad date", "x")], source="a.csv"), 400),
}


@probe.route("/domain/<kind>")
def raise_domain(kind: str):
    raise DOMAIN_ERRORS[kind][0]


@probe.route("/boom")
def boom():
    raise RuntimeError("secret-internal-detail")


@probe.route("/teapot")
def teapot():
    abort(418)


@probe.route("/echo", methods=["POST"])
@probe.response(200)
def echo():
    return {"ok": True}


@pytest.fixture(scope="module")
def probe_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("probe-instance")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RULESVC_INSTANCE_PATH", str(instance))
        mp.setattr(rulesvc.api, "BLUEPRINTS", (*rulesvc.api.BLUEPRINTS, probe))
        app = create_app(
            {
                "TESTING": True,
                "PROPAGATE_EXCEPTIONS": False,  # answer unexpected errors as production does
                "DATABASE_URL": f"sqlite:///{instance / 'probe.db'}",
                "SECRET_KEY": "probe-" + uuid.uuid4().hex,
                "WTF_CSRF_ENABLED": True,
                "REDIS_URL": None,
            }
        )

    @app.get("/outside/domain-not-found")
    def outside():
        raise NotFound("无 (none)")

    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("kind", sorted(DOMAIN_ERRORS))
def test_domain_errors_map_to_their_status(probe_app, kind):
    error, status = DOMAIN_ERRORS[kind]
    body = assert_envelope(probe_app.test_client().get(f"/api/v1/frame-probe/domain/{kind}"), status, kind)
    assert body["message"] == error.message
    assert body["errors"] == (error.errors or {})


def test_import_rejection_lists_the_bad_rows(probe_app):
    body = probe_app.test_client().get("/api/v1/frame-probe/domain/import_rejected").get_json()
    assert body["errors"] == [
        {"line": 3, "column": "date", "message": "日期无效", "message_en": "bad date", "value": "x"}
    ]


def test_domain_error_outside_the_api_is_an_html_page(probe_app):
    response = probe_app.test_client().get("/outside/domain-not-found")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_unexpected_exception_is_a_logged_500_without_internals(probe_app, caplog):
    response = probe_app.test_client().get("/api/v1/frame-probe/boom")
    body = assert_envelope(response, 500, "internal_server_error")
    assert "secret-internal-detail" not in response.get_data(as_text=True)
    assert body["errors"] == {}
    logged = [r for r in caplog.records if r.exc_info and "secret-internal-detail" in str(r.exc_info[1])]
    assert logged, "the traceback is logged"


def test_other_http_errors_use_the_envelope(probe_app):
    assert_envelope(probe_app.test_client().get("/api/v1/frame-probe/teapot"), 418, "im_a_teapot")


def test_registered_blueprint_is_documented_and_exempt_from_csrf(probe_app):
    client = probe_app.test_client()
    assert client.post("/api/v1/frame-probe/echo").get_json() == {"ok": True}  # no CSRF token needed
    spec = client.get("/api/docs/openapi.json").get_json()
    assert "/api/v1/frame-probe/echo" in spec["paths"]


# --- health -----------------------------------------------------------------------------------------


def test_health_is_ok_with_database_and_redis(app, client, redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"] == rulesvc.__version__
    assert body["database"]["status"] == "ok"
    assert body["database"]["dialect"] in {"sqlite", "postgresql"}
    assert body["database"]["latency_ms"] >= 0
    assert body["redis"]["status"] == "ok" and body["redis"]["latency_ms"] >= 0


def test_health_without_redis_is_ok_and_says_not_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json()["redis"] == {"status": "not_configured", "latency_ms": None}


def test_health_is_503_when_configured_redis_does_not_answer(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    start = time.monotonic()
    response = client.get("/api/v1/health")
    assert time.monotonic() - start < 3
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"]["status"] == "ok"
    assert body["redis"]["status"] == "unavailable"
    assert body["redis"]["latency_ms"] is None
    assert body["redis"]["reason"]


def test_health_reports_an_unreachable_database():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        report = check_health(engine, None)
    finally:
        engine.dispose()
    assert report["status"] == "unavailable"
    assert report["database"]["status"] == "unavailable"
    assert report["database"]["dialect"] == "postgresql"
    assert report["database"]["reason"]


def test_health_gives_up_on_a_database_that_hangs():
    engine = create_engine("sqlite://", creator=lambda: time.sleep(3))
    start = time.monotonic()
    report = check_health(engine, None, timeout=0.2)
    assert time.monotonic() - start < 1.5
    assert report["database"] == {
        "status": "unavailable", "dialect": "sqlite", "latency_ms": None, "reason": "no answer within 0.2 s"
    }


# --- the procuratorate directory --------------------------------------------------------------------

ORGS = [
    ("910000", "示范省人民检察院", "province", None),
    ("910100", "甲市人民检察院", "city", "910000"),
    ("910200", "乙市人民检察院", "city", "910000"),
    ("910101", "甲市一区人民检察院", "county", "910100"),
    ("910102", "甲市二区人民检察院", "county", "910100"),
    ("910201", "乙市一县人民检察院", "county", "910200"),
]


@pytest.fixture
def directory(app):
    with app.app_context():
        by_code: dict[str, Procuratorate] = {}
        for code, name, level, parent in ORGS:
            by_code[code] = Procuratorate(code=code, name=name, level=level, parent=by_code.get(parent))
            db.session.add(by_code[code])
        db.session.commit()
    return app


def test_directory_lists_every_procuratorate_ordered_by_code(directory, client):
    response = client.get("/api/v1/procuratorates")
    assert response.status_code == 200
    items = response.get_json()
    assert [i["code"] for i in items] == sorted(code for code, *_ in ORGS)
    assert items[0] == {
        "code": "910000", "name": "示范省人民检察院", "level": "province", "level_label": "省级院", "parent_code": None
    }
    assert json.loads(response.headers["X-Pagination"])["total"] == len(ORGS)


def test_directory_filters_by_level_and_parent(directory, client):
    counties = client.get("/api/v1/procuratorates?level=county").get_json()
    assert {i["code"] for i in counties} == {"910101", "910102", "910201"}
    assert {i["level_label"] for i in counties} == {"基层院"}
    children = client.get("/api/v1/procuratorates?parent=910100").get_json()
    assert [i["code"] for i in children] == ["910101", "910102"]
    assert client.get("/api/v1/procuratorates?parent=910100&level=city").get_json() == []
    assert client.get("/api/v1/procuratorates?parent=999999").get_json() == []


def test_directory_paginates_with_the_x_pagination_header(directory, client):
    response = client.get("/api/v1/procuratorates?page=2&page_size=4")
    assert [i["code"] for i in response.get_json()] == ["910200", "910201"]
    meta = json.loads(response.headers["X-Pagination"])
    assert meta == {"total": 6, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1}
    beyond = client.get("/api/v1/procuratorates?page=9&page_size=4")
    assert beyond.status_code == 200 and beyond.get_json() == []


def test_directory_shows_one_procuratorate(directory, client):
    response = client.get("/api/v1/procuratorates/910201")
    assert response.status_code == 200
    assert response.get_json() == {
        "code": "910201", "name": "乙市一县人民检察院", "level": "county", "level_label": "基层院",
        "parent_code": "910200",
    }


def test_demo_province_directory_has_one_province_and_97_procuratorates(demo_app):
    client = demo_app.test_client()
    response = client.get("/api/v1/procuratorates?page_size=500")
    assert len(response.get_json()) == 97
    assert json.loads(response.headers["X-Pagination"])["total"] == 97
    [province] = client.get("/api/v1/procuratorates?level=province").get_json()
    assert province["parent_code"] is None
    cities = client.get(f"/api/v1/procuratorates?parent={province['code']}").get_json()
    assert cities and {c["level"] for c in cities} == {"city"}


def test_chinese_in_api_responses_is_raw_utf8(app, client):
    from rulesvc.persistence.models import Procuratorate

    with app.app_context():
        db.session.add(Procuratorate(code="910000", name="示范省人民检察院", level="province"))
        db.session.commit()
    body = client.get("/api/v1/procuratorates/910000").get_data()
    assert "示范省人民检察院".encode() in body and b"\\u" not in body


def test_every_error_code_is_listed_with_its_words_without_a_key(client):
    """An integrator met a dozen codes that neither the README nor the OpenAPI named (an audit): the API's docs
    list every code with its message in both languages, and the Error schema points there."""
    from rulesvc.catalogue import MESSAGES

    response = client.get("/api/docs/error-codes.json")
    assert response.status_code == 200 and "max-age" in response.headers["Cache-Control"]
    listed = {c["code"]: c for c in response.get_json()["codes"]}
    assert set(MESSAGES) <= set(listed) and response.get_json()["count"] == len(listed)
    for code in ("auth.required", "auth.invalid_key", "evaluation.batch_who", "history.too_long", "field.repeated",
                 "idempotency.key_used_for", "comparison.not_procuratorate", "inline_events.outside_period"):
        assert listed[code]["zh"] and listed[code]["en"], code
    assert listed["not_found"]["generic"] is True
    spec = client.get("/api/docs/openapi.json").get_json()
    assert "/api/docs/error-codes.json" in spec["components"]["schemas"]["Error"]["properties"]["error_code"]["description"]
    # (and an answer replayed for an Idempotency-Key says so in a header the document declares — also an audit's)
    ok_answer = spec["paths"]["/api/v1/evaluations"]["post"]["responses"]["200"]
    assert ok_answer["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
