"""考评结果 (issue 12, pages 9–10): the rankings of a period, a prosecutor's score card and the procuratorate
comparison — the same services as ``/api/v1/rankings``, ``/evaluations``, ``/subjects/<code>/history`` and
``/comparisons``, with the signed-in person's actor (their tree, their *score* permission).

- ``/admin/results/``: the ranking with filters (scheme, period — by default the last closed period with
  data —, procuratorate within the person's tree, business, grade), 每页 50 条, exports (CSV / XLSX with the
  API's Chinese headers); each name opens the card. Says whether the figures are 正式结果 or 临时结果.
- ``/admin/results/card/?subject=&period=&scheme=``: the card with its full trace as a page; its history
  chart is fetched from ``/admin/results/card/history/`` (the first request of a year scores its months).
- ``/admin/results/comparison/?scheme=&period=``: positions against the group's average, laggards, streaks.

A subject (or procuratorate) outside the person's tree answers 404 exactly as a missing one does.
Words come from :mod:`rulesvc.services.results_words`; each page sets ``X-Render-Ms``.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext
from werkzeug.datastructures import ImmutableMultiDict

from admin.auth import is_signed_in, login_url_for_current_request
from rulesvc.catalogue import msg
from rulesvc.engine.texts import visible
from rulesvc.errors import Conflict, InvalidInput, NotEvaluated, NotFound, PermissionDenied, RulesvcError
from rulesvc.extensions import db
from rulesvc.services import comparisons, evaluation, publications, rankings
from rulesvc.services import results_words as W
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import Actor, require
from rulesvc.spreadsheet import XLSX_MIMETYPE, Sheet, iter_csv, iter_xlsx

PAGE_SIZE = 50
MAX_FIELD = 64  # longest scheme code, subject code or period the pages accept


def _settings() -> tuple[Any, Any]:
    return (get_dictionary(current_app.config["RULES_DIR"]),
            current_app.extensions["rulesvc.simulation_settings"].cache_dir)


def _arg(name: str) -> str | None:
    value = (request.args.get(name) or "").strip()[:MAX_FIELD]
    return value or None


def _may_score(actor: Actor) -> None:
    """As the API's rankings: *score* somewhere in the person's tree."""
    if not actor.may("score"):
        require(actor, "score", -1)


class ResultsView(BaseView):
    """考评结果: rankings, score cards, the procuratorate comparison."""

    def is_accessible(self) -> bool:
        """Signed-in users; what each sees is the services' business (their tree)."""
        return is_signed_in()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue:
        """Anonymous users go to the login page (and come back)."""
        return redirect(login_url_for_current_request())

    # -- helpers ------------------------------------------------------------------------------------------

    def _page(self, template: str, started: float, status: int = 200, **context: Any) -> ResponseReturnValue:
        html = self.render(template, **context)
        ms = (time.perf_counter() - started) * 1000
        return html, status, {"X-Render-Ms": f"{ms:.1f}"}

    def _not_found(self, started: float) -> ResponseReturnValue:
        db.session.rollback()
        return self._page("admin/results/not_found.html", started, 404)

    def _forbidden(self, started: float) -> ResponseReturnValue:
        db.session.rollback()
        return self._page("admin/results/forbidden.html", started, 403)

    @staticmethod
    def _words(exc: RulesvcError) -> str:
        from admin.designer import _lang

        return exc.msg.render(_lang()) if exc.msg else str(exc)

    def _choose(self, actor: Actor, kind: str | None) -> tuple[Any, list[Any], str | None]:
        """(the scheme asked for or the person's first, the schemes to choose from, the period)."""
        schemes = W.ranking_schemes(db.session(), actor, kind)
        code = _arg("scheme")
        scheme = next((s for s in schemes if s.code == code), None) if code else (schemes[0] if schemes else None)
        if code and scheme is None:
            raise NotFound(msg("not_found.scheme", code=code))
        period = _arg("period") or (W.default_period(db.session(), scheme) if scheme is not None else None)
        return scheme, schemes, period

    # -- rankings -----------------------------------------------------------------------------------------

    @expose("/")
    def index(self) -> ResponseReturnValue:
        """The ranking of a period, filtered and paged, or exported (``format=csv|xlsx``)."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        lang = _lang()
        actor = _actor()
        dictionary, cache_dir = _settings()
        try:
            _may_score(actor)
            scheme, schemes, period = self._choose(actor, None)
        except PermissionDenied:
            return self._forbidden(started)
        except NotFound:
            return self._not_found(started)
        filters: dict[str, Any] = {k: _arg(k) for k in ("procuratorate", "business", "grade")}
        context: dict[str, Any] = {"schemes": schemes, "scheme": scheme, "period": period, "filters": filters,
                                   "procuratorates": W.procuratorate_choices(db.session(), actor, lang),
                                   "businesses": W.business_choices(dictionary, lang), "error": None, "rows": [],
                                   "grades": [], "meta": None, "grade_rank": {}}
        if scheme is None or period is None:
            context["error"] = (self._no_period_words(lang) if scheme is not None else None)
            return self._page("admin/results/rankings.html", started, **context)
        if W.period_without_data(db.session(), scheme, period):
            context["error"] = self._no_data_words(period, lang)
            return self._page("admin/results/rankings.html", started, **context)
        try:
            meta, frame = rankings.rankings(db.session(), actor, dictionary, period=period, scheme=scheme.code,
                                            cache_dir=cache_dir, **filters)
        except NotFound as exc:
            if exc.error_code == "not_found.procuratorate":
                return self._not_found(started)
            context["error"] = self._words(exc)
            return self._page("admin/results/rankings.html", started, 404, **context)
        except InvalidInput as exc:
            context["error"] = self._words(exc)
            return self._page("admin/results/rankings.html", started, 422, **context)
        fmt = _arg("format")
        if fmt in ("csv", "xlsx"):
            return self._export(meta, frame, dictionary, fmt)
        page = max(1, min(int(_arg("page") or 1) if (_arg("page") or "1").isdigit() else 1, 10**6))
        pages = max(1, -(-frame.height // PAGE_SIZE))
        page = min(page, pages)
        part = frame.slice((page - 1) * PAGE_SIZE, PAGE_SIZE)
        shown = rankings.rows(db.session(), dictionary, part, meta["subject_kind"], meta["group"], meta["own_schemes"])
        compiled = W.compiled_of(db.session(), dictionary, meta["scheme"]["version_id"])
        table_rows = W.ranking_rows(db.session(), dictionary, shown, meta["subject_kind"], lang)
        context.update(meta=meta, reasons=any(r.get("grade_reason") for r in table_rows), figures=W.figures_words(meta, lang), quota=W.quota_words(meta["quota"], lang),
                       rows=table_rows,
                       grades=W.grade_names(compiled), page=page,
                       grade_rank={g: i for i, g in enumerate(W.grade_names(compiled))}, pages=pages, count=frame.height,
                       first=(page - 1) * PAGE_SIZE + 1, group_word=W.word(W.PEER_GROUP_WORDS, lang, meta["group"]),
                       publishing=self._publishing(actor, scheme, meta),
                       localized=W.localized_in_force(db.session(), scheme, meta["period"]),
                       later=W.later_versions(db.session(), meta["scheme"]["version_id"], meta["period"],
                                               meta["scheme"]["number"], lang))
        return self._page("admin/results/rankings.html", started, **context)

    @staticmethod
    def _publishing(actor: Actor, scheme: Any, meta: dict[str, Any]) -> dict[str, Any] | None:
        """发布 / 更正 on the ranking, for those who may publish the scheme's results (*activate* on its
        procuratorate) once the period is over: the same service as ``POST /api/v1/publications``."""
        if not actor.in_scope(scheme.procuratorate_id) or not actor.may("activate") \
                or not meta.get("period_closed", True):
            return None
        pub = meta.get("publication") if meta.get("figures") == "published" else None
        return {"publication": pub, "form": getattr(g, "publish_form", {}), "errors": getattr(g, "publish_errors", {})}

    @expose("/publish/", methods=("POST",))
    def publish(self) -> ResponseReturnValue:
        """发布 a period's results (a tick to confirm), or 更正 the latest publication (a reason required); then the
        ranking again, now of the published figures. A refusal: the ranking with the service's words."""
        from admin.designer import _actor

        started = time.perf_counter()
        actor = _actor()
        form = request.form
        scheme, period = str(form.get("scheme", ""))[:MAX_FIELD], str(form.get("period", ""))[:MAX_FIELD]
        corrects = form.get("supersedes", type=int)
        reason = str(form.get("reason", ""))
        errors: dict[str, list[str]] = {}
        if corrects is None and not form.get("confirm_publish"):
            errors["confirm_publish"] = [gettext("Tick the box to confirm: published results never change.")]
        if corrects is not None and not visible(reason):
            errors["reason"] = [gettext("Say why the published results are corrected.")]
        if not errors:
            dictionary, cache_dir = _settings()
            try:
                pub = publications.publish(db.session(), actor, dictionary, scheme=scheme, period=period,
                                           supersedes=corrects, reason=reason, cache_dir=cache_dir,
                                           accept_fewer_graded=bool(form.get("accept_fewer_graded")))
                db.session.commit()
            except PermissionDenied:
                return self._forbidden(started)
            except NotFound:
                return self._not_found(started)
            except (InvalidInput, Conflict) as exc:
                db.session.rollback()
                field = "accept_fewer_graded" if "accept_fewer_graded" in (getattr(exc, "errors", None) or {}) else ""
                errors[field] = [self._words(exc)]
            else:
                flash(gettext("The results of %(period)s are published (publication %(n)s): they no longer change.",
                              period=pub.period, n=pub.sequence), "success")
                return redirect(url_for(".index", scheme=scheme, period=period))
        g.publish_form, g.publish_errors = dict(form), errors
        request.args = ImmutableMultiDict({"scheme": scheme, "period": period})
        answer = self.index()
        if isinstance(answer, tuple) and len(answer) == 3 and answer[1] == 200:
            return answer[0], 422, answer[2]
        return answer

    @staticmethod
    def _no_period_words(lang: str) -> str:
        return ("还没有已结束且有数据的考评期间。" if lang == "zh"
                else "There is no closed period with data yet.")

    @staticmethod
    def _no_data_words(period: str, lang: str) -> str:
        return (f"{period} 没有可用的数据（没有在用的数据集含该期间的事件），请选择其他期间。" if lang == "zh"
                else f"There is no data for {period} (no event dataset in use covers it): pick another period.")

    def _export(self, meta: dict[str, Any], frame: Any, dictionary: Any, fmt: str) -> ResponseReturnValue:
        """Every row of the filtered ranking with the API's Chinese headers (``rankings.table``)."""
        header, body = rankings.table(db.session(), dictionary, frame, meta["subject_kind"], meta)
        name = f"ranking-{meta['scheme']['code']}-{meta['period']}-{meta['figures']}.{fmt}"
        if fmt == "csv":
            resp = current_app.response_class(list(iter_csv(header, body)), mimetype="text/csv")
        else:
            resp = current_app.response_class(list(iter_xlsx([Sheet(f"排名 {meta['period']}", header, body)])),
                                              mimetype=XLSX_MIMETYPE)
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        resp.headers["X-Figures"] = meta["figures"]
        return resp

    # -- the score card -----------------------------------------------------------------------------------

    @expose("/card/")
    def card(self) -> ResponseReturnValue:
        """A subject's score card for a period, its full trace as a page."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        lang = _lang()
        subject, scheme, period = _arg("subject"), _arg("scheme"), _arg("period")
        if not subject or not scheme or not period:
            return self._not_found(started)
        actor = _actor()
        dictionary, cache_dir = _settings()
        context: dict[str, Any] = {"subject": subject, "scheme_code": scheme, "period": period, "error": None,
                                   "card": None, "page": None}
        try:
            card = evaluation.evaluate(db.session(), actor, dictionary, subject=subject, period=period, scheme=scheme,
                                       trace="full", cache_dir=cache_dir)
        except NotFound as exc:
            if exc.error_code in ("scoring.no_subject", "scoring.outside_scheme", "not_found.scheme", "not_found"):
                return self._not_found(started)
            context["error"] = self._words(exc)
            return self._page("admin/results/card.html", started, 404, **context)
        except PermissionDenied:
            return self._forbidden(started)
        except (NotEvaluated, InvalidInput) as exc:
            context["error"] = self._words(exc)
            return self._page("admin/results/card.html", started, 422 if isinstance(exc, InvalidInput) else 200,
                              **context)
        start, end = W.history_range(period)
        own_rules = W.own_localization(card)  # scored under a template the unit localizes
        corrected = (publications.corrected_figures(db.session(), card.get("publication"), subject)
                     if card.get("figures") == "published" else [])
        context.update(card=card, page=W.card_page(db.session(), dictionary, card, lang),
                       figures=W.figures_words(card, lang), corrected=corrected,
                       page_group=W.word(W.PEER_GROUP_WORDS, lang, (card.get("rank") or {}).get("group")),
                       history_url=url_for(".history", subject=subject, scheme=scheme, start=start, end=end),
                       own_rules=own_rules, later=W.later_versions(db.session(), (card.get("scheme") or {}).get(
                           "version_id"), str(card.get("period") or period), (card.get("scheme") or {}).get("number"), lang))
        return self._page("admin/results/card.html", started, **context)

    @expose("/card/history/")
    def history(self) -> ResponseReturnValue:
        """The card's monthly history as JSON for its chart (``rankings.history``)."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        subject, scheme, start, end = _arg("subject"), _arg("scheme"), _arg("start"), _arg("end")
        if not subject or not scheme or not start or not end:
            return jsonify({"error": "not found"}), 404
        dictionary, cache_dir = _settings()
        try:
            h = rankings.history(db.session(), _actor(), dictionary, code=subject, scheme=scheme, start=start, end=end,
                                 cache_dir=cache_dir)
        except (NotFound, PermissionDenied):
            db.session.rollback()
            return jsonify({"error": "not found"}), 404
        except InvalidInput as exc:
            return jsonify({"error": self._words(exc)}), 422
        body = W.history_points(h, _lang())
        return jsonify(body), 200, {"X-Render-Ms": f"{(time.perf_counter() - started) * 1000:.1f}"}

    # -- the procuratorate comparison ---------------------------------------------------------------------

    @expose("/comparison/")
    def comparison(self) -> ResponseReturnValue:
        """The procuratorate comparison of a period (schemes that score procuratorates)."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        lang = _lang()
        actor = _actor()
        dictionary, cache_dir = _settings()
        try:
            _may_score(actor)
            scheme, schemes, period = self._choose(actor, "procuratorate")
        except PermissionDenied:
            return self._forbidden(started)
        except NotFound:
            # A scheme that scores prosecutors (an audit read "该…方案不存在" for the template): said as it is.
            other = next((s for s in W.ranking_schemes(db.session(), actor) if s.code == _arg("scheme")), None)
            if other is None:
                return self._not_found(started)
            words = (f"“{other.name}”考评检察官：院际比较用于考评检察院的方案，请在上方选择。" if lang == "zh" else
                     f"“{other.name}” scores prosecutors: the comparison is for schemes scoring procuratorates; "
                     "choose one above.")
            return self._page("admin/results/comparison.html", started, 422, schemes=W.ranking_schemes(
                db.session(), actor, "procuratorate"), scheme=None, period=None, error=words, view=None)
        context: dict[str, Any] = {"schemes": schemes, "scheme": scheme, "period": period, "error": None,
                                   "view": None}
        if scheme is None or period is None:
            context["error"] = self._no_period_words(lang) if scheme is not None else None
            return self._page("admin/results/comparison.html", started, **context)
        if W.period_without_data(db.session(), scheme, period):
            context["error"] = self._no_data_words(period, lang)
            return self._page("admin/results/comparison.html", started, **context)
        try:
            answer = comparisons.comparison(db.session(), actor, dictionary, period=period, scheme=scheme.code,
                                            cache_dir=cache_dir)
        except InvalidInput as exc:
            context["error"] = self._words(exc)
            return self._page("admin/results/comparison.html", started, 422, **context)
        except NotFound as exc:
            context["error"] = self._words(exc)
            return self._page("admin/results/comparison.html", started, 404, **context)
        compiled = W.compiled_of(db.session(), dictionary, answer["scheme"]["version_id"])
        context.update(answer=answer, figures=W.figures_words(answer, lang),
                       view=W.comparison_page(answer, compiled, lang))
        return self._page("admin/results/comparison.html", started, **context)
