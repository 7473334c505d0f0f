"""User accounts: creation with validation, password checks, and the first administrator.

Passwords are stored as werkzeug hashes (scrypt). Nothing here knows Flask: the admin UI, the API and the
CLI call these functions with a SQLAlchemy session and commit (``ensure_initial_admin`` excepted).
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from rulesvc.errors import InvalidInput, NotFound
from rulesvc.persistence.models import ROLES, User, utcnow

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
INITIAL_ADMIN = "admin"
CREDENTIALS_FILE = "admin-credentials.txt"


def normalise_username(username: str) -> str:
    """Usernames are compared case-insensitively and without surrounding blanks."""
    return (username or "").strip().lower()


def _password_problem(password: str) -> str | None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 (password must have at least {MIN_PASSWORD_LENGTH} characters)"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码最多 {MAX_PASSWORD_LENGTH} 个字符 (password must have at most {MAX_PASSWORD_LENGTH} characters)"
    if password.strip() != password:
        return "密码首尾不能是空白字符 (password must not start or end with blanks)"
    return None


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = "viewer",
    display_name: str = "",
    procuratorate_id: int | None = None,
) -> User:
    """Add a user (flushed, not committed).

    Raises :class:`~rulesvc.errors.InvalidInput` with ``errors`` mapping each bad field to a message:
    ``username`` (pattern ``[a-z][a-z0-9_.-]{2,39}``, or already taken), ``password`` (at least 12 characters),
    ``role`` (one of :data:`~rulesvc.persistence.models.ROLES`).
    """
    name = normalise_username(username)
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(name):
        errors["username"] = (
            "用户名须以小写字母开头，3–40 个字符，只含小写字母、数字和 _ . - "
            "(username: 3-40 characters, lower-case letters, digits, _ . -, starting with a letter)"
        )
    elif session.scalar(select(User.id).where(User.username == name)) is not None:
        errors["username"] = f"用户名 {name} 已存在 (username {name} already exists)"
    problem = _password_problem(password)
    if problem:
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = f"角色须为 {', '.join(ROLES)} 之一 (role must be one of {', '.join(ROLES)})"
    if errors:
        raise InvalidInput("用户信息无效 (invalid user)", errors=errors)
    user = User(
        username=name,
        display_name=display_name or "",
        password_hash=generate_password_hash(password),
        role=role,
        procuratorate_id=procuratorate_id,
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password (flushed, not committed). Raises ``NotFound`` or ``InvalidInput``."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"用户 {username} 不存在 (no user {username})")
    problem = _password_problem(password)
    if problem:
        raise InvalidInput("密码无效 (invalid password)", errors={"password": problem})
    user.password_hash = generate_password_hash(password)
    session.flush()
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the user is unknown, so both paths cost one hash computation.
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else ``None``.

    Takes about the same time whether or not the user exists (a dummy hash is checked instead).
    """
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
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
    create_user(session, INITIAL_ADMIN, password, role="admin", display_name="管理员")
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
