"""Score cards for other systems: one subject, or many, for one period under a scheme — total, grade and
why, rank and percentile in the quota group, dimensions, indicators, adjustments, vetoes and the
nearest tier not reached, with what is needed to reproduce it and whether the figures are **published**
(frozen, :mod:`rulesvc.services.publications`) or **provisional** (computed now, :mod:`.results`).

The head of a card (status, total, grade, place) always comes from the period's bulk result — the very
row the ranking shows. The explanation of a card (``trace=summary``) is assembled from that row by the
per-subject phases (``engine.summary``); a full trace, with the events behind every point, comes from
the per-subject evaluator on the subject's events with the same peers (the differential tests hold the
three together).

What-if: a card may be computed from the caller's own events (``events``, validated as import rows)
instead of the stored ones, among the stored period's peers with the subject's own stored figures replaced by
the new ones (``engine.whatif``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine.bulk import subject_of
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.frame_events import evaluate_subject_frame
from rulesvc.engine.participation import EVALUATED, REASON_LABELS_EN
from rulesvc.engine.whatif import evaluate_what_if
from rulesvc.errors import InvalidInput, NotEvaluated, NotFound, RulesvcError
from rulesvc.persistence.models import PublicationCard
from rulesvc.services import results
from rulesvc.services.designer_words import SUBJECT_WORDS
from rulesvc.services.governance.access import Actor, procuratorate_in_view, require, tree_of
from rulesvc.services.scoring import default_decider, scope_ids, subjects_for

TRACES = ("none", "summary", "full")
# What a batch says once for all its cards (results.Figures.provenance).
PROVENANCE = ("period_closed", "figures", "scheme", "datasets", "dictionary_hash", "engine_version", "publication")
HEAD = ("subject", "period", "status", "status_reason", "total", "grade", "grade_reason", "rank")
MAX_BATCH_SUBJECTS = 5000
MAX_FULL_TRACES = 100  # a full trace carries every event behind every point: a batch of them is bounded


def evaluate(session: Session, actor: Actor, dictionary: Dictionary, *, subject: str, period: str,
             scheme: str | None = None, version_id: int | None = None, trace: str = "summary",
             events: list[dict[str, Any]] | None = None, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """One subject's score card. 404 for an unknown scheme, version or subject, or a subject outside the
    caller's tree or the scheme's scope; 422 for a bad period or bad inline events; 400
    ``scoring.not_evaluated`` with the reason when the subject does not take part in the period."""
    out = _evaluate(session, actor, dictionary, subject=subject, period=period, scheme=scheme,
                    version_id=version_id, trace=trace, events=events, cache_dir=cache_dir)
    return out if isinstance(out, dict) else json.loads(out)


def evaluate_json(session: Session, actor: Actor, dictionary: Dictionary, **request: Any) -> bytes:
    """:func:`evaluate`'s answer as the API writes it (:func:`render`). A published card with
    ``trace=summary`` is written from its stored bytes, without reading it into objects and back."""
    out = _evaluate(session, actor, dictionary, raw=True, **request)
    return out if isinstance(out, bytes) else render(out)


def render(out: dict[str, Any]) -> bytes:
    """An answer as bytes: UTF-8 JSON, compact, where the figures come from first, then the card — each
    part with its keys sorted, so that the same figures always give the same bytes, and a published card
    is its publication's stored bytes (:func:`rulesvc.services.publications.canonical`)."""
    where = {k: v for k, v in out.items() if k in PROVENANCE or k in ("events", OWN)}
    card = {k: v for k, v in out.items() if k not in where}
    return _joined(canonical(where), canonical(card))


