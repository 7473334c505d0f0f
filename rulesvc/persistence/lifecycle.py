"""The lifecycle of a scheme version, declared once: its states, and the steps that move between them.

::

    draft ──submit──▶ in_review ──approve──▶ approved ──activate──▶ active ──retire──▶ retired
      ▲                   │                   ▲  │                     │                ▲
      └──────reject───────┘                   │  └─────────retire──────┼────────────────┘
                                              └──────unschedule────────┘  (only before its first day)

``unschedule`` (撤销生效安排) takes back a go-live that has not happened yet: a version set to come into force on
a later date goes back to approved, with no dates, and the version it was to replace stays in force. Once its
first day has come, a version in force only ends (停用) — its days in force are history.

Every change of a version's status goes through :func:`advance`, which checks the step against this
table; the database triggers (migration 0002, last rewritten by 0012) refuse any other edge (``EDGES`` below is the same set,
and ``tests/unit/test_lifecycle.py`` holds the two together). Nothing else in the code compares status
strings: it asks this module (``is_editable``, ``is_published``, ``can_be_in_force``, ``steps_from``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Status(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ACTIVE = "active"
    RETIRED = "retired"


class Step(enum.StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    ACTIVATE = "activate"
    RETIRE = "retire"
    UNSCHEDULE = "unschedule"


@dataclass(frozen=True)
class Transition:
    step: Step
    sources: frozenset[Status]
    target: Status
    permission: str  # the action an actor needs (rulesvc.services.governance.access.ACTIONS)
    label: str  # 中文
    label_en: str


TRANSITIONS: dict[Step, Transition] = {t.step: t for t in (
    Transition(Step.SUBMIT, frozenset({Status.DRAFT}), Status.IN_REVIEW, "edit", "提交审核", "submitted"),
    Transition(Step.APPROVE, frozenset({Status.IN_REVIEW}), Status.APPROVED, "review", "批准", "approved"),
    Transition(Step.REJECT, frozenset({Status.IN_REVIEW}), Status.DRAFT, "review", "退回", "rejected"),
    Transition(Step.ACTIVATE, frozenset({Status.APPROVED}), Status.ACTIVE, "activate", "生效", "activated"),
    Transition(Step.RETIRE, frozenset({Status.APPROVED, Status.ACTIVE}), Status.RETIRED, "activate", "停用", "retired"),
    Transition(Step.UNSCHEDULE, frozenset({Status.ACTIVE}), Status.APPROVED, "activate", "撤销生效安排",
               "unscheduled"),
)}

STATUS_LABELS: dict[str, str] = {Status.DRAFT: "草稿", Status.IN_REVIEW: "审核中", Status.APPROVED: "已批准",
                                 Status.ACTIVE: "已生效", Status.RETIRED: "已停用"}
STATUS_LABELS_EN: dict[str, str] = {Status.DRAFT: "a draft", Status.IN_REVIEW: "in review", Status.APPROVED: "approved",
                                    Status.ACTIVE: "active", Status.RETIRED: "retired"}
VERSION_STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# Every (from, to) edge the table allows: what the database triggers accept.
EDGES: frozenset[tuple[str, str]] = frozenset(
    (src.value, t.target.value) for t in TRANSITIONS.values() for src in t.sources)

EDITABLE = frozenset({Status.DRAFT})
PUBLISHED = frozenset({Status.APPROVED, Status.ACTIVE, Status.RETIRED})
IN_FORCE_CAPABLE = frozenset({Status.ACTIVE, Status.RETIRED})  # may have days in force


class HasStatus(Protocol):
    status: str


class TransitionRefused(Exception):
    """``step`` is not allowed from the version's current status (the service turns it into a 409)."""

    def __init__(self, step: Step, status: str) -> None:
        super().__init__(f"{step} from {status}")
        self.step = step
        self.status = status


def is_editable(status: str) -> bool:
    return status in EDITABLE


def is_published(status: str) -> bool:
    return status in PUBLISHED


def can_be_in_force(status: str) -> bool:
    return status in IN_FORCE_CAPABLE


def steps_from(status: str) -> list[Step]:
    """The steps the table allows from ``status`` (who may take them is another matter)."""
    return [t.step for t in TRANSITIONS.values() if status in t.sources]


def check(version: HasStatus, step: Step) -> Transition:
    t = TRANSITIONS[step]
    if version.status not in t.sources:
        raise TransitionRefused(step, version.status)
    return t


def advance(version: HasStatus, step: Step) -> Transition:
    """Move ``version`` along ``step`` (after :func:`check`); returns the transition taken."""
    t = check(version, step)
    version.status = t.target.value
    return t


__all__ = ["EDGES", "EDITABLE", "IN_FORCE_CAPABLE", "PUBLISHED", "STATUS_LABELS", "STATUS_LABELS_EN", "TRANSITIONS",
           "VERSION_STATUSES", "Status", "Step", "Transition", "TransitionRefused", "advance", "can_be_in_force", "check",
           "is_editable", "is_published", "steps_from"]
