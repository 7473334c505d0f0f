"""``rulesvc rules import``: each refusal names the file and the field it is about, and writes nothing —
a cycle of parents, two versions in force on the same dates, a parent whose content hash differs from
the one recorded, a parent that was never published, a file that is not UTF-8, a scheme code that is
not its folder's name, a date left unquoted in a document."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulesvc.errors import InvalidInput
from tests.integration.test_rulefiles import (
    LOCAL,
    TEMPLATE,
    add_orgs,
    build_rules,
    counts,
    export,
    run_import,
    version_path,
)


@pytest.fixture
def exported(app, other_app, tmp_path) -> Path:
    """The rules of ``build_rules`` exported to a folder; ``other_app`` has the procuratorates only."""
    build_rules(app)
    export(app, tmp_path / "a")
    add_orgs(other_app)
    return tmp_path / "a"


def read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def refused(app, directory: Path) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    """The import's errors by file, and by file and field; nothing was written."""
    before = counts(app)
    with pytest.raises(InvalidInput) as info:
        run_import(app, directory)
    assert counts(app) == before
    return info.value.errors, info.value.details["fields"]


def test_a_cycle_of_parents_is_refused(other_app, exported):
    # v1 of the localization now says it localizes its own v3, and v3 (a copy of v1) localizes v1.
    v1 = version_path(exported, "910101", LOCAL, 1)
    v3 = v1.with_name("v0003.yaml")
    data = read(v1)
    write(v3, {**data, "number": 3, "status": "approved", "effective_from": None,
               "parent": {"scheme": LOCAL, "number": 1, "content_hash": data["content_hash"]}})
    write(v1, {**data, "parent": {"scheme": LOCAL, "number": 3, "content_hash": data["content_hash"]}})
    errors, fields = refused(other_app, exported)
    cycle = [f for f in (str(v1), str(v3)) if any("the parents form a cycle" in m for m in errors.get(f, []))]
    assert cycle
    assert any("cycle" in m for m in fields[cycle[0]]["parent"])


def test_two_versions_in_force_on_the_same_dates_are_refused(other_app, exported):
    v1 = version_path(exported, "910000", TEMPLATE, 1)  # active from 2021-01-01, open-ended
    v2 = v1.with_name("v0002.yaml")
    write(v2, {**read(v1), "number": 2, "effective_from": "2021-06-01"})
    errors, fields = refused(other_app, exported)
    assert list(errors) == [str(v2)]
    assert "in force on the same dates as" in errors[str(v2)][0] and str(v1) in errors[str(v2)][0]
    assert fields[str(v2)]["effective_from"] == errors[str(v2)]


def test_a_parent_whose_content_hash_differs_from_the_recorded_one_is_refused(other_app, exported):
    v1 = version_path(exported, "910101", LOCAL, 1)
    data = read(v1)
    write(v1, {**data, "parent": {**data["parent"], "content_hash": "0" * 64}})
    errors, fields = refused(other_app, exported)
    assert list(errors) == [str(v1)]
    assert "the parent's content hash differs from the one recorded" in errors[str(v1)][0]
    assert "0" * 64 in fields[str(v1)]["parent.content_hash"][0]


def test_a_parent_that_was_never_published_is_refused(other_app, exported):
    # v1 (active) claims to localize v2, a draft.
    v1 = version_path(exported, "910101", LOCAL, 1)
    write(v1, {**read(v1), "parent": {"scheme": LOCAL, "number": 2, "content_hash": None}})
    errors, fields = refused(other_app, exported)
    assert list(errors) == [str(v1)]
    assert "the parent must be approved, active or retired" in errors[str(v1)][0]
    assert "draft" in fields[str(v1)]["parent"][0]


def test_a_file_that_is_not_utf8_is_refused(other_app, exported):
    v2 = version_path(exported, "910101", LOCAL, 2)
    v2.write_bytes(v2.read_text(encoding="utf-8").encode("gb18030"))  # the Chinese text in another encoding
    errors, fields = refused(other_app, exported)
    assert errors == {str(v2): ["文件不是 UTF-8 编码 (the file is not UTF-8)"]}
    assert str(v2) not in fields  # the whole file, no field in it


def test_a_scheme_code_that_is_not_its_folders_name_is_refused(other_app, exported, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(exported, moved)
    scheme_file = exported / "schemes" / "910101" / LOCAL / "scheme.yaml"
    write(scheme_file, {**read(scheme_file), "code": "SFS-OTHER"})
    errors, fields = refused(other_app, exported)
    assert list(errors) == [str(scheme_file)]
    assert "code differs from the folder name" in errors[str(scheme_file)][0]
    assert list(fields[str(scheme_file)]) == ["code"]

    # A procuratorate that is not the parent folder's name, likewise.
    shutil.move(moved / "schemes" / "910101" / LOCAL, moved / "schemes" / "910100" / LOCAL)
    moved_file = moved / "schemes" / "910100" / LOCAL / "scheme.yaml"
    errors, fields = refused(other_app, moved)
    assert list(errors) == [str(moved_file)] and list(fields[str(moved_file)]) == ["procuratorate"]


def test_a_date_in_a_document_must_be_quoted(other_app, exported):
    v2 = version_path(exported, "910101", LOCAL, 2)
    text = v2.read_text(encoding="utf-8")
    data = read(v2)
    data["document"]["overrides"][0]["value"] = "DATE"
    write(v2, data)
    v2.write_text(v2.read_text(encoding="utf-8").replace("value: DATE", "value: 2021-01-01"), encoding="utf-8")
    assert v2.read_text(encoding="utf-8") != text
    errors, fields = refused(other_app, exported)
    assert list(errors) == [str(v2)]
    assert "not JSON data: quote dates" in errors[str(v2)][0]
    assert list(fields[str(v2)]) == ["document.overrides[0].value"]