def canonical(value: Any) -> bytes:
    """The one way a card is written as bytes (stored in a publication, answered by the API)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def _joined(where: bytes, card: bytes) -> bytes:
    if card == b"{}":
        return where
    return where[:-1] + b"," + card[1:] if where != b"{}" else card


def _evaluate(session: Session, actor: Actor, dictionary: Dictionary, *, subject: str, period: str,
              scheme: str | None = None, version_id: int | None = None, trace: str = "summary",
              events: list[dict[str, Any]] | None = None, cache_dir: str | Path | None = None,
              raw: bool = False) -> dict[str, Any] | bytes:
    p = results.parse(period)
    if events is not None:
        return _what_if(session, actor, dictionary, subject=subject, p=p, scheme=scheme, version_id=version_id,
                        trace=trace, rows=events, cache_dir=cache_dir)
    fig = results.figures(session, actor, dictionary, period=p, scheme=scheme, version_id=version_id,
                          cache_dir=cache_dir)
    _subject_check(session, actor, fig, subject)
    results.require_data(fig)
    row = fig.row(subject)
    assert row is not None  # checked above
    own = {OWN: _own(session, fig, row.get("procuratorate_id"))}
    if fig.publication is not None:
        text = results.published_card(fig.publication, subject)
        if text is None:  # cannot happen: a publication writes a card for every row of its frame
            raise NotFound(msg("scoring.no_subject", code=subject))
        if raw and trace == "summary":  # the stored card is the answer's card part, byte for byte
            return _joined(canonical({**fig.provenance(), **own}), text)
        card = json.loads(text)
        out = answer(fig, card, trace)
        if trace == "full":
            out.update(_published_trace(session, dictionary, fig, card, cache_dir))
        return {**out, **own}
    if trace == "summary":  # the card made once per bulk run and subject, then answered as a published one
        text = _provisional_card(session, fig, subject)
        return (_joined(canonical({**fig.provenance(), **own}), text) if raw
                else {**answer(fig, json.loads(text), trace), **own})
    if trace == "none":  # the head is the bulk row's: nothing to score again
        return {**answer(fig, head_of(fig, row, tree_of(session).names.get(row["procuratorate_id"]),
                                      _ranks(fig, subject)), trace), **own}
    result = _result(fig, row)
    return {**answer(fig, card_of(session, fig, row, summary_of(result)), trace, full=result.as_dict()), **own}


OWN = "own_scheme"  # beside the provenance: whether the subject's unit scores them under its own localization


def _own(session: Session, fig: results.Figures, procuratorate_id: int | None) -> dict[str, Any] | None:
    from rulesvc.services.own_schemes import own_scheme

    return own_scheme(session, fig.scheme.id, fig.scheme.code, fig.period.start, fig.period.label, procuratorate_id)


def _provisional_card(session: Session, fig: results.Figures, code: str,
                      orgs: dict[int, dict[str, str]] | None = None, ranks: dict[str, Any] | None = None,
                      row: dict[str, Any] | None = None) -> bytes:
    """A subject's provisional card as canonical bytes — the bytes a publication of these figures would
    store — computed on its first request and kept with the bulk run (``results.Computed.card``); the
    subject's bulk row (``row``, when the caller has it) is read only to make it."""
    computed = fig.computed
    assert computed is not None

    def make() -> bytes:
        r = row if row is not None else fig.row(code)
        assert r is not None  # the caller has checked the subject
        return canonical(card_of(session, fig, r, summary_of(computed.explain(fig.compiled, r, fig.period.label)),
                                 orgs, ranks))

    return computed.card(code, make)


