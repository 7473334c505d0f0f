"""Publishing a period's results (发布): the figures other systems file away, frozen for good.

``publish`` scores the period under the version in force on its first day (or a named version that has
been in force), on the data in use now, and writes the whole bulk result (Parquet) and every subject's
card as one publication, with the hash of the figures, the version's content hash, the dataset hashes,
the dictionary hash and the engine version — in one transaction, with its audit record. From then on
evaluations, rankings, batches and history of that scheme and period answer with these figures and say
``figures: "published"``, whatever is imported or activated later.

Database triggers refuse any UPDATE or DELETE of publications and their cards. A correction (更正) is
a new publication that names the latest one and gives a reason; both stay readable, the newest is
answered.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.texts import visible
from rulesvc.errors import Conflict, InvalidInput, NotFound
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import (
    Procuratorate,
    Publication,
    PublicationCard,
    SchemeVersion,
    as_utc,
    utcnow,
)
from rulesvc.schema import limits
from rulesvc.services import evaluation, localtime, results
from rulesvc.services.designer_words import STATUS_WORDS
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import Actor, require, require_read

MAX_REASON = limits.MAX_TEXT_CHARS  # as every other reason (README: 4,000 characters)


def publish(session: Session, actor: Actor, dictionary: Dictionary, *, scheme: str, period: str,
            version_id: int | None = None, reason: str = "", supersedes: int | None = None,
            cache_dir: str | Path | None = None, today: dt.date | None = None,
            accept_fewer_graded: bool = False) -> Publication:
    """Publish ``scheme``'s results for ``period`` (needs *activate* on the scheme's procuratorate).

    Refused: an open period; a period already published (unless ``supersedes`` names its latest
    publication, with a ``reason``); a version never in force; a correction that would change nothing; a
    correction grading fewer than half as many as the publication it replaces, unless ``accept_fewer_graded``."""
    s = versions.get_scheme(session, actor, scheme)
    require(actor, "activate", s.procuratorate_id, what=Words(f"方案 {scheme}", f"Scheme {scheme}"), doing=("发布考评结果", "publish results"))
    p = results.parse(period)
    if p.end >= (today or localtime.today()):
        bad = msg("publication.period_open", period=p.label, end=p.end.isoformat())
        raise InvalidInput(bad, errors={"period": [bad]})
    reason = visible(reason)
    if len(reason) > MAX_REASON:
        bad = msg("field.too_long", limit=MAX_REASON)
        raise InvalidInput(bad, errors={"reason": [bad]})
    latest = results.current_publication(session, s.id, p.label)
    if supersedes is None and latest is not None:
        raise Conflict(msg("publication.exists", code=s.code, period=p.label, id=latest.id,
                           at=_when(latest.published_at), zone=localtime.label("zh"),
                           zone_en=localtime.label("en")), errors={"publication_id": [latest.id]})
    if supersedes is not None:
        old = session.get(Publication, supersedes)
        if old is None or old.scheme_id != s.id or old.period != p.label:
            raise NotFound(msg("not_found.publication", id=supersedes))
        assert latest is not None
        if latest.id != old.id:
            raise Conflict(msg("publication.not_current", id=old.id, by=latest.id), errors={"publication_id": [latest.id]})
        if not reason:
            bad = msg("publication.reason_required")
            raise InvalidInput(bad, errors={"reason": [bad]})
    v = _version(session, actor, s.code, p, version_id)
    fig = results.provisional_figures(session, v, dictionary, p, cache_dir=cache_dir)
    if fig.frame.height == 0:
        bad = msg("publication.no_subjects", period=p.label)
        raise InvalidInput(bad, errors={"period": [bad]})
    if not fig.datasets:  # a mistyped year would freeze everyone at "did nothing", for good
        bad = msg("publication.no_data", period=p.label)
        raise InvalidInput(bad, errors={"period": [bad]})
    graded = fig.frame.filter(pl.col("status") == EVALUATED)
    if graded.height == 0:
        bad = msg("publication.nobody_graded", period=p.label, subjects=fig.frame.height)
        raise InvalidInput(bad, errors={"period": [bad]})
    # A correction that grades fewer than half as many as the figures it replaces is asked to be confirmed: a review
    # withdrew the year's dataset, imported three people's events and replaced 2,845 graded with 3.
    if supersedes is not None and latest is not None and graded.height * 2 < latest.graded_count \
            and not accept_fewer_graded:
        bad = msg("publication.graded_drop", before=latest.graded_count, after=graded.height, id=latest.id)
        raise InvalidInput(bad, errors={"accept_fewer_graded": [bad]})
    cards = _cards(session, fig)
    frame = _stored_frame(fig)
    left_out = fig.left_out
    streaks = _streaks(session, fig, dictionary, cache_dir)
    # Frozen with the figures: the monthly marks, each month with the publication it was read from (if any)
    extra = None if streaks is None else streaks.marks.with_columns(
        pl.col("month").replace_strict(streaks.published, default=None, return_dtype=pl.Int64).alias("publication"))
    digest = _result_hash(cards, left_out, extra)
    # A correction that changes nothing is refused — judged by the results, not by the recorded inputs: a
    # prosecutor moved to another unit (the directory) changes places and groups under the same version and
    # datasets, and that correction must be publishable.
    if supersedes is not None and latest is not None and digest == latest.result_hash:
        raise Conflict(msg("publication.unchanged", id=latest.id), errors={"publication_id": [latest.id]})
    pub = Publication(
        scheme_id=s.id, version_id=v.id, procuratorate_id=s.procuratorate_id, period=p.label,
        period_start=p.start, period_end=p.end, sequence=(latest.sequence + 1) if latest else 1,
        supersedes_id=latest.id if supersedes is not None and latest else None, reason=reason,
        content_hash=fig.compiled.scheme.content_hash, datasets=[[i, h] for i, h in fig.datasets],
        dictionary_hash=fig.dictionary_hash, engine_version=fig.engine_version, result_hash=digest,
        subjects_count=fig.frame.height, graded_count=graded.height, summary=_summary(fig, graded),
        frame=results.write_parquet(frame), left_out=results.write_parquet(left_out),
        extra=results.write_parquet(extra) if extra is not None else None,
        published_by=actor.name[:120], published_by_ref=actor.ref[:40], published_at=utcnow())
    try:
        with session.begin_nested():  # another publication of the period landing first: 409, not a 500
            session.add(pub)
            session.flush()
    except IntegrityError:
        other = results.current_publication(session, s.id, p.label)
        if supersedes is not None and other is not None:  # another correction of the same one landed first
            raise Conflict(msg("publication.not_current", id=supersedes, by=other.id),
                           errors={"publication_id": [other.id]}) from None
        raise Conflict(msg("publication.exists", code=s.code, period=p.label, id=other.id if other else "?",
                           at=_when(other.published_at) if other else "?", zone=localtime.label("zh"),
                           zone_en=localtime.label("en")),
                       errors={"publication_id": [other.id] if other else []}) from None
    session.add_all(PublicationCard(publication_id=pub.id, code=c["subject"]["code"], procuratorate_id=pid,
                                    status=c["status"], total=c["total"], grade=c["grade"], place=c["rank"]["place"],
                                    card=gzip.compress(evaluation.canonical(c), 6, mtime=0))
                    for pid, c in cards)
    session.flush()
    what = "publication.supersede" if supersedes is not None else "publication.publish"
    summary = (f"发布 {s.code} {p.label} 考评结果（第 {v.number} 版，{pub.subjects_count} 个考评对象）" if supersedes is None
               else f"更正 {s.code} {p.label} 已发布的结果：发布 #{pub.id} 取代 #{supersedes}（{reason}）")
    summary_en = (f"Published the results of {s.code} {p.label} (version {v.number}, {pub.subjects_count} evaluated)"
                  if supersedes is None else f"Corrected the published results of {s.code} {p.label}: publication "
                                             f"#{pub.id} supersedes #{supersedes} ({reason})")
    audit.record(session, actor, what, scheme=s, version=v, summary=summary, summary_en=summary_en,
                 detail={"publication_id": pub.id, "period": p.label, "result_hash": digest,
                         "datasets": pub.datasets, "supersedes": pub.supersedes_id, "reason": reason})
    return pub


def _when(moment: dt.datetime) -> str:
    """A publication's time as messages say it: in the site's zone ("2026-12-07 12:31", the zone named beside it)."""
    return localtime.text(as_utc(moment))


def _version(session: Session, actor: Actor, code: str, p: Any, version_id: int | None) -> SchemeVersion:
    if version_id is None:
        return versions.version_in_effect(session, actor, code, p.start)
    v = versions.get_version(session, actor, version_id)
    if v.scheme.code != code:
        bad = msg("publication.version_other_scheme", version_id=version_id, code=code)
        raise InvalidInput(bad, errors={"version_id": [bad]})
    if not lifecycle.can_be_in_force(v.status) or v.effective_from is None:
        bad = msg("publication.version_not_in_force", version_id=v.id, number=v.number,
                  status=STATUS_WORDS["zh"].get(v.status, v.status), status_en=STATUS_WORDS["en"].get(v.status, v.status))
        raise InvalidInput(bad, errors={"version_id": [bad]})
    in_force = versions.version_in_effect(session, actor, code, p.start)
    if in_force.id != v.id:  # a period's results are those of its own rules (as when no version is named)
        bad = msg("publication.version_not_for_period", version_id=v.id, number=v.number, period=p.label,
                  start=p.start.isoformat(), in_force=in_force.number)
        raise InvalidInput(bad, errors={"version_id": [bad]})
    return v


def _cards(session: Session, fig: results.Figures) -> list[tuple[int, dict[str, Any]]]:
    """Every subject's card, its head checked against the bulk row it must equal."""
    orgs = {r.id: {"code": r.code, "name": r.name}
            for r in session.execute(select(Procuratorate.id, Procuratorate.code, Procuratorate.name)).all()}
    out = []
    computed = fig.computed
    assert computed is not None  # a publication freezes figures computed now
    for row in results.ranked(fig).sort("code").iter_rows(named=True):
        full = evaluation.summary_of(computed.explain(fig.compiled, row, fig.period.label))
        ranks = {"place": row["place"], "group_size": row["group_size"], "percentile": row["percentile"]}
        out.append((row["procuratorate_id"], evaluation.card_of(session, fig, row, full, orgs, ranks)))
    return out


