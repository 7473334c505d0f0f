"""What the workflow buttons of a version may do for a person (issue 12, page 7), and their inbox.

For one version and one person: the steps their role may take in its state (提交审核, 批准, 退回, 生效, 停用,
跟进上级新版本), each usable or not with the condition in words — read from the same services the steps call
(:mod:`rulesvc.persistence.lifecycle` for the state, :mod:`rulesvc.services.governance.access` for the
permission, :mod:`rulesvc.services.governance.contributors` for four eyes, :mod:`rulesvc.services.simulation.gate`
for the simulation a approval rests on, the editor's lint findings for a draft's errors). Nothing here changes
anything: the steps themselves are the versions service's (``versions.submit`` …), called by the views exactly
as the API calls them, so a button shown usable that the service then refuses still gets the service's answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from rulesvc.catalogue import Words, msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import Conflict, NotFound, PermissionDenied
from rulesvc.persistence import lifecycle
from rulesvc.persistence.lifecycle import Status
from rulesvc.persistence.models import Scheme, SchemeVersion, SimulationRun
from rulesvc.schema.scheme import content_hash
from rulesvc.services import localtime
from rulesvc.services.designer_edit import findings_of
from rulesvc.services.designer_simulation import gate_summary
from rulesvc.services.governance import contributors, versions
from rulesvc.services.governance.access import Actor, require

WORDS = {
    "zh": {"lint": "有 {n} 处错误须先改正（见编辑页）", "unresolved": "草稿的本地修改已不能应用于上级版本，须先修改",
           "draft_exists": "本方案已有草稿第 {n} 版：请在该草稿上跟进", "newest": "只有本方案最新的版本可以跟进上级新版本",
           "conflicts_open": "本草稿还有 {n} 处冲突未处理：请先处理，再跟进更新的上级版本",
           "run": "模拟测评 #{id}（{periods}）",
           "unsimulated": "本版本当前的内容还没有模拟测评：审核人须凭它批准，请提交前先运行模拟测评",
           "stale_run": "模拟测评 #{id} 针对的是之后又修改过的内容（改说明文字也算）：审核人须凭当前内容的模拟测评批准，"
                        "请提交前重新运行",
           "since": "这次模拟之后，{what}：报告中的数字可能已与现在的不同，可在批准前重新运行模拟测评",
           "since_engine": "计分引擎已升级（{then} → {now}）", "since_data": "本期的案件数据有变动（导入、更正或撤回）",
           "since_dictionary": "数据字典已修改", "and": "，"},
    "en": {"lint": "{n} errors must be fixed first (see the editor)",
           "unresolved": "The draft's local changes no longer apply to the version above: change them first",
           "draft_exists": "This scheme already has a draft (version {n}): take up the new version there",
           "conflicts_open": "This draft has {n} open conflicts: settle them, then follow the newer version above",
           "newest": "Only the newest version of the scheme takes up a new parent version",
           "run": "simulation #{id} ({periods})",
           "unsimulated": "This version's content has no simulation yet: the reviewer approves on one, so run it "
                          "before submitting",
           "stale_run": "Simulation #{id} ran on content changed since (a changed description counts too): the "
                        "reviewer approves on a simulation of the content as it is, so run it again before submitting",
           "since": "Since this simulation {what}: its figures may no longer be today's; you may run it again before "
                    "approving",
           "since_engine": "the scoring engine has been upgraded ({then} → {now})",
           "since_data": "the case data of its periods has changed (an import, a correction or a withdrawal)",
           "since_dictionary": "the data dictionary has changed", "and": "; "},
}


@dataclass
class Button:
    """One step the person's role may take in the version's state; ``why_not`` says why it cannot be used now."""

    step: str
    why_not: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.why_not


@dataclass
class Workflow:
    buttons: dict[str, Button] = field(default_factory=dict)
    run: SimulationRun | None = None  # the run an approval would rest on
    run_words: str = ""
    run_summary: list[str] = field(default_factory=list)  # what that run found (designer_simulation.gate_summary)
    run_since: str = ""  # what changed since that run besides the content (engine, data, dictionary): said, not refused
    new_parents: list[SchemeVersion] = field(default_factory=list)  # newer published versions above
    conflicts: int = 0
    simulate: bool = False  # the simulations page is worth a link (a draft or a version in review)
    drift: bool = False  # a template version: the drift report of its localizations
    revise: bool = False  # a version no longer a draft, of a scheme the person edits: 修订 starts (or opens) a draft
    open_draft: int | None = None  # the scheme's draft that 修订 opens instead of starting another
    unsimulated: str = ""  # a draft whose content as it is has no succeeded simulation: said beside 提交审核

    def has(self, step: str) -> bool:
        return step in self.buttons


def _text(m: Any, lang: str) -> str:
    return m.render(lang) if hasattr(m, "render") else str(m)


def _refusal(exc: Exception, lang: str) -> str:
    found = getattr(exc, "msg", None)
    return _text(found, lang) if found is not None else str(exc)


def four_eyes(session: Session, actor: Actor, v: SchemeVersion, lang: str) -> str | None:
    """The four-eyes refusal (in words) when ``actor``'s person contributed to ``v``, else ``None``."""
    try:
        contributors.require_other_person(session, actor, v)
    except PermissionDenied as exc:
        return _refusal(exc, lang)
    return None


