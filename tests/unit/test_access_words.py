"""Permission errors name who and what in the message's own language (an audit read "该 API 密钥 is outside
API 密钥 reader's procuratorates" in English)."""

from __future__ import annotations

import pytest

from rulesvc.catalogue import Words, language
from rulesvc.errors import PermissionDenied
from rulesvc.services.governance.access import Actor, require


def _key_actor() -> Actor:
    return Actor(ref="key:1", name="API 密钥 reader", name_en="API key reader", actions=frozenset({"read", "edit"}),
                 scope=frozenset({1}))


def test_an_object_out_of_scope_is_named_in_each_language():
    with pytest.raises(PermissionDenied) as denied:
        require(_key_actor(), "edit", 2, what=Words("方案 SFS-X", "Scheme SFS-X"))
    with language("en"):
        assert denied.value.message == "Scheme SFS-X is outside API key reader's procuratorates"
    with language("zh"):
        assert denied.value.message == "方案 SFS-X 不属于本院或下级院"
    assert denied.value.error_code == "permission.scope"


def test_a_missing_permission_names_the_actor_in_english():
    with pytest.raises(PermissionDenied) as denied:
        require(_key_actor(), "activate", 1, what=Words("方案 SFS-X", "Scheme SFS-X"))
    with language("en"):
        assert denied.value.message.startswith("API key reader may not ") and "密钥" not in denied.value.message
