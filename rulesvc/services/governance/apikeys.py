"""API keys for other systems: ``rsk_<prefix>_<secret>``, shown once, stored as a sha256.

A key is scoped to procuratorates (and those below them) and to permissions (a subset of
:data:`~rulesvc.services.governance.access.KEY_PERMISSIONS`). Keys are random (256 bits), so a
plain sha256 is the right store: nothing to brute-force, and a lookup by prefix stays cheap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.persistence.models import (
    ROLE_LABELS,
    ApiKey,
    Procuratorate,
    User,
    as_utc,
    key_person_ref,
    utcnow,
)
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import (
    ACTION_LABELS,
    ACTION_LABELS_EN,
    KEY_PERMISSIONS,
    ROLE_ACTIONS,
    Actor,
    actor_for_scope,
    require,
    tree_of,
)

PREFIX = "rsk_"
LAST_USED_GRAIN = dt.timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, actor: Actor, *, name: str, procuratorates: Sequence[str], permissions: Sequence[str],
               expires_at: dt.datetime | None = None, owner: str | None = None) -> tuple[ApiKey, str]:
    """A new key; returns it and the token (the only time the token exists in clear).

    ``owner`` (a user name) is the person the key acts for: four eyes treats their key and their signed-in
    session as one person. A key without an owner is a named system, and may not *review* (approving is
    a person's act) — nor may one whose owner could not review themselves."""
    errors: dict[str, list[Any]] = {}
    if not (name or "").strip() or len(name) > 100:
        errors["name"] = ["1–100 个字符 (1 to 100 characters)"]
    bad = sorted(set(permissions) - set(KEY_PERMISSIONS))
    if not permissions:
        errors["permissions"] = [msg("key.permissions_missing")]
    elif bad:
        errors["permissions"] = [msg("key.permissions_unknown", bad="、".join(bad), choices="、".join(KEY_PERMISSIONS))]
    orgs = list(session.scalars(select(Procuratorate).where(Procuratorate.code.in_(list(procuratorates)))))
    missing = sorted(set(procuratorates) - {o.code for o in orgs})
    if not procuratorates:
        errors["procuratorates"] = [msg("key.procuratorates_missing")]
    elif missing:
        errors["procuratorates"] = [msg("key.procuratorates_unknown", codes="、".join(missing))]
    person = None
    if owner:
        person = session.scalar(select(User).where(User.username == owner))
        if person is None or not person.is_active:
            errors["owner"] = [msg("key.owner_unknown", username=owner)]
    if "review" in permissions and person is None and "owner" not in errors:
        errors["owner"] = [msg("key.review_needs_owner")]
    if person is not None and not actor.ref.startswith("system:") and actor.person != person.person_ref:
        # Four eyes compares people: a key that acts as someone is theirs — an administrator minting a key owned
        # by a reviewer could approve their own draft with it (audit finding). The operator at the server's
        # command line (trusted, as for every other command) issues people's keys.
        errors["owner"] = [msg("key.owner_not_self", username=owner)]
    if person is not None and "owner" not in errors:
        # A key acts for its owner: it may not do what their role may not (a designer's key does not approve),
        # nor outside their tree. (Checked again at each use: a role can change after the key was made.)
        beyond = sorted(set(permissions) & set(KEY_PERMISSIONS) - ROLE_ACTIONS.get(person.role, frozenset()))
        if beyond:
            errors.setdefault("permissions", []).append(msg(
                "key.beyond_owner", username=owner, role=ROLE_LABELS.get(person.role, person.role), role_en=person.role,
                actions="、".join(ACTION_LABELS[a] for a in beyond), actions_en=", ".join(ACTION_LABELS_EN[a] for a in beyond)))
        if person.procuratorate_id is not None:
            tree = tree_of(session).below([person.procuratorate_id])
            outside = sorted(o.code for o in orgs if o.id not in tree)
            if outside:
                errors["procuratorates"] = [msg("key.outside_owner", codes="、".join(outside), username=owner)]
    if permissions and "read" not in permissions:
        errors.setdefault("permissions", []).append(msg("key.read_required"))
    if errors:
        raise InvalidInput(msg("key.invalid"), errors=errors)
    for o in orgs:
        require(actor, "manage_keys", o.id, what=Words(f"检察院 {o.code}", f"Procuratorate {o.code}"))
    prefix = secrets.token_hex(4)
    while session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)
    token = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name.strip(), prefix=prefix, key_hash=_hash(token), procuratorate_ids=sorted(o.id for o in orgs),
                 permissions=sorted(set(permissions)), created_by=actor.name, created_by_person=actor.person[:40],
                 expires_at=expires_at,
                 owner_id=person.id if person is not None else None)
    session.add(key)
    session.flush()
    audit.record(session, actor, "apikey.create", procuratorate_id=orgs[0].id,
                 summary=f"新建 API 密钥 {key.name}（{prefix}…）", summary_en=f"Created API key {key.name} ({prefix}…)",
                 detail={
                     "key_id": key.id, "procuratorates": sorted(o.code for o in orgs), "permissions": key.permissions,
                     "owner": owner or None})
    return key, token