def _unsimulated(session: Session, v: SchemeVersion, content: str, words: dict[str, str]) -> str:
    """What to say beside 提交审核 when no succeeded simulation of the draft's content as it is exists (a designer
    who corrected only the description after simulating submitted, and the reviewer found nothing to approve on)."""
    runs = session.execute(select(SimulationRun.id, SimulationRun.candidate_hash).where(
        SimulationRun.candidate_version_id == v.id, SimulationRun.status == "succeeded")
        .order_by(SimulationRun.id.desc())).all()
    if any(h == content for _, h in runs):
        return ""
    return words["stale_run"].format(id=runs[0][0]) if runs else words["unsimulated"]


def workflow(session: Session, actor: Actor, v: SchemeVersion, dictionary: Dictionary, *, lang: str = "zh") -> Workflow:
    """The buttons of version ``v`` for ``actor`` (only those their role may use in its state)."""
    words = WORDS[lang]
    out = Workflow()
    own = actor.in_scope(v.scheme.procuratorate_id)
    status = v.status
    out.simulate = own and status in (Status.DRAFT, Status.IN_REVIEW)
    out.drift = v.parent_id is None and lifecycle.is_published(status)
    if not own:
        return out
    if actor.may("edit") and lifecycle.is_editable(status):
        b = out.buttons["submit"] = Button("submit")
        out.conflicts = len(v.document.get("conflicts") or [])
        if out.conflicts:
            b.why_not.append(_text(msg("version.conflicts_open", count=out.conflicts), lang))
        resolved = versions.resolve_quietly(v)
        if resolved is None:
            b.why_not.append(words["unresolved"])
        else:
            errors = sum(1 for fs in findings_of(resolved, dictionary, lang).values() for f in fs if f.level == "error")
            if errors:
                b.why_not.append(words["lint"].format(n=errors))
            out.unsimulated = _unsimulated(session, v, content_hash(resolved), words)
    if status == Status.IN_REVIEW and actor.may("review"):
        refusal = four_eyes(session, actor, v, lang)
        approve, reject = Button("approve"), Button("reject")
        if refusal:
            approve.why_not.append(refusal)
            reject.why_not.append(refusal)
        try:
            out.run, _ = _gate(session, v)
            out.run_words = words["run"].format(id=out.run.id, periods="、".join(out.run.periods) if lang == "zh"
                                                else ", ".join(out.run.periods))
            out.run_summary = gate_summary(out.run, lang)
            out.run_since = _since(session, out.run, dictionary, words)
        except (Conflict, NotFound) as exc:
            approve.why_not.append(_refusal(exc, lang))
        out.buttons["approve"], out.buttons["reject"] = approve, reject
    if actor.may("activate"):
        if status == Status.APPROVED:
            out.buttons["activate"] = Button("activate")
        if status in (Status.APPROVED, Status.ACTIVE):
            out.buttons["retire"] = Button("retire")
        if status == Status.ACTIVE and v.effective_from is not None and v.effective_from > localtime.today():
            b = out.buttons["unschedule"] = Button("unschedule")
            children = versions.children_in_force(session, v)
            if children:
                b.why_not.append(_text(versions.children_message(v, children), lang))
    if actor.may("edit") and not lifecycle.is_editable(status) and status != Status.IN_REVIEW:
        out.revise = True
        drafts = [x.number for x in v.scheme.versions if lifecycle.is_editable(x.status)]
        out.open_draft = drafts[-1] if drafts else None
    if actor.may("edit") and v.parent is not None:
        out.new_parents = newer_parents(actor, v)
        if out.new_parents:
            b = out.buttons["rebase"] = Button("rebase")
            newest = max(x.number for x in v.scheme.versions)
            drafts = [x.number for x in v.scheme.versions if lifecycle.is_editable(x.status)]
            if v.number != newest:
                b.why_not.append(words["newest"])
            elif drafts and not lifecycle.is_editable(status):
                b.why_not.append(words["draft_exists"].format(n=drafts[-1]))
            elif v.document.get("conflicts"):
                b.why_not.append(words["conflicts_open"].format(n=len(v.document["conflicts"])))
    return out


