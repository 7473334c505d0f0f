"""Property-based conformance of the whole API to its own OpenAPI document (schemathesis).

Every documented operation gets generated valid and invalid requests against the demo province; each
response must match the documented status codes, headers and schemas, and none may be a 5xx. New
blueprints are covered without touching this file. Requests carry a read-only API key, so the
operations that need a caller are exercised past authentication. Skipped with the reason when
schemathesis is absent.

Not ``schemathesis.pytest.from_fixture``: with pytest 9.2 it fails (``Function`` has no ``_nodeid``).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed (pip install schemathesis==4.32.5)")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is a regression, not luck
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _schema_accepts_valid_data(ctx, response, case: schemathesis.Case) -> None:
    """Operations that need a caller also validate in their services (an unknown procuratorate, a document
    that fails lint: 422 ``invalid_input``), which schemathesis's ``positive_data_acceptance`` cannot tell
    from over-strict request validation. What must never happen is the request schema itself refusing
    schema-valid data: a 422 ``unprocessable_entity``."""
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 422:
        body = response.json()
        assert body["status"] != "unprocessable_entity", f"schema-valid request rejected: {body['errors']}"


def _fuzz(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, headers: dict[str, str]) -> None:
    secured = bool(operation.definition.raw.get("security"))

    @given(case=operation.as_strategy(generation_mode=mode))
    @FUZZ_SETTINGS
    def check(case: schemathesis.Case) -> None:
        if secured:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[_schema_accepts_valid_data])
        else:
            case.call_and_validate(headers=headers)

    check()


def _read_only_key(app) -> str:
    """An API key that may read and see the audit log of the whole demo province. No edits: the fuzzer's
    requests that change state are refused, so the shared demo database gains only this key (and the audit
    record of its creation)."""
    from sqlalchemy import select

    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.apikeys import create_key

    with app.app_context():
        province = db.session.scalar(select(Procuratorate.code).where(Procuratorate.parent_id.is_(None)))
        _, token = create_key(db.session, system_actor("tests"), name="schemathesis", procuratorates=[province],
                              permissions=["read", "audit"])
        db.session.commit()
    return token


def test_api_conforms_to_its_openapi_document(demo_app):
    schema = schemathesis.openapi.from_wsgi("/api/docs/openapi.json", demo_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3
    headers = {"Authorization": f"Bearer {_read_only_key(demo_app)}"}
    for operation in operations:
        _fuzz(operation, schemathesis.GenerationMode.POSITIVE, headers)
        if any(True for _ in operation.iter_parameters()):  # nothing to get wrong without parameters
            _fuzz(operation, schemathesis.GenerationMode.NEGATIVE, headers)
