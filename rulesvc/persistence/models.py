"""Reference data, the data dictionary, datasets and events, users.

Events are facts: one row per event, grouped in an immutable, hashed dataset. Attribute values live
in ``attrs`` (JSON), typed and validated against the data dictionary before they are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from rulesvc.persistence.base import Base, BigIntPK, DocumentJSON, JSONType
from rulesvc.persistence.lifecycle import STATUS_LABELS, VERSION_STATUSES, Status, is_editable

LEVELS = ("province", "city", "county")
LEVEL_LABELS = {"province": "省级院", "city": "市级院", "county": "基层院"}
QUOTA_STATUSES = ("quota", "non_quota", "exited")
QUOTA_LABELS = {"quota": "员额检察官", "non_quota": "非员额人员", "exited": "已退出员额"}  # the glossary's words
# What an import also accepts for them (what people type)
QUOTA_ALIASES = {"员额": "quota", "非员额": "non_quota", "退出员额": "exited"}
ROLES = ("admin", "designer", "reviewer", "viewer")
ROLE_LABELS = {"admin": "管理员", "designer": "规则设计人员", "reviewer": "审核人员", "viewer": "查看人员"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(t: dt.datetime) -> dt.datetime:
    """A stored time with its zone: SQLite gives back naive datetimes (written in UTC), PostgreSQL aware
    ones — written out, both must read the same."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


class Procuratorate(Base):
    """A procuratorate (检察院) at one of three levels, with its parent."""

    __tablename__ = "procuratorates"
    __table_args__ = (
        CheckConstraint("level IN ('province', 'city', 'county')", name="level"),
        CheckConstraint("length(code) = 6", name="code_len"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True, comment="6 位行政区划代码")
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("procuratorates.id"), index=True)

    parent: Mapped[Procuratorate | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Procuratorate]] = relationship(back_populates="parent")
    departments: Mapped[list[Department]] = relationship(back_populates="procuratorate")

    def __str__(self) -> str:
        return self.name


class BusinessLine(Base):
    """One of the ten businesses (十大业务), grouped under the four lines of work (四大检察)."""

    __tablename__ = "business_lines"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))
    line: Mapped[str] = mapped_column(String(32), comment="四大检察: criminal/civil/administrative/public_interest")
    line_name: Mapped[str] = mapped_column(String(50))
    sort: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return self.name


