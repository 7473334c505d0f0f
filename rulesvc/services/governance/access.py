"""Who may do what, and where.

An :class:`Actor` is a person (a user with a role) or a system (an API key with permissions), with the
procuratorates in its scope: its own and every one below it (三级院: province → city → county). A
provincial administrator's scope is the whole province.

What each role may do (the matrix ``tests/integration/test_permissions.py`` walks):

============ ====== ====== ======== ========== ======= ===========
role          read   edit   review   activate   audit   api keys
============ ====== ====== ======== ========== ======= ===========
admin          ✓      ✓      ✓         ✓         ✓        ✓
designer       ✓      ✓                          ✓
reviewer       ✓             ✓         ✓         ✓
viewer         ✓
============ ====== ====== ======== ========== ======= ===========

- *edit*: create schemes and drafts, localize, change drafts, rebase, settle conflicts, submit,
  attach a simulation;
- *review*: approve or reject a version in review — never one you wrote or submitted (four eyes);
- *activate*: put an approved version in force from a date, retire one.

Everything in scope is visible; outside it, only *published* (approved, active, retired) versions of
the schemes of procuratorates *above* one's own are readable, so a county can localize the
provincial template. A sibling's schemes (another county's drafts above all) are invisible: asking
for one answers "not found", exactly as if it did not exist.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Select, event, func, select
from sqlalchemy.orm import Session, scoped_session

from rulesvc.catalogue import Words, msg
from rulesvc.errors import NotFound, PermissionDenied
from rulesvc.persistence.lifecycle import PUBLISHED
from rulesvc.persistence.models import Procuratorate, User

ACTIONS = ("read", "edit", "review", "activate", "audit", "manage_keys", "score")
ACTION_LABELS = {"read": "查看", "edit": "编辑", "review": "审核", "activate": "生效/停用", "audit": "查看审计日志",
                 "manage_keys": "管理 API 密钥", "score": "查询考评得分"}
ACTION_LABELS_EN = {"read": "read", "edit": "edit", "review": "review", "activate": "activate or retire",
                    "audit": "read the audit log", "manage_keys": "manage API keys", "score": "score subjects"}
# Every person may see the scores of the people in their tree; a key needs *score* granted (reading
# rules no longer implies scoring people).
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "designer": frozenset({"read", "edit", "audit", "score"}),
    "reviewer": frozenset({"read", "review", "activate", "audit", "score"}),
    "viewer": frozenset({"read", "score"}),
}
# What an API key may be granted (``manage_keys`` is for people only).
KEY_PERMISSIONS = ("read", "edit", "review", "activate", "audit", "score")


@dataclass(frozen=True)
class Actor:
    """Who is acting, what they may do and where, and where the request came from (for the audit log)."""

    ref: str  # the credential: "user:3", "key:5", "system:cli"
    name: str
    actions: frozenset[str]
    scope: frozenset[int] | None  # procuratorate ids in scope (own + below); None: all of them
    above: frozenset[int] = frozenset()  # procuratorates above the scope roots (their published schemes are readable)
    role: str | None = None
    ip: str = ""
    client: str = ""
    extra: dict = field(default_factory=dict, compare=False)
    # The person (or named system) behind the credential: "user:3" for a session of user 3 and for a
    # key owned by user 3 alike. Four eyes compares this, never ``ref``.
    person: str = ""
    name_en: str = ""  # how English messages name them, when ``name`` holds Chinese words ("API 密钥 …"); else name

    def __post_init__(self) -> None:
        if not self.person:
            object.__setattr__(self, "person", self.ref)

    @property
    def said(self) -> Words:
        """The actor's name as a message puts it, in the message's language (``name=actor.said``)."""
        return Words(self.name, self.name_en or self.name)

    def in_scope(self, procuratorate_id: int) -> bool:
        return self.scope is None or procuratorate_id in self.scope

    def may(self, action: str) -> bool:
        """Whether the actor holds ``action``. Every action reads what it acts on, so none is held
        without *read* (a key granted *edit* alone may do nothing)."""
        return action in self.actions and "read" in self.actions


class Tree:
    """The procuratorate hierarchy (a few thousand rows at most: loaded whole). Immutable once read: the
    scopes it computes are kept (every request of a key asks for the same one)."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Procuratorate.id, Procuratorate.parent_id, Procuratorate.code,
                                      Procuratorate.name)).all()
        self.parent = {r.id: r.parent_id for r in rows}
        self.names = {r.id: {"code": r.code, "name": r.name} for r in rows}  # what a card shows of a unit
        self._scopes: dict[tuple[int, ...], frozenset[int]] = {}  # roots -> below them
        self.children: dict[int, list[int]] = {}
        for pid, parent in self.parent.items():
            if parent is not None:
                self.children.setdefault(parent, []).append(pid)

    def below(self, roots: Iterable[int]) -> frozenset[int]:
        """``roots`` and every procuratorate under them."""
        key = tuple(sorted(set(roots)))
        known = self._scopes.get(key)
        if known is None:
            known = self._scopes[key] = self._below(key)
            if len(self._scopes) > 4096:  # keys and people each have a few roots: bounded all the same
                self._scopes.clear()
        return known

    def _below(self, roots: Iterable[int]) -> frozenset[int]:
        out: set[int] = set()
        stack = [r for r in roots if r in self.parent]
        while stack:
            p = stack.pop()
            if p not in out:
                out.add(p)
                stack.extend(self.children.get(p, ()))
        return frozenset(out)

    def above(self, roots: Iterable[int]) -> frozenset[int]:
        """Every procuratorate above any of ``roots`` (not the roots themselves)."""
        out: set[int] = set()
        for r in roots:
            p = self.parent.get(r)
            while p is not None and p not in out:
                out.add(p)
                p = self.parent.get(p)
        return frozenset(out)