def revoke_key(session: Session, actor: Actor, prefix: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound(msg("not_found.key", prefix=prefix[:20]))
    for pid in key.procuratorate_ids:
        require(actor, "manage_keys", pid, what=Words("该 API 密钥", "The API key"))
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, actor, "apikey.revoke", procuratorate_id=key.procuratorate_ids[0],
                     summary=f"吊销 API 密钥 {key.name}（{prefix}…）", summary_en=f"Revoked API key {key.name} ({prefix}…)",
                     detail={"key_id": key.id})
    session.flush()
    return key


def _touch(session: Session, key_id: int, now: dt.datetime) -> None:
    """Note when a key was last used, in a short transaction of its own: the request's own transaction
    stays a read (a score request must not hold SQLite's write lock for as long as it computes)."""
    engine: Engine = session.get_bind().engine
    with engine.begin() as conn:
        conn.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


@functools.cache
def _authentication_by_prefix() -> Any:
    """Built once: every API request looks its key up this way, and building a statement costs more
    than running it. The columns authentication reads, with the owner's in the same row (not the ORM
    objects: a request only reads them)."""
    return (select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.procuratorate_ids, ApiKey.permissions,
                   ApiKey.last_used_at, ApiKey.expires_at, ApiKey.revoked_at, ApiKey.owner_id,
                   ApiKey.created_by_person, User.is_active, User.username, User.role, User.procuratorate_id)
            .outerjoin(User, User.id == ApiKey.owner_id).where(ApiKey.prefix == bindparam("prefix")))


def actor_for_token(session: Session, token: str, *, ip: str = "", client: str = "") -> Actor | None:
    """The actor of a valid, unrevoked, unexpired key; None otherwise (the caller answers 401)."""
    if not token.startswith(PREFIX) or token.count("_") < 2 or len(token) > 200:
        return None
    prefix = token[len(PREFIX):].split("_", 1)[0]
    # Core, on the session's connection (same transaction): the ORM's layer costs more than the query.
    key = session.connection().execute(_authentication_by_prefix(), {"prefix": prefix}).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    now = utcnow()
    expires = as_utc(key.expires_at) if key.expires_at is not None else None
    if key.revoked_at is not None or (expires is not None and expires <= now):
        return None
    if key.owner_id is not None and not key.is_active:  # a deactivated person's keys stop with them
        return None
    last = as_utc(key.last_used_at) if key.last_used_at is not None else None
    if last is None or now - last > LAST_USED_GRAIN:  # a write a minute at most, not one per request
        _touch(session, key.id, now)
    name = f"API 密钥 {key.name}" + (f"（{key.username}）" if key.owner_id is not None else "")
    name_en = f"API key {key.name}" + (f" ({key.username})" if key.owner_id is not None else "")
    actor = actor_for_scope(session, f"key:{key.id}", name, key.permissions, key.procuratorate_ids,
                            ip=ip, client=client, person=key_person_ref(key.id, key.owner_id), name_en=name_en)
    if key.owner_id is None:
        # A named system, but made by someone: what it writes is theirs too (four eyes, contributors.add).
        if key.created_by_person:
            return dataclasses.replace(actor, extra={**actor.extra, "key_creator": key.created_by_person})
        return actor
    # A person's key does no more than the person may: their role's actions, within their tree.
    actions = actor.actions & ROLE_ACTIONS.get(key.role, frozenset())
    scope = actor.scope
    if key.procuratorate_id is not None:
        own = tree_of(session).below([key.procuratorate_id])
        scope = own if scope is None else scope & own
    elif key.role != "admin":
        scope = frozenset()
    return dataclasses.replace(actor, actions=actions, scope=scope)
