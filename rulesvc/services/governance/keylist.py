"""The API keys as ``rulesvc apikeys list`` shows them. (Moved out of the rules-as-files module, where it
did not belong; its place is beside ``apikeys.create_key`` and ``revoke_key``.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.persistence.models import ApiKey, Procuratorate
from rulesvc.services.governance.rulefiles.exporting import iso_time


def list_api_keys(session: Session) -> list[dict[str, Any]]:
    """Every API key, never its hash: prefix, name, scopes (procuratorate codes), permissions, dates."""
    codes = {pid: code for pid, code in session.execute(select(Procuratorate.id, Procuratorate.code))}
    out = []
    for key in session.scalars(select(ApiKey).order_by(ApiKey.id)):
        out.append({
            "prefix": key.prefix, "name": key.name,
            "procuratorates": [codes.get(pid, str(pid)) for pid in key.procuratorate_ids],
            "permissions": list(key.permissions), "created_at": iso_time(key.created_at),
            "created_by": key.created_by, "last_used_at": iso_time(key.last_used_at),
            "expires_at": iso_time(key.expires_at), "revoked_at": iso_time(key.revoked_at),
        })
    return out