class Department(Base):
    """A department (部门) of one procuratorate."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("procuratorate_id", "code", name="uq_departments_org_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    business_code: Mapped[str | None] = mapped_column(ForeignKey("business_lines.code"))

    procuratorate: Mapped[Procuratorate] = relationship(back_populates="departments")
    business: Mapped[BusinessLine | None] = relationship()

    def __str__(self) -> str:
        return self.name


class Prosecutor(Base):
    """A prosecutor (检察官) of one procuratorate and department, in one business line."""

    __tablename__ = "prosecutors"
    __table_args__ = (
        CheckConstraint("quota_status IN ('quota', 'non_quota', 'exited')", name="quota_status"),
        Index("ix_prosecutors_org_business", "procuratorate_id", "business_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="工号")
    name: Mapped[str] = mapped_column(String(50))
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    business_code: Mapped[str] = mapped_column(ForeignKey("business_lines.code"))
    quota_status: Mapped[str] = mapped_column(String(16), default="quota")
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    leader_title: Mapped[str | None] = mapped_column(String(50))
    active_from: Mapped[dt.date] = mapped_column(Date)
    active_to: Mapped[dt.date | None] = mapped_column(Date)

    procuratorate: Mapped[Procuratorate] = relationship()
    department: Mapped[Department | None] = relationship()
    business: Mapped[BusinessLine] = relationship()

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class ProsecutorPost(Base):
    """A post a prosecutor held before their present one (任职经历): the procuratorate, department and business
    they belonged to until ``held_until`` (inclusive). Written when a directory import moves someone and says
    from when (``post_from``); the present post is the :class:`Prosecutor` row's, held since the day after the
    latest ``held_until``. A past period is scored with the post held on its last day."""

    __tablename__ = "prosecutor_posts"
    __table_args__ = (UniqueConstraint("prosecutor_id", "held_until", name="uq_prosecutor_posts_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prosecutor_id: Mapped[int] = mapped_column(ForeignKey("prosecutors.id"), index=True)
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    business_code: Mapped[str] = mapped_column(ForeignKey("business_lines.code"))
    held_until: Mapped[dt.date] = mapped_column(Date, comment="该岗位的最后一天")


class EventType(Base):
    """A kind of event in the data dictionary (e.g. 审查起诉审结); its fields are :class:`EventField`."""

    __tablename__ = "event_types"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(120))
    line: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    requires_case: Mapped[bool] = mapped_column(Boolean, default=False)
    dictionary_hash: Mapped[str] = mapped_column(String(64))

    fields: Mapped[list[EventField]] = relationship(
        back_populates="event_type", order_by="EventField.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class EventField(Base):
    """A typed attribute of an event type."""

    __tablename__ = "event_fields"
    __table_args__ = (UniqueConstraint("event_type_code", "name", name="uq_event_fields_type_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type_code: Mapped[str] = mapped_column(ForeignKey("event_types.code", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    choices: Mapped[Any] = mapped_column(JSONType, nullable=True)
    minimum: Mapped[float | None] = mapped_column()
    maximum: Mapped[float | None] = mapped_column()
    position: Mapped[int] = mapped_column(Integer, default=0)

    event_type: Mapped[EventType] = relationship(back_populates="fields")


DATASET_STATUSES = ("in_use", "withdrawn")
DATASET_STATUS_LABELS = {"in_use": "使用中", "withdrawn": "已撤回"}


class Dataset(Base):
    """An imported batch of events or reference data. Immutable once imported; identified by its hash.

    A dataset is never deleted: a wrong one is *withdrawn* (with a reason; its events stop counting) or
    *corrected* by a later dataset that names it in ``corrects_id`` (the later one's events replace
    those with the same event ids)."""

    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint("kind IN ('events', 'reference')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="events")
    content_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 of the canonical rows")
    source: Mapped[str] = mapped_column(String(300), default="", comment="file name or generator")
    row_count: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), index=True,
                                                    comment="the earlier dataset this one corrects")

    withdrawal: Mapped[DatasetWithdrawal | None] = relationship(back_populates="dataset", uselist=False)

    @property
    def status(self) -> str:
        return "withdrawn" if self.withdrawal is not None else "in_use"

    def __str__(self) -> str:
        return f"{self.name} #{self.id}"


class DatasetWithdrawal(Base):
    """A dataset taken out of use, with who, when and why. The dataset row itself never changes (the
    database refuses updates of imported rows); withdrawing adds this record, and nothing removes it."""

    __tablename__ = "dataset_withdrawals"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    by: Mapped[str] = mapped_column(String(120))
    by_ref: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(back_populates="withdrawal")


class Event(Base):
    """One event (a procedural act, a supervision action, a review rating …) of one subject."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("dataset_id", "external_id", name="uq_events_dataset_external"),
        Index("ix_events_prosecutor_date", "prosecutor_id", "occurred_on"),
        Index("ix_events_org_date", "procuratorate_id", "occurred_on"),
        Index("ix_events_case", "case_id"),
        Index("ix_events_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Deferred: a dataset row is written once, complete (count, hash), after its events.
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", deferrable=True, initially="DEFERRED"))
    external_id: Mapped[str] = mapped_column(String(64), comment="the source system's event id")
    event_type: Mapped[str] = mapped_column(ForeignKey("event_types.code"))
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"))
    prosecutor_id: Mapped[int | None] = mapped_column(ForeignKey("prosecutors.id"))
    case_id: Mapped[str | None] = mapped_column(String(64))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    dataset: Mapped[Dataset] = relationship()
    type: Mapped[EventType] = relationship()
    procuratorate: Mapped[Procuratorate] = relationship()
    prosecutor: Mapped[Prosecutor | None] = relationship()


class User(Base):
    """A person who signs in to the admin UI or the API."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'designer', 'reviewer', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    procuratorate_id: Mapped[int | None] = mapped_column(ForeignKey("procuratorates.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    procuratorate: Mapped[Procuratorate | None] = relationship()

    @property
    def person_ref(self) -> str:
        """Who this is as a person (four eyes compares people, not credentials)."""
        return f"user:{self.id}"

    # flask-login protocol, written out so persistence does not import flask_login.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """``<id>.<stamp>``: the stamp derives from the password hash, so a new password (or a reset)
        ends every session signed in with the old one."""
        return f"{self.id}.{self.session_stamp}"

    @property
    def session_stamp(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def __str__(self) -> str:
        return self.username


__all__ = [
    "BusinessLine",
    "Dataset",
    "DatasetWithdrawal",
    "Department",
    "Event",
    "EventField",
    "EventType",
    "Procuratorate",
    "Prosecutor",
    "STATUS_LABELS",
    "VERSION_STATUSES",
    "User",
    "UserSession",
    "VersionContribution",
    "func",
]


# -- Rule sets: schemes, their versions, the audit log, API keys ------------------------------------

SUBJECT_KINDS = ("prosecutor", "procuratorate")
PERIOD_KINDS = ("month", "quarter", "year")
# The lifecycle (statuses, steps, labels) is declared once, in rulesvc.persistence.lifecycle.
# A version's content: frozen once it leaves draft (service layer, ORM event and database trigger).
VERSION_CONTENT_COLUMNS = ("scheme_id", "number", "parent_id", "document", "resolved", "content_hash",
                           "author", "author_ref", "change_note", "created_at", "scenarios")


class Scheme(Base):
    """An evaluation scheme (考评方案) of one procuratorate, for one subject kind and period kind.
    What runs is one of its versions."""

    __tablename__ = "schemes"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('prosecutor', 'procuratorate')", name="subject_kind"),
        CheckConstraint("period_kind IN ('month', 'quarter', 'year')", name="period_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True, comment="方案代码, e.g. SFS-PROSECUTOR-910101")
    name: Mapped[str] = mapped_column(String(200))
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    period_kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    last_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                             comment="highest version number ever given (never reused)")

    procuratorate: Mapped[Procuratorate] = relationship()
    versions: Mapped[list[SchemeVersion]] = relationship(
        back_populates="scheme", order_by="SchemeVersion.number", foreign_keys="SchemeVersion.scheme_id")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SchemeVersion(Base):
    """One version of a scheme. A template version holds a whole document; a localization holds only
    its overrides of a parent version. Lifecycle: draft → in_review → approved → active → retired
    (in_review → draft when rejected). Once it leaves draft its content never changes."""

    __tablename__ = "scheme_versions"
    __table_args__ = (
        UniqueConstraint("scheme_id", "number", name="uq_scheme_versions_scheme_number"),
        # Covers the list of versions (GET /schemes): SQLite never walks past the large documents.
        Index("ix_scheme_versions_summary", "scheme_id", "number", "status", "parent_id", "content_hash",
              "effective_from", "effective_to", "updated_at", "id"),
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in VERSION_STATUSES) + ")", name="status"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from",
                        name="effective_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_versions.id"), index=True)
    # Template: the whole scheme document. Localization: {"description", "overrides": [...], "conflicts": [...]}.
    document: Mapped[dict[str, Any]] = mapped_column(DocumentJSON)
    status: Mapped[str] = mapped_column(String(16), default=Status.DRAFT.value)
    author: Mapped[str] = mapped_column(String(120))
    author_ref: Mapped[str] = mapped_column(String(40), comment="user:<id> or key:<id>")
    change_note: Mapped[str] = mapped_column(Text, default="")
    resolved: Mapped[dict[str, Any] | None] = mapped_column(DocumentJSON, comment="the document that runs, set on submit")
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    simulation: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, comment="the 模拟测评 run approval rests on: {run_id, result_hash, periods, content_hash, …}")
    scenarios: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, comment="regression scenarios (expected results); frozen with the content on submit")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    submitted_by_ref: Mapped[str | None] = mapped_column(String(40), comment="the person who submitted: user:<id>…")
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_by_ref: Mapped[str | None] = mapped_column(String(40))
    review_note: Mapped[str] = mapped_column(Text, default="")
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    activated_by: Mapped[str | None] = mapped_column(String(120))
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1, comment="optimistic locking counter")

    scheme: Mapped[Scheme] = relationship(back_populates="versions", foreign_keys=[scheme_id])
    parent: Mapped[SchemeVersion | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def is_localization(self) -> bool:
        return self.parent_id is not None

    def __str__(self) -> str:
        return f"{self.scheme.code} v{self.number}" if self.scheme else f"v{self.number}"


class AuditRecord(Base):
    """One change to a rule set: who, when, what (with the diff), from where. Append-only: the
    database refuses updates and deletes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    actor_ref: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40), index=True)
    procuratorate_id: Mapped[int | None] = mapped_column(ForeignKey("procuratorates.id"), index=True)
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("schemes.id"), index=True)
    # No foreign key: the log outlives what it describes (a deleted draft keeps its records).
    version_id: Mapped[int | None] = mapped_column(Integer, index=True, comment="scheme_versions.id at the time")
    summary: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[Any] = mapped_column(JSONType, nullable=True)
    detail: Mapped[Any] = mapped_column(JSONType, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    client: Mapped[str] = mapped_column(String(300), default="")


class ApiKey(Base):
    """A key another system uses to call the API. Only its sha256 is stored; it is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True, comment="the key's first characters, for lookup")
    key_hash: Mapped[str] = mapped_column(String(64))
    procuratorate_ids: Mapped[list[int]] = mapped_column(JSONType, comment="scope: these and those below them")
    permissions: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_by_person: Mapped[str | None] = mapped_column(
        String(40), comment="the person who created the key (user:<id>), for four eyes")
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True,
                                                 comment="the person the key acts for; NULL: a named system")

    owner: Mapped[User | None] = relationship()

    @property
    def person_ref(self) -> str:
        """The person behind the key (four eyes), or the key itself as a named system."""
        return key_person_ref(self.id, self.owner_id)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def key_person_ref(key_id: int, owner_id: int | None) -> str:
    """:attr:`ApiKey.person_ref` from the key's id and owner (authentication reads the columns, not the object)."""
    return f"user:{owner_id}" if owner_id is not None else f"system:key-{key_id}"


class UserSession(Base):
    """A signed-in session of a person, held server-side: signing out, a new password or an expired
    timeout ends it, and a cookie saved before that no longer works. Only the token's sha256 is kept."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="sha256 of the session token")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(32), comment="logout, password, idle, absolute, deactivated")
    ip: Mapped[str] = mapped_column(String(64), default="")
    client: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class LoginCount(Base):
    """One counted sign-in failure (or lock) of the throttle when no Redis is configured: shared by
    every worker (see :mod:`rulesvc.persistence.throttle`)."""

    __tablename__ = "login_counts"
    __table_args__ = (Index("ix_login_counts_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[float] = mapped_column(comment="seconds since the epoch")


CONTRIBUTION_ROLES = ("created", "edited", "copied", "rebased", "submitted")


class VersionContribution(Base):
    """A person who contributed to a version's content (wrote, edited, copied it from another version,
    rebased or submitted it). Four eyes: none of them may approve or reject the version."""

    __tablename__ = "version_contributions"
    __table_args__ = (
        CheckConstraint("role IN ('created', 'edited', 'copied', 'rebased', 'submitted')", name="role"),
        Index("ix_version_contributions_version_person", "version_id", "person"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scheme_versions.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(40), comment="user:<id>, or system:<name> for a key of no one")
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(40), comment="the credential used: user:<id>, key:<id>, system:<name>")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_version_id: Mapped[int | None] = mapped_column(Integer, comment="copied: the version it was copied from")


SIMULATION_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
SIMULATION_STATUS_LABELS = {"queued": "排队中", "running": "测评中", "succeeded": "已完成", "failed": "失败",
                            "cancelled": "已取消"}
SIMULATION_STATUS_LABELS_EN = {"queued": "queued", "running": "running", "succeeded": "finished", "failed": "failed",
                               "cancelled": "cancelled"}


class SimulationRun(Base):
    """A simulation run (模拟测评): a candidate version scored against a baseline on closed periods.

    Its identity (``run_hash``) is the hash of everything its figures depend on: candidate and baseline
    content hashes, periods, dataset hashes, dictionary hash, engine version and report options. Asking
    for the same run again returns this row; a failed or cancelled one is queued again in place. Results
    are written in one transaction with the status ``succeeded``: a run is never half-written."""

    __tablename__ = "simulation_runs"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in SIMULATION_STATUSES) + ")", name="status"),
        Index("ix_simulation_runs_candidate", "candidate_hash", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="identity: sha256 of the inputs")
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"), index=True,
                                                  comment="the candidate scheme's procuratorate (who may see it)")
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    # SET NULL: a draft simulated and then deleted leaves its runs, which keep the documents they scored.
    candidate_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheme_versions.id", ondelete="SET NULL"), index=True)
    baseline_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheme_versions.id", ondelete="SET NULL"), index=True)
    documents: Mapped[dict[str, Any]] = mapped_column(
        JSONType, comment="the resolved documents scored: {candidate: …, baseline: … or null}")
    candidate_hash: Mapped[str] = mapped_column(String(64))
    baseline_hash: Mapped[str | None] = mapped_column(String(64))
    baseline_choice: Mapped[str] = mapped_column(String(16), default="default",
                                                 comment="default (in force), explicit, or none")
    periods: Mapped[list[str]] = mapped_column(JSONType)
    datasets: Mapped[list[list[Any]]] = mapped_column(JSONType, comment="[[id, content hash], …] scored")
    dictionary_hash: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    phase: Mapped[str] = mapped_column(String(40), default="")
    percent: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str] = mapped_column(String(60), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str] = mapped_column(String(80), default="")
    result_hash: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[bytes | None] = mapped_column(LargeBinary, comment="the report's summary, gzip-compressed JSON")
    scenario_results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    scenarios_passed: Mapped[bool | None] = mapped_column(Boolean)
    subjects_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_by_ref: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                             comment="last sign of life of the process running it")

    scheme: Mapped[Scheme] = relationship()
    candidate: Mapped[SchemeVersion] = relationship(foreign_keys=[candidate_version_id])
    baseline: Mapped[SchemeVersion | None] = relationship(foreign_keys=[baseline_version_id])


class SimulationSubject(Base):
    """One subject of one period of a succeeded run, under both versions (``_c`` candidate, ``_b``
    baseline). The attribution behind the totals is in :class:`SimulationDetail`."""

    __tablename__ = "simulation_subjects"
    __table_args__ = (
        Index("ix_simulation_subjects_run_period_code", "run_id", "period", "code"),
        Index("ix_simulation_subjects_run_period_delta", "run_id", "period", "delta_total"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("simulation_runs.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100), default="")
    procuratorate_id: Mapped[int | None] = mapped_column(Integer)
    business_code: Mapped[str | None] = mapped_column(String(32))
    line: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    status_c: Mapped[str | None] = mapped_column(String(16))
    status_b: Mapped[str | None] = mapped_column(String(16))
    total_c: Mapped[float | None] = mapped_column(Float)
    total_b: Mapped[float | None] = mapped_column(Float)
    grade_c: Mapped[str | None] = mapped_column(String(40))
    grade_b: Mapped[str | None] = mapped_column(String(40))
    rank_c: Mapped[int | None] = mapped_column(Integer)
    rank_b: Mapped[int | None] = mapped_column(Integer)
    delta_total: Mapped[float | None] = mapped_column(Float)
    delta_rank: Mapped[int | None] = mapped_column(Integer)
    grade_move: Mapped[int | None] = mapped_column(Integer)


class SimulationDetail(Base):
    """The attribution of every subject of one period of a run under both versions — per indicator,
    adjustment and cap, as compact JSON per subject (``engine.simreport.detail_expr``) — kept as one
    zstd-compressed Parquet file (columns ``code``, ``detail_c``, ``detail_b``): about a tenth of the
    size of a JSON column per row, and read whole in milliseconds when "why did X move" is asked."""

    __tablename__ = "simulation_details"
    __table_args__ = (UniqueConstraint("run_id", "period", name="uq_simulation_details_run_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("simulation_runs.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)


IDEMPOTENCY_STATES = ("in_progress", "done")


class IdempotencyKey(Base):
    """The first answer to a POST sent with an ``Idempotency-Key`` header, replayed to its retries for
    24 hours (see :mod:`rulesvc.api.idempotency`). Keys are per caller: ``key:<id>`` or ``user:<id>``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("state IN ('in_progress', 'done')", name="state"),
        UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(
        String(40), comment="the credential: key:<id> (API key) or user:<id> (signed-in person)")
    key: Mapped[str] = mapped_column(String(255), comment="the Idempotency-Key header as sent")
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64), comment="sha256 of the query string and the body")
    state: Mapped[str] = mapped_column(String(16), default="in_progress", comment="in_progress, done")
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(200))
    response_headers: Mapped[dict[str, str] | None] = mapped_column(
        JSONType, comment="other headers of the answer to replay (Location…)")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Publication(Base):
    """A period's results under a version, published (发布): frozen for good. The whole bulk result is kept
    (``frame``, zstd Parquet) with each subject's card in :class:`PublicationCard`; ``result_hash`` is the
    sha256 of the figures. A correction is a new publication (``sequence`` + 1, ``supersedes_id``,
    ``reason``); both stay readable. Database triggers refuse any UPDATE or DELETE."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("scheme_id", "period", "sequence", name="uq_publications_scheme_period_sequence"),
        Index("ix_publications_scheme_period", "scheme_id", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("scheme_versions.id"))
    procuratorate_id: Mapped[int] = mapped_column(ForeignKey("procuratorates.id"), index=True,
                                                  comment="the scheme's procuratorate (who may see the publication)")
    period: Mapped[str] = mapped_column(String(16), comment="2020, 2020-Q3 or 2020-07")
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer, comment="1 for the first; a correction is +1")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="", comment="why a correction was published")
    content_hash: Mapped[str] = mapped_column(String(64), comment="the version's content hash")
    datasets: Mapped[list[list[Any]]] = mapped_column(JSONType, comment="[[id, content hash], …] scored")
    dictionary_hash: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    result_hash: Mapped[str] = mapped_column(String(64), comment="sha256 of the published figures")
    subjects_count: Mapped[int] = mapped_column(Integer)
    graded_count: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, comment="grade counts and totals, for lists")
    # The blobs load when read (each request names a publication; its frames are cached in the process).
    frame: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, comment="the bulk result, zstd Parquet")
    left_out: Mapped[bytes] = mapped_column(LargeBinary, deferred=True,
                                            comment="who was not evaluated and why, zstd Parquet")
    extra: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True,
                                                comment="procuratorate schemes: monthly streaks, zstd Parquet")
    published_by: Mapped[str] = mapped_column(String(120))
    published_by_ref: Mapped[str] = mapped_column(String(40))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    scheme: Mapped[Scheme] = relationship()
    version: Mapped[SchemeVersion] = relationship()


class PublicationCard(Base):
    """One subject's published score card (gzip-compressed JSON), with total, grade and place for lists."""

    __tablename__ = "publication_cards"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    procuratorate_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(40))
    place: Mapped[int | None] = mapped_column(Integer)
    card: Mapped[bytes] = mapped_column(LargeBinary, comment="the score card, gzip-compressed JSON")


class FrozenVersionError(RuntimeError):
    """An attempt, through the ORM, to change a scheme version that left draft."""


@event.listens_for(SchemeVersion, "before_update")
def _refuse_frozen_changes(mapper: Any, connection: Any, target: SchemeVersion) -> None:
    """The ORM's own guard (the database triggers are the floor): content of a version that left draft
    never changes, whoever flushes it."""
    status = attributes.get_history(target, "status")
    was = status.deleted[0] if status.deleted else target.status
    if is_editable(was):
        return
    changed = [c for c in VERSION_CONTENT_COLUMNS if attributes.get_history(target, c).has_changes()]
    if changed:
        raise FrozenVersionError(
            f"scheme version {target.id} is {was}: {', '.join(changed)} cannot change "
            "(已提交的版本内容不可修改，请新建版本)")