class Directory:
    """Who is in the directory, by code → procuratorate id, read once per request: a batch of 5,000 unknown
    codes read the whole directory twice for each (25–38 ms a code, minutes in all — a finding of a review)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._held: dict[tuple[str, dt.date | None], dict[str, int]] = {}

    def owner(self, kind: str, code: str, as_of: dt.date | None = None) -> int | None:
        key = (kind, as_of)
        if key not in self._held:
            frame = subjects_for(self.session, kind, as_of=as_of)
            held: dict[str, int] = {}
            for c, org in zip(frame["code"].to_list(), frame["procuratorate_id"].to_list(), strict=True):
                held.setdefault(c, org)
            self._held[key] = held
        return self._held[key].get(code)


def _subject_row(session: Session, actor: Actor, fig: results.Figures, code: str,
                 directory: Directory | None = None) -> dict[str, Any]:
    """The subject's row of the period's results, if the caller may score it; else why not."""
    _subject_check(session, actor, fig, code, directory)
    row = fig.row(code)
    assert row is not None
    return row


def _subject_check(session: Session, actor: Actor, fig: results.Figures, code: str,
                   directory: Directory | None = None) -> None:
    """Nothing if the caller may score the subject in the period's results; else why not (not evaluated,
    outside the scheme, not found — a subject outside the caller's tree is "not found" as if absent)."""
    directory = directory if directory is not None else Directory(session)
    owner = fig.owner(code)
    if owner is None:
        left = fig.left_out.filter(pl.col("code") == code) if "code" in fig.left_out.columns else fig.left_out.clear()
        if left.height and actor.in_scope(left["procuratorate_id"][0]):
            require(actor, "score", left["procuratorate_id"][0], what=Words(f"考评对象 {code}", f"Subject {code}"))
            r = left.row(0, named=True)
            raise NotEvaluated(msg("scoring.not_evaluated", code=code, name=r.get("name") or "",
                                   reason=r.get("status_reason") or "",
                                   reason_en=REASON_LABELS_EN.get(r.get("status_code") or "", r.get("status_code") or ""),
                                   period=fig.period.label), reason=r.get("status_code") or "")
        found = directory.owner(fig.compiled.scheme.subject, code, fig.period.end)  # their post then
        if found is not None and actor.in_scope(found):
            org = fig.compiled.scheme.org
            if org and found not in (scope_ids(session, org) or set()):
                raise NotFound(msg("scoring.outside_scheme", code=code, scheme=fig.scheme.code, org=org))
            if fig.publication is not None:  # in the directory now, not in the figures published then
                raise NotFound(msg("scoring.not_in_publication", code=code, period=fig.period.label,
                                   id=fig.publication.id))
        kind = fig.compiled.scheme.subject
        other = "procuratorate" if kind == "prosecutor" else "prosecutor"
        found = directory.owner(other, code)
        if found is not None and actor.in_scope(found):  # e.g. a prosecutor's code, a units' scheme
            words = SUBJECT_WORDS["zh"]
            raise NotFound(msg("scoring.wrong_kind", code=code, scheme=fig.scheme.code, kind=words[kind],
                               kind_en=kind, other=words[other], other_en=other))
        raise NotFound(msg("scoring.no_subject", code=code))
    if not actor.in_scope(owner):
        raise NotFound(msg("scoring.no_subject", code=code))  # outside the caller's tree: as if absent
    require(actor, "score", owner, what=Words(f"考评对象 {code}", f"Subject {code}"))


def _result(fig: results.Figures, row: dict[str, Any]) -> Any:
    assert fig.computed is not None
    subj = subject_of(row, fig.key, final=True)
    subj.id, subj.name = row["code"], row.get("name") or ""
    return evaluate_subject_frame(fig.compiled, subj, fig.computed.events_of(row[fig.key]), period=fig.period.label,
                                  decider=default_decider(), peers=fig.computed.bulk.peers)


def _published_trace(session: Session, dictionary: Dictionary, fig: results.Figures, card: dict[str, Any],
                     cache_dir: str | Path | None) -> dict[str, Any]:
    """A published card's full trace: the subject's events in the datasets the publication recorded, scored
    under its version as the subject stood when it was published (their row of the publication: unit,
    business, time in office, how they took part) among the peers they were scored among — so a later
    directory import moves nothing in it. ``trace_matches_card`` says whether it gives the card's status,
    total and grade (a publication stored before its peers were, a newer data dictionary or engine may not);
    when it does not, ``trace_note`` says so and that the card's figures stand."""
    code = card["subject"]["code"]
    row = fig.row(code)
    assert row is not None  # a publication has a card for every row of its frame
    again = results.provisional_figures(session, fig.version, dictionary, fig.period, cache_dir=cache_dir,
                                        dataset_ids=[i for i, _ in fig.datasets])
    assert again.computed is not None
    peers = results.published_peers(fig)
    subj = subject_of(row, fig.key, final=True)
    subj.id, subj.name = code, row.get("name") or ""
    result = evaluate_subject_frame(fig.compiled, subj, again.computed.events_of(row[fig.key]),
                                    period=fig.period.label, decider=default_decider(),
                                    peers=peers if peers is not None else again.computed.bulk.peers)
    differs = [what for what, ok in (
        (("状态", "status"), result.status == card["status"]),
        (("总分", "total"), card["total"] is not None and abs(result.total - card["total"]) <= 1e-9),
        (("等次", "grade"), (result.grade if result.status == EVALUATED else None) == card["grade"])) if not ok]
    out: dict[str, Any] = {"trace": result.as_dict(), "trace_matches_card": not differs}
    if differs:
        pub = fig.publication
        assert pub is not None
        why = [w for w, changed in (
            (("数据字典已更新", "the data dictionary changed"), pub.dictionary_hash != dictionary.content_hash),
            (("程序已升级", "the engine was upgraded"), pub.engine_version != again.engine_version),
            (("组织机构（所属单位、部门、员额或在岗时间）已变化", "the directory (units, departments, quota status or "
              "time in office) changed"), peers is None)) if changed] or [("数据或程序已变化", "data or engine changed")]
        out["trace_note"] = msg("evaluation.trace_differs", what="、".join(w[0] for w in differs),
                                what_en=", ".join(w[1] for w in differs), why="，".join(w[0] for w in why),
                                why_en="; ".join(w[1] for w in why)).render(None)
    return out


