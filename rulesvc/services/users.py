"""User accounts: creation with validation, password checks, procuratorates, deactivation, and the first
administrator.

Passwords are stored as werkzeug hashes (scrypt). Nothing here knows Flask: the admin UI, the API and the
CLI call these functions with a SQLAlchemy session and commit (``ensure_initial_admin`` excepted).

**Who belongs where.** A person acts for their procuratorate and those below it
(:func:`rulesvc.services.governance.access.actor_for_user`). An administrator without a procuratorate
acts for the whole province; anyone else without one would see nothing at all, so a designer, reviewer
or viewer **must** be given a procuratorate: :func:`create_user` and :func:`update_user` refuse otherwise
(``user.needs_procuratorate``).

**Ending sessions.** A new password (:func:`set_password`) and deactivation (:func:`deactivate_user`)
end every signed-in session of the user at once (:mod:`rulesvc.services.sessions`). The last active
administrator can be neither deactivated nor given another role, so an installation never locks itself
out.

**Who may manage accounts** (when the caller names an ``actor``, as the admin page and the CLI do):
administrators only — a person with the admin role, or the operator at the server's command line
(a system actor) — else :class:`~rulesvc.errors.PermissionDenied` (``user.admins_only``). An
administrator of a procuratorate manages the accounts of their tree only (their procuratorate and those
below it): an account outside it is not found (``not_found.user``, as if it did not exist), and a
procuratorate outside it cannot be given (``user.outside_tree``); only an administrator of the whole
province (no procuratorate) may manage or create an account without one (``user.province_only``).

**The audit log.** Every change is recorded (``user.create``, ``user.update``, ``user.password``,
``user.deactivate``, ``user.activate``) with who, from where, the account, its procuratorate and what
changed — never a password or its hash. A call without an actor (fixtures, the first administrator at
start-up) is recorded as the system (``系统 (程序调用)``; the first administrator ``系统 (首次启动)``) and
checks nothing. A call that changes
nothing (the same values; activating an active account) records nothing.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from rulesvc.catalogue import Msg, msg
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from rulesvc.persistence.models import ROLE_LABELS, ROLES, Procuratorate, User, utcnow
from rulesvc.services import sessions
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import Actor, system_actor
from rulesvc.services.passwords import check_password, hash_password

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
INITIAL_ADMIN = "admin"
CREDENTIALS_FILE = "admin-credentials.txt"
# Roles that act for the whole province when they have no procuratorate (the others must have one).
PROVINCE_WIDE_ROLES = frozenset({"admin"})
UNSET: Any = object()
# The role names in English, for the audit log's English summaries.
ROLE_LABELS_EN = {"admin": "administrator", "designer": "rule designer", "reviewer": "reviewer", "viewer": "viewer"}
FIELD_LABELS = {"role": ("角色", "role"), "procuratorate": ("所属检察院", "procuratorate"),
                "display_name": ("姓名", "full name")}


# -- who may manage whom ------------------------------------------------------------------------------------


def may_manage_users(actor: Actor) -> bool:
    """Whether ``actor`` may manage accounts at all: an administrator (an active person with the admin role)
    or the operator at the server's command line (a system actor). API keys may not."""
    return actor.may("read") and (actor.role == "admin" or actor.ref.startswith("system:"))


def in_tree(actor: Actor, user: User) -> bool:
    """Whether ``user``'s account is in ``actor``'s tree: their procuratorate or one below it; an account
    without a procuratorate only for an actor of the whole province."""
    if actor.scope is None:
        return True
    return user.procuratorate_id is not None and actor.in_scope(user.procuratorate_id)


def _require_manager(actor: Actor | None) -> None:
    if actor is not None and not may_manage_users(actor):
        raise PermissionDenied(msg("user.admins_only", name=actor.said), errors={"permission": ["manage_users"]})


def _given_problem(actor: Actor | None, procuratorate_id: int | None) -> Msg | None:
    """Whether ``actor`` may give this procuratorate (``None``: none, the whole province)."""
    if actor is None or actor.scope is None:
        return None
    if procuratorate_id is None:
        return msg("user.province_only")
    return None if actor.in_scope(procuratorate_id) else msg("user.outside_tree")