_TREES: dict[tuple[Any, ...], Tree] = {}
_TREES_LOCK = threading.Lock()
_TREE_MEMO = "rulesvc.tree"  # session.info: (the transaction, its tree)


@event.listens_for(Session, "after_flush")
def _forget_tree_on_flush(session: Session, _context: Any) -> None:
    """A transaction that writes (a reference data import adds procuratorates) reads the tree afresh."""
    session.info.pop(_TREE_MEMO, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_tree_on_rollback(session: Session, _previous: Any) -> None:
    """A rolled-back savepoint may take back units the tree was read with."""
    session.info.pop(_TREE_MEMO, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_tree_on_write(state: Any) -> None:
    if not state.is_select:  # an INSERT / UPDATE / DELETE statement run through the session
        state.session.info.pop(_TREE_MEMO, None)


@functools.cache
def _tree_state() -> Select[Any]:
    """The statement naming the hierarchy's state (built once: building it costs more than running it)."""
    from rulesvc.persistence.models import Dataset, DatasetWithdrawal, SchemeVersion

    last_dataset = select(func.max(Dataset.id)).scalar_subquery()
    datasets = select(func.count(Dataset.id)).scalar_subquery()
    withdrawn = select(func.count(DatasetWithdrawal.dataset_id)).scalar_subquery()
    parent = func.coalesce(Procuratorate.parent_id, 0)
    # Then the versions' state, from their optimistic-lock counters, which the ORM raises with every change of a
    # version (submit, approve, a go-live, retire …). Counters only grow and only drafts are ever deleted, so (count, largest id, Σ lock, Σ id × lock) cannot come
    # back to an earlier value after a change: a draft deleted and another made under its id (SQLite reuses the
    # largest) differ in Σ id × lock unless nothing else changed.
    versions = [select(f).scalar_subquery() for f in (
        func.count(SchemeVersion.id), func.max(SchemeVersion.id), func.coalesce(func.sum(SchemeVersion.lock_version), 0),
        func.coalesce(func.sum(SchemeVersion.id * SchemeVersion.lock_version), 0))]
    # The three after the hierarchy's are the data's generation (services.results.generation), read in the same query.
    return select(func.count(Procuratorate.id), func.max(Procuratorate.id), func.sum(parent),
                  func.sum(Procuratorate.id * parent), last_dataset, datasets, withdrawn, *versions)


def tree_of(session: Session | scoped_session[Session]) -> Tree:
    """The hierarchy, read once per process for each state of it: procuratorates change only by an import
    of reference data (which adds a dataset), so (their count, their largest id, the last dataset) name a
    state, with two sums over the parent links (a unit moved under another parent changes them). One
    aggregate query per transaction instead of reading every procuratorate (a country has thousands): a
    request that authenticates and then shows a unit's name asks once."""
    if isinstance(session, scoped_session):
        session = session()
    return _memo(session)[1]


def data_state(session: Session | scoped_session[Session]) -> tuple[Any, ...]:
    """(datasets, the last dataset's id, withdrawals): changes with every import and withdrawal. Read with
    the hierarchy's state, once per transaction (a scoring request needs both)."""
    if isinstance(session, scoped_session):
        session = session()
    state = _memo(session)[2]
    return (state[6], state[5], state[7])


def versions_state(session: Session | scoped_session[Session]) -> tuple[Any, ...]:
    """(the database, the data's generation, the versions' count, largest id, Σ lock and Σ id × lock): changes with
    every import, withdrawal and change of a version. Read with the hierarchy's state, once per transaction."""
    if isinstance(session, scoped_session):
        session = session()
    state = _memo(session)[2]
    return (state[0], *state[5:])


_URLS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database(session: Session) -> str:
    """Which database the session reads (ids and counts mean something only within one): its URL as
    written, password hidden — rendered once per engine (every scoring request asks)."""
    engine = session.get_bind().engine
    url = _URLS.get(engine)
    if url is None:
        url = _URLS[engine] = str(engine.url)
    return url


def _memo(session: Session) -> tuple[Any, Tree, tuple[Any, ...]]:
    transaction = session.get_transaction()
    memo = session.info.get(_TREE_MEMO)
    if transaction is not None and memo is not None and memo[0] is transaction:
        return memo
    # Core, on the session's connection (same transaction): the ORM's layer costs more than the query.
    state = (database(session), *session.connection().execute(_tree_state()).one())
    key = state[:8]  # the hierarchy and the data (the versions' state does not change the tree)
    with _TREES_LOCK:
        tree = _TREES.get(key)
    if tree is None:
        tree = Tree(session)
        with _TREES_LOCK:
            if len(_TREES) >= 8:
                _TREES.clear()
            _TREES[key] = tree
    memo = session.info[_TREE_MEMO] = (session.get_transaction(), tree, state)
    return memo


def actor_for_user(session: Session, user: User, *, ip: str = "", client: str = "") -> Actor:
    """The actor of a signed-in person. A user without a procuratorate is scoped to everything only
    if they are an administrator; otherwise to nothing."""
    actions = ROLE_ACTIONS.get(user.role, frozenset()) if user.is_active else frozenset()
    if user.procuratorate_id is None:
        scope: frozenset[int] | None = None if user.role == "admin" else frozenset()
        above: frozenset[int] = frozenset()
    else:
        tree = tree_of(session)
        scope = tree.below([user.procuratorate_id])
        above = tree.above([user.procuratorate_id])
    return Actor(ref=f"user:{user.id}", name=user.username, actions=actions, scope=scope, above=above,
                 role=user.role, ip=ip, client=client, person=user.person_ref)


def actor_for_scope(session: Session, ref: str, name: str, actions: Iterable[str], roots: Iterable[int] | None, *,
                    ip: str = "", client: str = "", person: str = "", name_en: str = "") -> Actor:
    """An actor with explicit permissions over ``roots`` and below (``None``: everywhere)."""
    if roots is None:
        return Actor(ref=ref, name=name, actions=frozenset(actions), scope=None, ip=ip, client=client, person=person,
                     name_en=name_en)
    roots = list(roots)
    tree = tree_of(session)
    return Actor(ref=ref, name=name, actions=frozenset(actions), scope=tree.below(roots), above=tree.above(roots),
                 ip=ip, client=client, person=person, name_en=name_en)


def system_actor(name: str = "cli") -> Actor:
    """The operator at the server's command line (``rulesvc rules import``…): trusted, everywhere."""
    return Actor(ref=f"system:{name}", name=f"系统 ({name})", actions=frozenset(ACTIONS), scope=None,
                 client=f"rulesvc 服务器本机 (on the server: {name})", name_en=f"the system ({name})")


def can_read(actor: Actor, procuratorate_id: int, status: str | None = None) -> bool:
    """May ``actor`` see a scheme (``status`` None) or a version of it owned by ``procuratorate_id``?"""
    if not actor.may("read"):
        return False
    if actor.in_scope(procuratorate_id):
        return True
    return procuratorate_id in actor.above and (status is None or status in PUBLISHED)


def procuratorate_in_view(session: Session, actor: Actor, code: str) -> Procuratorate:
    """The procuratorate ``code`` names, when ``actor`` may see its people: 404 either way, but saying
    which (the directory of procuratorates is public, so naming one outside the scope reveals nothing)."""
    org = session.scalar(select(Procuratorate).where(Procuratorate.code == code))
    if org is None:
        raise NotFound(msg("not_found.procuratorate", code=code))
    if not actor.in_scope(org.id):
        raise NotFound(msg("not_found.procuratorate_scope", code=code, name=org.name, who=actor.said))
    return org


def require_read(actor: Actor, procuratorate_id: int, status: str | None = None, *, what: str | Words = "",
                 absent: Any = None) -> None:
    """Not found (never "forbidden") when invisible: a county learns nothing of another's drafts. ``absent``:
    the very message a missing object gets (``not_found.version`` …), so that "not yours" and "does not exist"
    read the same, code and words."""
    if not can_read(actor, procuratorate_id, status):
        raise NotFound(absent if absent is not None else msg("not_found.object"))


def require(actor: Actor, action: str, procuratorate_id: int, *, what: str | Words = "",
            doing: tuple[str, str] | None = None) -> None:
    """``actor`` may do ``action`` on something owned by ``procuratorate_id``, or an error says why.
    ``what`` names the thing in both languages (``Words("方案 X", "Scheme X")``); ``doing`` (Chinese, English)
    names what was attempted when the permission's own name does not ("publish results" needs *activate*)."""
    if not actor.may(action):
        if action in actor.actions:  # held, but without read
            raise PermissionDenied(msg("permission.read_first", action=ACTION_LABELS.get(action, action),
                                       action_en=ACTION_LABELS_EN.get(action, action)), errors={"permission": ["read"]})
        words = {"action": ACTION_LABELS.get(action, action), "action_en": ACTION_LABELS_EN.get(action, action),
                 "name": actor.said}
        said = (msg("permission.action", **words) if doing is None
                else msg("permission.action_for", doing=doing[0], doing_en=doing[1], **words))
        raise PermissionDenied(said, errors={"permission": [action]})
    if not actor.in_scope(procuratorate_id):
        zh, en = (what.zh, what.en) if isinstance(what, Words) else (what or "该对象", what or "it")
        said = msg("permission.scope", what=zh, what_en=en, name=actor.said)
        raise PermissionDenied(said, errors={"procuratorate": [said]})