def _orgs(session: Session) -> dict[int, dict[str, str]]:
    return tree_of(session).names


def head_of(fig: results.Figures, row: dict[str, Any], org: dict[str, str] | None, ranks: dict[str, Any]) -> dict[str, Any]:
    """The head of a card from the period's bulk row: who, total, grade and why, place in the group."""
    evaluated = row.get("status") == EVALUATED
    return {
        "subject": {"code": row["code"], "name": row.get("name") or "",
                    "procuratorate": dict(org) if org else None},  # a copy: org may be a cached tree's
        "period": fig.period.label,
        "status": row.get("status"), "status_reason": row.get("status_reason") or "",
        "total": row.get("total"), "grade": row.get("grade") if evaluated else None,
        "grade_reason": row.get("grade_reason") or "" if evaluated else "",
        "rank": {"place": ranks.get("place") if evaluated else None, "of": ranks.get("group_size"),
                 "group": fig.quota_group, "percentile": ranks.get("percentile") if evaluated else None},
    }


def _ranks(fig: results.Figures, code: str) -> dict[str, Any]:
    row = fig.row(code)
    if row is None:
        return {}
    return {"place": row["place"], "group_size": row["group_size"], "percentile": row["percentile"]}


def card_of(session: Session, fig: results.Figures, row: dict[str, Any], full: dict[str, Any],
            orgs: dict[int, dict[str, str]] | None = None, ranks: dict[str, Any] | None = None) -> dict[str, Any]:
    """A subject's card (what a publication stores): the head from the bulk row, the explanation from
    the per-subject result ``full``."""
    org = (orgs or tree_of(session).names).get(row["procuratorate_id"])
    card = head_of(fig, row, org, ranks if ranks is not None else _ranks(fig, row["code"]))
    card.update(full if "metrics" not in full else {
        "dimensions": full["dimensions"],
        "indicators": [{**{k: i.get(k) for k in INDICATOR_KEYS}, "applies": i["applies"], "counted": i["counted"]}
                       for i in full["indicators"]],
        "adjustments": [{k: a.get(k) for k in ADJUSTMENT_KEYS} for a in full["adjustments"]],
        "vetoes": [{k: x.get(k) for k in VETO_KEYS} for x in full["vetoes"]],
        "attribution": full["attribution"]})
    return card


INDICATOR_KEYS = ("code", "name", "dimension", "value", "x", "branch", "rule", "points", "max_points", "contribution",
                  "note", "nearest", "formula_labeled", "method", "peer_note")
# and the trace's ``applies`` and ``counted`` (its points count)
ADJUSTMENT_KEYS = ("code", "name", "dimension", "matched", "points_each", "points", "cap", "note")
VETO_KEYS = ("code", "name", "effect", "detail", "matched")


def summary_of(result: Any) -> dict[str, Any]:
    """The parts of a result a card shows (``trace=summary``), read straight off the result: the same
    values as ``result.as_dict()`` gives them, without copying the whole trace (metrics, event ids)."""
    def flat(o: Any) -> dict[str, Any]:
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}

    def indicator(i: Any) -> dict[str, Any]:
        d = {k: getattr(i, k) for k in INDICATOR_KEYS}
        d["applies"], d["counted"] = i.applies, i.counted
        if i.nearest is not None:
            d["nearest"] = flat(i.nearest)
        if i.prorated_from is not None:  # the value before pro-rating: a card says how 83 became 113.35
            d["prorated_from"] = i.prorated_from
        if i.compared is not None:  # a peer-relative indicator: with what, among how many
            d["compared"] = flat(i.compared)
        return d

    return {"dimensions": [flat(d) for d in result.dimensions],
            "indicators": [indicator(i) for i in result.indicators],
            "adjustments": [{k: getattr(a, k) for k in ADJUSTMENT_KEYS} for a in result.adjustments],
            "vetoes": [{k: getattr(x, k) for k in VETO_KEYS} for x in result.vetoes],
            "attribution": [flat(line) for line in result.attribution]}