def _since(session: Session, run: SimulationRun, dictionary: Dictionary, words: dict[str, str]) -> str:
    """What changed since the run approval rests on, besides the content (``gate.changed_since``), in words."""
    from rulesvc.services.simulation import gate

    changed = gate.changed_since(session, run, dictionary)
    parts = []
    if "engine" in changed:
        parts.append(words["since_engine"].format(then=changed["engine"][0], now=changed["engine"][1]))
    parts += [words[f"since_{k}"] for k in ("data", "dictionary") if k in changed]
    return words["since"].format(what=words["and"].join(parts)) if parts else ""


def _gate(session: Session, v: SchemeVersion) -> tuple[SimulationRun, list[Any]]:
    """The run approval would rest on (the gate's own choice), or the gate's refusal."""
    from rulesvc.services.simulation import gate

    return gate.run_for_approval(session, v, None)


STEP_PERMISSIONS = {"submit": "edit", "delete": "edit", "rebase": "edit", "settle": "edit", "approve": "review", "reject": "review", "activate": "activate",
                    "retire": "activate", "unschedule": "activate"}


def require_step(actor: Actor, v: SchemeVersion, step: str) -> None:
    """The permission ``step`` needs on ``v``'s procuratorate (the service's own check), or PermissionDenied."""
    require(actor, STEP_PERMISSIONS[step], v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))


def newer_parents(actor: Actor, v: SchemeVersion) -> list[SchemeVersion]:
    """Approved or active versions of ``v``'s parent scheme newer than its parent, that ``actor`` may see."""
    parent = v.parent
    if parent is None:
        return []
    return [x for x in versions.visible_versions(actor, parent.scheme)
            if x.number > parent.number and x.status in (Status.APPROVED, Status.ACTIVE)]


# -- the inbox -------------------------------------------------------------------------------------------------


@dataclass
class InboxLine:
    code: str
    scheme_name: str
    procuratorate: str
    number: int
    status: str
    change_note: str
    submitted_by: str | None
    submitted_at: dt.datetime | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    simulated: bool  # a run the gate accepts exists (approve is usable)
    why_not: str = ""


def inbox(session: Session, actor: Actor, *, lang: str = "zh") -> dict[str, list[InboxLine]]:
    """What waits for ``actor``: versions in review they may approve (never ones they contributed to), and
    approved versions they may put in force. Empty for those who may do neither."""
    out: dict[str, list[InboxLine]] = {"review": [], "activate": []}
    wanted = [s for s, ok in ((Status.IN_REVIEW.value, actor.may("review")),
                              (Status.APPROVED.value, actor.may("activate"))) if ok]
    if not wanted:
        return out
    rows = session.scalars(select(SchemeVersion).join(Scheme).where(SchemeVersion.status.in_(wanted))
                           .options(defer(SchemeVersion.document), defer(SchemeVersion.resolved))  # a list reads neither
                           .order_by(SchemeVersion.submitted_at, SchemeVersion.id)).all()
    for v in rows:
        if not actor.in_scope(v.scheme.procuratorate_id):
            continue
        line = InboxLine(code=v.scheme.code, scheme_name=v.scheme.name, procuratorate=v.scheme.procuratorate.name,
                         number=v.number, status=v.status, change_note=v.change_note or "",
                         submitted_by=v.submitted_by, submitted_at=v.submitted_at, reviewed_by=v.reviewed_by,
                         reviewed_at=v.reviewed_at, simulated=True)
        if v.status == Status.IN_REVIEW:
            if four_eyes(session, actor, v, lang):
                continue  # not theirs to review
            try:
                _gate(session, v)
            except (Conflict, NotFound) as exc:
                line.simulated, line.why_not = False, _refusal(exc, lang)
            out["review"].append(line)
        else:
            out["activate"].append(line)
    return out


__all__ = ["Button", "InboxLine", "Workflow", "four_eyes", "inbox", "newer_parents", "require_step", "workflow"]