def _stored_frame(fig: results.Figures) -> pl.DataFrame:
    """The bulk result as published, every column: the ``peer__`` ones too, so that a published card's full
    trace is explained among the very peers it was scored among (``engine.bulk.peers_of_frame``), whatever
    the directory says later. (Publications made before 2026-12-07 lack them: see ``evaluation``.)"""
    return fig.frame


def _streaks(session: Session, fig: results.Figures, dictionary: Dictionary,
             cache_dir: str | Path | None) -> Any:
    """Procuratorate schemes with streak naming: the monthly streaks over the period, frozen with it
    (``comparisons.Streaks``: earlier months already published are read from their publications)."""
    from rulesvc.services import comparisons

    pc = fig.compiled.scheme.peers
    if fig.compiled.scheme.subject != "procuratorate" or pc is None or not pc.streak:
        return None
    return comparisons.monthly_streaks(session, fig, dictionary, cache_dir)


def _result_hash(cards: list[tuple[int, dict[str, Any]]], left_out: pl.DataFrame, extra: pl.DataFrame | None) -> str:
    h = hashlib.sha256()
    for _, c in cards:
        h.update(evaluation.canonical(c))
        h.update(b"\n")
    h.update(evaluation.canonical(left_out.to_dicts()))
    if extra is not None:
        h.update(evaluation.canonical(extra.to_dicts()))
    return h.hexdigest()