def _recorder(actor: Actor | None) -> Actor:
    return actor if actor is not None else system_actor("程序调用")


def normalise_username(username: str) -> str:
    """Usernames are compared case-insensitively and without surrounding blanks."""
    return (username or "").strip().lower()


def _password_problem(password: str) -> Msg | None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return msg("user.password_short", min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return msg("user.password_long", max=MAX_PASSWORD_LENGTH)
    if password.strip() != password:
        return msg("user.password_blank")
    return None


def _role_problem(role: str) -> Msg | None:
    return None if role in ROLES else msg("user.role", roles=list(ROLES))


def _scope_problem(session: Session, role: str, procuratorate_id: int | None) -> Msg | None:
    """Only an administrator may have no procuratorate; a given procuratorate must exist."""
    if procuratorate_id is None:
        if role in PROVINCE_WIDE_ROLES or role not in ROLES:
            return None
        return msg("user.needs_procuratorate", role=ROLE_LABELS[role], role_en=role)
    if session.get(Procuratorate, procuratorate_id) is None:
        return msg("not_found.procuratorate", code=procuratorate_id)
    return None


def procuratorate_by_code(session: Session, code: str) -> Procuratorate:
    """The procuratorate with this code, or ``NotFound`` (``not_found.procuratorate``)."""
    found = session.scalar(select(Procuratorate).where(Procuratorate.code == (code or "").strip()))
    if found is None:
        raise NotFound(msg("not_found.procuratorate", code=code))
    return found


def get_user(session: Session, username: str, actor: Actor | None = None) -> User:
    """The user with this name, or ``NotFound`` (``not_found.user``). With an ``actor``: only an
    administrator (``PermissionDenied`` otherwise) and only an account of their tree (else not found)."""
    _require_manager(actor)
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None or (actor is not None and not in_tree(actor, user)):
        raise NotFound(msg("not_found.user", username=username))
    return user


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = "viewer",
    display_name: str = "",
    procuratorate_id: int | None = None,
    *,
    actor: Actor | None = None,
) -> User:
    """Add a user (flushed, not committed) and record it in the audit log.

    Raises :class:`~rulesvc.errors.InvalidInput` (``user.invalid``) with ``errors`` mapping each bad field
    to a message: ``username`` (pattern ``[a-z][a-z0-9_.-]{2,39}``, or already taken), ``password`` (at
    least 12 characters), ``role`` (one of :data:`~rulesvc.persistence.models.ROLES`), ``procuratorate``
    (required unless the role is admin; must exist; with an ``actor``, in their tree, and none only for an
    administrator of the whole province). ``PermissionDenied`` when ``actor`` is not an administrator.
    """
    _require_manager(actor)
    name = normalise_username(username)
    errors: dict[str, Msg] = {}
    if not USERNAME_RE.match(name):
        errors["username"] = msg("user.username_pattern")
    elif session.scalar(select(User.id).where(User.username == name)) is not None:
        errors["username"] = msg("user.username_taken", username=name)
    for field_name, problem in (("password", _password_problem(password)), ("role", _role_problem(role)),
                                ("procuratorate", _scope_problem(session, role, procuratorate_id)
                                 or _given_problem(actor, procuratorate_id))):
        if problem is not None:
            errors[field_name] = problem
    if errors:
        raise InvalidInput(msg("user.invalid"), errors=errors)
    user = User(
        username=name,
        display_name=display_name or "",
        password_hash=hash_password(password),
        role=role,
        procuratorate_id=procuratorate_id,
        is_active=True,
    )
    session.add(user)
    session.flush()
    where, where_en = _where(session, user.procuratorate_id)
    summary = msg("user.created", username=name, role=ROLE_LABELS[role], role_en=ROLE_LABELS_EN[role],
                  procuratorate=where, procuratorate_en=where_en)
    _record(session, actor, "user.create", user, summary,
            {"role": role, "procuratorate": _code(session, procuratorate_id), "display_name": user.display_name})
    return user