def answer(fig: results.Figures, card: dict[str, Any], trace: str, *, full: dict[str, Any] | None = None) -> dict[str, Any]:
    """A card as answered: who and when, then where the figures come from, then the figures."""
    out = {"subject": card["subject"], "period": card["period"], **fig.provenance()}
    keys = HEAD[2:] if trace == "none" else [k for k in card if k not in ("subject", "period")]
    out.update({k: card[k] for k in keys})
    if trace == "full" and full is not None:
        out["trace"] = full
    return out


# ------------------------------------------------------------------------------------------- what-if


def _what_if(session: Session, actor: Actor, dictionary: Dictionary, *, subject: str, p: Any, scheme: str | None,
             version_id: int | None, trace: str, rows: list[dict[str, Any]],
             cache_dir: str | Path | None) -> dict[str, Any]:
    from rulesvc.services.inline_events import inline_events

    v = results.version_for(session, actor, p, scheme, version_id)
    fig = results.provisional_figures(session, v, dictionary, p, cache_dir=cache_dir)
    row = _subject_row(session, actor, fig, subject)
    assert fig.computed is not None
    subject_row = fig.computed.data.subjects.filter(pl.col("code") == subject).row(0, named=True)
    frame = inline_events(session, dictionary, rows, subject_row=subject_row, key=fig.key, period=p,
                          event_types=set(fig.compiled.event_types))
    # Whether the subject had any activity is decided on the caller's events (not final: someone stored
    # without activity whom these events give some is graded), and among the peers their stored figures are
    # replaced by the new ones (``engine.whatif``).
    subj = subject_of(row, fig.key)
    subj.id, subj.name = subject, row.get("name") or ""
    result = evaluate_what_if(fig.compiled, subj, frame, row, fig.computed.bulk.peers, period=p.label,
                              decider=default_decider())
    full = result.as_dict()  # what-if: the head comes from this result (no bulk row holds it)
    # Where the caller's figures would stand among the others of the group (their stored row left out).
    others = fig.ranked().filter(pl.col("code") != subject)
    gcol = None if fig.quota_group == "all" else results.GROUP_COLUMNS[fig.quota_group]
    group = others.filter(pl.col("status") == EVALUATED)
    if gcol is not None:
        group = group.filter(pl.col(gcol) == row.get(gcol))
    evaluated = full["status"] == EVALUATED
    place = int((group["total"] > full["total"]).sum()) + 1 if evaluated else None
    size = group.height + 1 if evaluated else None  # as a ranking row: no place, no group for the not graded
    ranks = {"place": place, "group_size": size,
             "percentile": (round(100.0 * (size - place) / (size - 1), 2) if size > 1 else 100.0)
             if place and size else None}
    wrow = {**row, "status": full["status"], "status_reason": full["status_reason"], "total": full["total"],
            "grade": full["grade"], "grade_reason": full["grade_reason"]}
    out = answer(fig, card_of(session, fig, wrow, summary_of(result), ranks=ranks), trace,
                 full=full if trace == "full" else None)
    out["figures"] = results.PROVISIONAL
    out["events"] = {"source": "inline", "count": frame.height, "rows": len(rows)}
    out[OWN] = _own(session, fig, row.get("procuratorate_id"))
    return out


# --------------------------------------------------------------------------------------------- batch