def _summary(fig: results.Figures, graded: pl.DataFrame) -> dict[str, Any]:
    counts = {r["grade"]: r["len"] for r in graded.group_by("grade").len().to_dicts()} if graded.height else {}
    g = fig.compiled.scheme.grading
    order = [b.grade for b in g.bands] if g is not None else []
    order += sorted(str(x) for x in counts if x is not None and x not in order)  # none expected: a grade is a band
    return {"graded": graded.height, "not_graded": fig.frame.height - graded.height, "left_out": fig.left_out.height,
            "grades": {str(x): counts.get(x, 0) for x in order},
            "mean_total": round(sum(graded["total"].to_list()) / graded.height, 4) if graded.height else None}


# -------------------------------------------------------------------------------------------- reading


def get(session: Session, actor: Actor, publication_id: int) -> Publication:
    pub = session.get(Publication, publication_id)
    if pub is None:
        raise NotFound(msg("not_found.publication", id=publication_id))
    require_read(actor, pub.procuratorate_id, "active", absent=msg("not_found.publication", id=publication_id))
    return pub


def corrected_figures(session: Session, publication: dict[str, Any] | None, code: str) -> list[dict[str, Any]]:
    """What the publications a correction replaced said of one subject, latest first: ``[{"sequence", "reason",
    "published_at", "total", "grade", "place", "status"}]``, ``reason`` being why the next one replaced it (empty
    for a first publication). The card of a corrected period shows them: someone announced 优秀 and then read 良好
    sees both, and why (the caller has read the subject already)."""
    out: list[dict[str, Any]] = []
    pid, why = (publication or {}).get("supersedes"), (publication or {}).get("reason") or ""
    while pid is not None and len(out) < 50:
        pub = session.get(Publication, pid)
        if pub is None:
            break
        row = session.get(PublicationCard, (pub.id, code))
        out.append({"sequence": pub.sequence, "reason": why, "published_at": pub.published_at,
                    "total": row.total if row else None, "grade": row.grade if row else None,
                    "place": row.place if row else None, "status": row.status if row else None})
        pid, why = pub.supersedes_id, pub.reason or ""
    return out


