"""The schemathesis conformance run of :mod:`tests.integration.test_api_schemathesis` on PostgreSQL — its own file,
so that ``make test``'s workers (a file at a time each) run it beside the SQLite run rather than after it.
Skipped with the reason when no PostgreSQL server answers."""

from __future__ import annotations

import pytest

from tests.integration.test_api_schemathesis import test_api_conforms_to_its_openapi_document as conforms

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]


def test_api_conforms_to_its_openapi_document_on_postgresql(app, db_kind, pg_server, capsys, monkeypatch):
    conforms(app, db_kind, pg_server, capsys, monkeypatch)