def set_password(session: Session, username: str, password: str, *, actor: Actor | None = None) -> User:
    """Replace a user's password and end every session they are signed in with (flushed, not
    committed; recorded in the audit log — the password never). Raises ``NotFound``, ``InvalidInput`` or,
    for an ``actor`` who is not an administrator, ``PermissionDenied``."""
    user = get_user(session, username, actor)
    problem = _password_problem(password)
    if problem:
        raise InvalidInput(msg("user.password_invalid"), errors={"password": problem})
    user.password_hash = hash_password(password)
    ended = sessions.end_all(session, user.id, sessions.PASSWORD)
    session.flush()
    _record(session, actor, "user.password", user, msg("user.audit_password", username=user.username, count=ended),
            {"sessions_ended": ended})
    return user


def update_user(session: Session, username: str, *, role: str | None = None, procuratorate_id: Any = UNSET,
                display_name: str | None = None, actor: Actor | None = None) -> tuple[User, list[str]]:
    """Change a user's role, procuratorate (``None``: none — administrators only) or display name
    (flushed, not committed; a change is recorded in the audit log, with each field's old and new value).
    Returns the user and the names of the fields that changed.

    The result must hold the same rules as :func:`create_user` (``InvalidInput``; with an ``actor``, the
    procuratorate in their tree), and the last active administrator keeps the role (``Conflict``,
    ``user.last_admin``). The change applies from the user's next request: their permissions and scope are
    read on every request.
    """
    user = get_user(session, username, actor)
    if role is None and procuratorate_id is UNSET and display_name is None:
        raise InvalidInput(msg("user.nothing_to_change"))
    new_role = user.role if role is None else role
    new_org = user.procuratorate_id if procuratorate_id is UNSET else procuratorate_id
    errors = {name: problem for name, problem in (("role", _role_problem(new_role)),
                                                  ("procuratorate", _scope_problem(session, new_role, new_org)
                                                   or _given_problem(actor, new_org)))
              if problem is not None}
    if errors:
        raise InvalidInput(msg("user.invalid"), errors=errors)
    if user.role == "admin" and new_role != "admin":
        _keep_an_admin(session, user)
    pairs = {"role": (user.role, new_role), "procuratorate": (user.procuratorate_id, new_org),
             "display_name": (user.display_name, user.display_name if display_name is None else display_name)}
    changed = [name for name, (old, new) in pairs.items() if old != new]
    user.role, user.procuratorate_id = new_role, new_org
    if display_name is not None:
        user.display_name = display_name
    session.flush()
    if changed:
        said = {name: tuple(_value(session, name, v, lang) for v in pairs[name] for lang in ("zh", "en"))
                for name in changed}  # (old zh, old en, new zh, new en)
        summary = msg("user.audit_updated", username=user.username,
                      changes=[f"{FIELD_LABELS[n][0]} {s[0]} → {s[2]}" for n, s in said.items()],
                      changes_en=[f"{FIELD_LABELS[n][1]} {s[1]} → {s[3]}" for n, s in said.items()])
        _record(session, actor, "user.update", user, summary, {"changes": {
            name: [_stored(session, name, old), _stored(session, name, new)]
            for name, (old, new) in pairs.items() if name in changed}})
    return user, changed


def deactivate_user(session: Session, username: str, *, actor: Actor | None = None) -> tuple[User, int]:
    """Deactivate a user and end their sessions (flushed, not committed; recorded in the audit log when
    the account was active); returns the user and how many sessions ended. They can no longer sign in;
    their API keys are another matter (``rulesvc apikeys``)."""
    user = get_user(session, username, actor)
    was_active = user.is_active
    if user.role == "admin" and user.is_active:
        _keep_an_admin(session, user)
    user.is_active = False
    ended = sessions.end_all(session, user.id, sessions.DEACTIVATED)
    session.flush()
    if was_active or ended:
        _record(session, actor, "user.deactivate", user, msg("user.deactivated", username=user.username, count=ended),
                {"sessions_ended": ended})
    return user, ended


def activate_user(session: Session, username: str, *, actor: Actor | None = None) -> User:
    """Let a deactivated user sign in again (flushed, not committed; recorded in the audit log when the
    account was deactivated)."""
    user = get_user(session, username, actor)
    if not user.is_active:
        user.is_active = True
        session.flush()
        _record(session, actor, "user.activate", user, msg("user.activated", username=user.username), {})
    return user