def listing(session: Session, actor: Actor, *, scheme: str | None = None, period: str | None = None,
            page: int = 1, page_size: int = 50) -> tuple[list[Publication], int]:
    q = select(Publication)
    if scheme:
        q = q.where(Publication.scheme_id == versions.get_scheme(session, actor, scheme).id)
    if period:
        q = q.where(Publication.period == results.parse(period).label)
    pubs = [p for p in session.scalars(q.order_by(Publication.id.desc())).all()
            if actor.may("read") and (actor.in_scope(p.procuratorate_id) or p.procuratorate_id in actor.above)]
    return pubs[(page - 1) * page_size: page * page_size], len(pubs)


def view(session: Session, pub: Publication, actor: Actor | None = None) -> dict[str, Any]:
    """A publication as the API shows it. For a reader below the publishing procuratorate (a county reading the
    province's publication), the whole tree's figures — how many were scored and graded, the grade counts and
    mean — are null: reading follows the caller's tree (their own people's figures are in the rankings)."""
    successor = session.scalar(select(Publication.id).where(Publication.supersedes_id == pub.id))
    v = pub.version
    whole = actor is None or actor.in_scope(pub.procuratorate_id)
    return {
        "id": pub.id, "scheme": {"code": pub.scheme.code, "name": pub.scheme.name}, "period": pub.period,
        "period_start": pub.period_start.isoformat(), "period_end": pub.period_end.isoformat(),
        "sequence": pub.sequence, "current": successor is None, "superseded_by": successor,
        "supersedes": pub.supersedes_id, "reason": pub.reason,
        "version": {"id": v.id, "number": v.number, "content_hash": pub.content_hash},
        "datasets": [{"id": i, "content_hash": h} for i, h in pub.datasets],
        "dictionary_hash": pub.dictionary_hash, "engine_version": pub.engine_version,
        "result_hash": pub.result_hash, "subjects": pub.subjects_count if whole else None,
        "graded": pub.graded_count if whole else None, "summary": pub.summary if whole else None,
        "published_by": pub.published_by,
        "published_at": as_utc(pub.published_at).isoformat(timespec="seconds"),
    }


__all__ = ["get", "listing", "publish", "view"]
