"""Who contributed to a version's content — by *person*, whatever credential they used.

Four eyes (四眼原则): nobody who created, edited, copied content into, rebased or submitted a version
approves or rejects it. A person is ``user:<id>`` whether they act through a signed-in session or an
API key they own; a key that belongs to no one is a named system (``system:key-<id>``) whose work also counts
as that of the person who created it; the server's command line is ``system:<name>``.

Contributions are recorded on the version (``version_contributions``) as the change is made, in the same
transaction, so the check never reads the audit log. A copy carries its source's contributors along
(role ``copied``), so content written by B and copied by A into a new version is still B's to stay away
from.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.errors import PermissionDenied
from rulesvc.persistence.models import SchemeVersion, VersionContribution, utcnow
from rulesvc.services.governance.access import Actor

ROLE_LABELS = {"created": "编写", "edited": "修改", "copied": "复制来源", "rebased": "跟进上级新版本", "submitted": "提交"}
ROLE_LABELS_EN = {"created": "wrote", "edited": "edited", "copied": "wrote content copied into it",
                  "rebased": "rebased", "submitted": "submitted"}


def add(session: Session, version: SchemeVersion, actor: Actor, role: str) -> None:
    """Record that ``actor``'s person contributed to ``version`` as ``role`` (once per person and role). A key
    of no one also records the person who created it: its work is theirs for four eyes (an administrator must not
    write through a key they made and approve in person)."""
    people = [(actor.person, actor.name)]
    creator = actor.extra.get("key_creator") if actor.extra else None
    if creator and creator != actor.person:
        people.append((str(creator), f"{actor.name} 的创建者"))
    for person, name in people:
        exists = session.scalar(select(VersionContribution.id).where(
            VersionContribution.version_id == version.id, VersionContribution.person == person,
            VersionContribution.role == role).limit(1))
        if exists is None:
            session.add(VersionContribution(version_id=version.id, person=person, name=name[:120], role=role,
                                            via=actor.ref[:40], at=utcnow()))
    session.flush()


def copy_from(session: Session, source: SchemeVersion, target: SchemeVersion) -> None:
    """``target``'s content was copied from ``source``: everyone who contributed to ``source`` contributed
    to ``target`` (role ``copied``)."""
    seen: set[str] = set()
    for c in of(session, source):
        if c.person in seen:
            continue
        seen.add(c.person)
        session.add(VersionContribution(version_id=target.id, person=c.person, name=c.name, role="copied", via=c.via,
                                        at=utcnow(), from_version_id=source.id))
    session.flush()


def of(session: Session, version: SchemeVersion) -> list[VersionContribution]:
    return list(session.scalars(select(VersionContribution).where(VersionContribution.version_id == version.id)
                                .order_by(VersionContribution.id)))


def roles_of(session: Session, version: SchemeVersion, person: str) -> list[str]:
    return sorted({c.role for c in of(session, version) if c.person == person})


def require_other_person(session: Session, actor: Actor, version: SchemeVersion) -> None:
    """Four eyes: ``actor``'s person must not have contributed to ``version``."""
    roles = roles_of(session, version, actor.person)
    if roles:
        raise PermissionDenied(
            msg("version.four_eyes", roles=[ROLE_LABELS.get(r, r) for r in roles],
                roles_en=[ROLE_LABELS_EN.get(r, r) for r in roles]),
            errors={"reviewer": [msg("version.four_eyes", roles=[ROLE_LABELS.get(r, r) for r in roles],
                                     roles_en=[ROLE_LABELS_EN.get(r, r) for r in roles])]},
            roles=roles)


def view(session: Session, version: SchemeVersion) -> list[dict[str, object]]:
    return [{"person": c.person, "name": c.name, "role": c.role, "role_label": ROLE_LABELS.get(c.role, c.role),
             "via": c.via, "at": c.at.isoformat() if c.at else None, "from_version_id": c.from_version_id}
            for c in of(session, version)]