def list_users(session: Session, actor: Actor | None = None) -> list[User]:
    """Every user by name, with their procuratorate loaded; with an ``actor``, those of their tree (an
    administrator only: ``PermissionDenied`` otherwise)."""
    _require_manager(actor)
    found = session.scalars(select(User).options(selectinload(User.procuratorate)).order_by(User.username))
    return [u for u in found if actor is None or in_tree(actor, u)]


# -- the audit log ------------------------------------------------------------------------------------------


def _record(session: Session, actor: Actor | None, action: str, user: User, summary: Msg, detail: dict[str, Any]) -> None:
    """One record of a change to ``user``'s account, under the account's procuratorate (so the administrators
    of its tree read it). ``detail`` never holds a password or its hash."""
    audit.record(session, _recorder(actor), action, procuratorate_id=user.procuratorate_id,
                 summary=summary.render("zh"), summary_en=summary.render("en"),
                 detail={"username": user.username, "user_id": user.id, **detail})


def _code(session: Session, procuratorate_id: int | None) -> str | None:
    if procuratorate_id is None:
        return None
    return session.scalar(select(Procuratorate.code).where(Procuratorate.id == procuratorate_id))


def _where(session: Session, procuratorate_id: int | None) -> tuple[str, str]:
    """A procuratorate as a summary says it: (Chinese, English)."""
    if procuratorate_id is None:
        return msg("user.province_wide").render("zh"), msg("user.province_wide").render("en")
    org = session.get(Procuratorate, procuratorate_id)
    if org is None:
        return str(procuratorate_id), str(procuratorate_id)
    return f"{org.code} {org.name}", org.code


def _value(session: Session, name: str, value: Any, lang: str) -> str:
    """A field's value as a summary says it."""
    if name == "role":
        return (ROLE_LABELS if lang == "zh" else ROLE_LABELS_EN).get(value, str(value))
    if name == "procuratorate":
        return _where(session, value)[0 if lang == "zh" else 1]
    return f"“{value}”" if lang == "zh" else f"'{value}'"


def _stored(session: Session, name: str, value: Any) -> Any:
    """A field's value as the record's detail keeps it (a procuratorate by its code)."""
    return _code(session, value) if name == "procuratorate" else value


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.is_active.is_(True), User.id != user.id))
    if not others:
        raise Conflict(msg("user.last_admin", username=user.username))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the user is unknown, so both paths cost one hash computation.
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else ``None``.

    Takes about the same time whether or not the user exists (a dummy hash is checked instead).
    """
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        check_password(_dummy_hash(), password or "")
        return None
    if not check_password(user.password_hash, password or ""):
        return None
    return user if user.is_active else None


def record_login(session: Session, user: User) -> None:
    """Remember when the user last signed in (flushed, not committed)."""
    user.last_login_at = utcnow()
    session.flush()


def ensure_initial_admin(session: Session, instance_path: Path) -> tuple[str, str | None]:
    """Create the first administrator when there is no user at all.

    The password is random (``secrets.token_urlsafe(12)``) and written as ``username / password`` to
    ``instance_path/admin-credentials.txt`` (mode 0600). Returns ``(username, password)`` when it created
    the user, otherwise ``(name of the first admin, or "admin", None)``.

    Commits, because the credentials file must never name a user that does not exist.
    """
    if session.scalar(select(func.count()).select_from(User)):
        first = session.scalar(select(User.username).where(User.role == "admin").order_by(User.id).limit(1))
        return (first or INITIAL_ADMIN), None
    password = secrets.token_urlsafe(12)
    create_user(session, INITIAL_ADMIN, password, role="admin", display_name="管理员", actor=system_actor("首次启动"))
    try:
        _write_private(Path(instance_path) / CREDENTIALS_FILE, f"{INITIAL_ADMIN} / {password}\n")
    except OSError:
        session.rollback()
        raise
    session.commit()
    return INITIAL_ADMIN, password


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (also when the file already exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