def batch(session: Session, actor: Actor, dictionary: Dictionary, *, period: str, scheme: str | None = None,
          version_id: int | None = None, subjects: list[str] | None = None, procuratorate: str | None = None,
          trace: str = "none", cache_dir: str | Path | None = None) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """Cards of many subjects — the listed ``subjects`` or everyone of ``procuratorate`` and below (within
    the caller's tree) — as (what the figures rest on, the cards one by one). A listed subject that
    cannot be scored gets ``{"subject": {"code": …}, "error": {"code", "error_code", "message"}}`` in its place."""
    if (subjects is None) == (procuratorate is None):
        bad = msg("evaluation.batch_who")
        raise InvalidInput(bad, errors={"subjects": [bad]})
    if subjects is not None and len(subjects) > MAX_BATCH_SUBJECTS:
        bad = msg("evaluation.batch_too_many", limit=MAX_BATCH_SUBJECTS)
        raise InvalidInput(bad, errors={"subjects": [bad]})
    fig = results.require_data(results.figures(session, actor, dictionary, period=period, scheme=scheme,
                                               version_id=version_id, cache_dir=cache_dir))
    ranked = fig.ranked()
    if procuratorate is not None:
        from rulesvc.services.scoring import scope_ids

        org = procuratorate_in_view(session, actor, procuratorate)
        require(actor, "score", org.id, what=Words(f"检察院 {procuratorate}", f"Procuratorate {procuratorate}"))
        below = scope_ids(session, procuratorate) or set()
        chosen = ranked.filter(pl.col("procuratorate_id").is_in(sorted(below)))
        if actor.scope is not None:
            chosen = chosen.filter(pl.col("procuratorate_id").is_in(sorted(actor.scope)))
        codes = chosen.sort(["place", "code"], nulls_last=True)["code"].to_list()
    else:
        codes = list(dict.fromkeys(subjects or []))
    if trace == "full" and len(codes) > MAX_FULL_TRACES:
        bad = msg("evaluation.batch_full_trace", limit=MAX_FULL_TRACES)
        raise InvalidInput(bad, errors={"trace": [bad]})
    meta = {"period": fig.period.label, **fig.provenance(), "count": len(codes), "trace": trace}
    return meta, _cards(session, actor, dictionary, fig, ranked, codes, trace, cache_dir)


def _cards(session: Session, actor: Actor, dictionary: Dictionary, fig: results.Figures, ranked: pl.DataFrame,
           codes: list[str], trace: str, cache_dir: str | Path | None) -> Iterator[dict[str, Any]]:
    orgs = _orgs(session)
    directory = Directory(session)
    rows = {r["code"]: r for r in ranked.filter(pl.col("code").is_in(codes)).iter_rows(named=True)}
    stored: dict[str, bytes] = {}
    if fig.publication is not None and trace != "none":
        for i in range(0, len(codes), 500):
            part = codes[i:i + 500]
            stored.update({r[0]: r[1] for r in session.execute(select(PublicationCard.code, PublicationCard.card).where(
                PublicationCard.publication_id == fig.publication.id, PublicationCard.code.in_(part))).all()})
    for code in codes:
        row = rows.get(code)
        try:
            if row is None or not actor.in_scope(row["procuratorate_id"]):
                _subject_row(session, actor, fig, code, directory)  # raises the reason
            assert row is not None
            require(actor, "score", row["procuratorate_id"], what=Words(f"考评对象 {code}", f"Subject {code}"))
            ranks = {"place": row["place"], "group_size": row["group_size"], "percentile": row["percentile"]}
            own = _own(session, fig, row["procuratorate_id"])
            if trace == "none":
                card = head_of(fig, row, orgs.get(row["procuratorate_id"]), ranks)
                yield {**{k: card[k] for k in HEAD}, OWN: own}
                continue
            if fig.publication is not None:
                card = json.loads(gzip.decompress(stored[code]))
                full = None
                if trace == "full":
                    traced = _published_trace(session, dictionary, fig, card, cache_dir)
                    full = traced.pop("trace")
                    card = {**card, **traced}
            elif trace == "summary":
                card, full = json.loads(_provisional_card(session, fig, code, orgs, ranks, row)), None
            else:
                result = _result(fig, row)
                full = result.as_dict()
                card = card_of(session, fig, row, summary_of(result), orgs, ranks)
            out = {k: v for k, v in answer(fig, card, trace, full=full).items()
                   if k not in PROVENANCE}
            out[OWN] = own
            yield out
        except RulesvcError as exc:
            # error_code as the error envelope names it (code: the same, the name this object had first)
            yield {"subject": {"code": code}, "error": {"code": exc.error_code, "error_code": exc.error_code,
                                                        "message": exc.message}}


__all__ = ["TRACES", "answer", "batch", "card_of", "evaluate", "head_of"]
