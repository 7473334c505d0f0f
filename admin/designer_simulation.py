"""The rule designer's pages (issue 12). Page 8: launching a simulation (模拟测评), its progress, the report with
charts and the exports.

- ``/admin/schemes/<CODE>/<N>/simulations/``: the version's runs (as candidate or as baseline) and, for those who
  may edit the scheme, the form that asks for one (POST, the API's ``simulation.ask`` with the app's dispatcher:
  the same permission check, audit record and errors; 503 when the queue does not answer, said on the page);
- ``…/simulations/<run_id>/``: while queued or running a progress bar polled with htmx (``…/progress/``) and a
  cancel button (``…/cancel/``); once finished the report, its charts drawn by ``designer-simulation.js`` from a
  JSON block; "why it moved" of any mover (``…/why/<subject>/``, an htmx fragment); exports (``…/export.xlsx``,
  ``…/export.csv``) streamed by :mod:`rulesvc.services.simulation.export`.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found`` and ``render``). A run is shown under a
version it compared (candidate or baseline) and only to those who may read it (the API's rule): else 404.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import flask
from flask import current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose

from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable
from rulesvc.extensions import db
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import SchemeVersion, SimulationRun
from rulesvc.services import designer_simulation as S
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.simulation import ask, lockin, runs
from rulesvc.services.simulation import export as export
from rulesvc.spreadsheet import XLSX_MIMETYPE

LIST_SIZE = 50  # runs listed per version
# The report's templates are large: Jinja compiles them in ~0.3 s, once per process. The pages that come before a
# report (the list, a run's progress) have them compiled in a background thread, so the report answers warm.
REPORT_TEMPLATES = ("admin/designer/simulation_run.html", "admin/designer/simulation_report.html",
                    "admin/designer/simulation_parts.html", "admin/designer/simulation_why.html",
                    "admin/designer/simulation_progress.html")
_warmed: set[int] = set()
_warm_lock = threading.Lock()


def _warm_report_templates() -> None:
    """Compile the report's templates in a daemon thread, once per app and process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _warm_lock:
        if id(app) in _warmed:
            return
        _warmed.add(id(app))

    def compile_them() -> None:
        time.sleep(0.5)  # the answer that started it goes out first
        for name in REPORT_TEMPLATES:
            try:
                app.jinja_env.get_template(name)
            except Exception:  # a broken template shows itself when the page renders it
                app.logger.exception("could not compile %s", name)

    threading.Thread(target=compile_them, name="simulation-templates", daemon=True).start()


def _here() -> tuple[Any, str]:
    from admin.designer import _actor, _lang

    return _actor(), _lang()


class SimulationViews:
    """Page 8."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]

    # -- helpers --------------------------------------------------------------------------------------------

    def _version(self, actor: Any, code: str, number: int) -> SchemeVersion | None:
        if len(code) > 64:
            return None
        try:
            return versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return None

    def _run(self, actor: Any, v: SchemeVersion, run_id: int) -> SimulationRun | None:
        """The run, when it compared ``v`` and the person may read it."""
        if not 0 < run_id < 2**31:
            return None
        try:
            run = runs.get_run(db.session(), actor, run_id)
        except (NotFound, PermissionDenied):
            return None
        if v.id not in (run.candidate_version_id, run.baseline_version_id):
            return None
        return run

    def _forbidden_page(self, message: str | None = None) -> ResponseReturnValue:
        db.session.rollback()
        return self.render("admin/designer/forbidden.html", message=message), 403

    # -- the version's runs and the launch form --------------------------------------------------------------

    @expose("/<code>/<int:number>/simulations/", methods=("GET", "POST"))
    def simulations(self, code: str, number: int) -> ResponseReturnValue:
        """This version's runs and, for those who may edit its scheme, the form that asks for one."""
        started = time.perf_counter()
        actor, lang = _here()
        v = self._version(actor, code, number)
        if v is None:
            return self._not_found()
        may_launch = actor.may("edit") and actor.in_scope(v.scheme.procuratorate_id)
        errors: dict[str, list[str]] = {}
        status = 200
        if request.method == "POST":
            if not may_launch:
                return self._forbidden_page(_msg_not_allowed(lang))
            answer = self._launch(actor, v, lang)
            if isinstance(answer, dict):
                errors, status = answer, (503 if "queue" in answer else 422)
            else:
                return answer
        found, total = runs.list_runs(db.session(), actor, version_id=v.id, page=1, page_size=LIST_SIZE)
        content = versions.current_content_hash(v)
        rows = [S.run_row(r, v.id, lang, content=content) for r in found]
        choices = S.launch_choices(db.session(), actor, v, lang=lang) if may_launch else None
        db.session.commit()  # reap_stale may have marked a dead run failed
        html, _, headers = self._page("admin/designer/simulations.html", v=v, rows=rows, total=total,
                                      choices=choices, may_launch=may_launch, errors=errors,
                                      candidate_words=S.version_words(v, lang),
                                      form=request.form if request.method == "POST" else {}, started=started)
        _warm_report_templates()  # after the page is rendered: its time is not the warm-up's
        if status == 503:
            headers = {**headers, "Retry-After": "30"}  # as the API answers
        return html, status, headers

    def _launch(self, actor: Any, v: SchemeVersion, lang: str) -> ResponseReturnValue | dict[str, list[str]]:
        """Ask for a run as the API does; the run page, or the field messages to show."""
        form = request.form
        periods = [p.strip() for p in form.getlist("periods") if p.strip()][:24]
        choice = form.get("baseline", "default")
        baseline: int | str = choice if choice in ("default", "none") else _int(choice)
        session = db.session()
        try:
            asked = ask(session, actor, current_app.extensions["rulesvc.simulations"],
                        get_dictionary(current_app.config["RULES_DIR"]), session.commit,
                        candidate_version_id=v.id, baseline=baseline, periods=periods, options={})
        except PermissionDenied:
            return self._forbidden_page(_msg_not_allowed(lang))
        except NotFound:
            session.rollback()
            return self._not_found()
        except Unavailable as exc:
            session.rollback()
            return {"queue": [exc.msg.render(lang) if exc.msg else str(exc)]}
        except InvalidInput as exc:
            session.rollback()
            return _field_messages(exc, lang)
        return redirect(url_for(".simulation_run", code=v.scheme.code, number=v.number, run_id=asked.run.id))

    # -- one run ------------------------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/simulations/<int:run_id>/")
    def simulation_run(self, code: str, number: int, run_id: int) -> ResponseReturnValue:
        """A run: its progress while it runs; its report once it succeeded."""
        return self._run_page(code, number, run_id)

    def _run_page(self, code: str, number: int, run_id: int, *, status: int = 200,
                  lock_errors: dict[str, list[str]] | None = None) -> ResponseReturnValue:
        started = time.perf_counter()
        actor, lang = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None:
            return self._not_found()
        page = None
        scenarios = None
        if run.status == "succeeded":
            report = runs.report_of(run) or {"periods": []}
            page = S.report_page(report, request.args.get("period"), lang)
            scenarios = S.scenario_results(db.session(), run)
        may_edit = actor.may("edit") and actor.in_scope(run.procuratorate_id)
        may_lock_in = (may_edit and run.status == "succeeded" and run.candidate is not None
                       and run.candidate_version_id == v.id and lifecycle.is_editable(run.candidate.status))
        row = S.run_row(run, v.id, lang)
        prog = S.progress(run, lang)
        changes = (S.run_changes(db.session(), actor, run, get_dictionary(current_app.config["RULES_DIR"]), lang)
                   if run.status == "succeeded" else None)
        notes = S.dimension_notes(run, lang) if run.status == "succeeded" else {}
        db.session.commit()
        answer = self._page("admin/designer/simulation_run.html", v=v, run=run, row=row, progress=prog, report=page,
                          chart=page["chart"] if page else {}, scenarios=scenarios, may_edit=may_edit,
                          n=S.Numbers(lang), error=S.error_words(run, lang), again=S.again_request(run),
                          quota_groups=S.QUOTA_GROUP_WORDS[lang], check_words=S.CHECK_WORDS[lang],
                          kinds=S.KIND_WORDS[lang], may_lock_in=may_lock_in, lock_errors=lock_errors,
                          lock_form=request.form if lock_errors else None, changes=changes, dim_notes=notes,
                          started=started)
        if run.status in runs.ACTIVE:
            _warm_report_templates()
        return answer[0], status, answer[2]

    @expose("/<code>/<int:number>/simulations/<int:run_id>/lock-in/", methods=("POST",))
    def simulation_lock_in(self, code: str, number: int, run_id: int) -> ResponseReturnValue:
        """Keep this run's results of the top movers and/or named people as regression scenarios of the draft it
        scored (:func:`rulesvc.services.simulation.lockin.lock_in`, as ``POST /simulations/<id>/lock-in``)."""
        actor, lang = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None or run.candidate_version_id != v.id:
            return self._not_found()
        form = request.form
        subjects = [c for c in form.get("subjects", "").replace("，", " ").replace(",", " ").replace("、", " ").split()
                    if c][:500]
        movers = _int(form.get("movers", "0") or "0")
        expect = ["total", "grade"] + (["indicators"] if form.get("indicators") else [])
        period = request.args.get("period")
        try:
            if not isinstance(movers, int) or movers > 100:
                raise InvalidInput(_msg_movers(), errors={"movers": [_msg_movers()]})
            lockin.lock_in(db.session(), actor, run_id, subjects=subjects, movers=movers, expect=expect, period=period)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden_page(_msg_not_allowed(lang))
        except (InvalidInput, Conflict) as exc:
            db.session.rollback()
            errors = _field_messages(exc, lang) if isinstance(exc, InvalidInput) else \
                {"": [exc.msg.render(lang) if exc.msg else str(exc)]}
            return self._run_page(code, number, run_id, status=422 if isinstance(exc, InvalidInput) else 409,
                                  lock_errors=errors)
        back = url_for(".simulation_run", code=code, number=number, run_id=run_id)
        return redirect(back + (f"?period={quote(period)}" if period else "") + "#sec-scenarios")

    @expose("/<code>/<int:number>/simulations/<int:run_id>/progress/")
    def simulation_progress(self, code: str, number: int, run_id: int) -> ResponseReturnValue:
        """The progress bar (htmx, polled); once the run is over, the page reloads to show the outcome."""
        actor, lang = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None:
            return self._not_found()
        prog = S.progress(run, lang)
        db.session.commit()
        html = self.render("admin/designer/simulation_progress.html", v=v, run=run, progress=prog)
        headers = {"HX-Refresh": "true"} if prog["finished"] else {}
        return html, 200, headers

    @expose("/<code>/<int:number>/simulations/<int:run_id>/cancel/", methods=("POST",))
    def simulation_cancel(self, code: str, number: int, run_id: int) -> ResponseReturnValue:
        """Cancel (queued: at once; running: at its next step, nothing saved); a finished run is left as it is."""
        actor, lang = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None:
            return self._not_found()
        try:
            runs.cancel_run(db.session(), actor, run_id)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden_page(_msg_not_allowed(lang))
        except Conflict:
            db.session.rollback()  # over already: the page shows how it ended
        return redirect(url_for(".simulation_run", code=code, number=number, run_id=run_id))

    @expose("/<code>/<int:number>/simulations/<int:run_id>/why/<subject>/")
    def simulation_why(self, code: str, number: int, run_id: int, subject: str) -> ResponseReturnValue:
        """Why one subject moved (htmx fragment): each indicator's and item's points and contribution under both."""
        actor, lang = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None:
            return self._not_found()
        try:
            why = runs.why(db.session(), actor, run_id, subject[:40], period=request.args.get("period"))
        except (NotFound, Conflict, InvalidInput):
            db.session.rollback()
            return self._not_found()
        notes = S.dimension_notes(run, lang)
        db.session.commit()
        grades = {"b": why["baseline"]["grade"], "c": why["candidate"]["grade"],
                  "reason_b": why["grade_reason_b"], "reason_c": why["grade_reason_c"]}
        return self.render("admin/designer/simulation_why.html", why=S.why_rows(why["items"]), n=S.Numbers(lang),
                           kinds=S.KIND_WORDS[lang], dim_notes=notes, grades=grades)

    @expose("/<code>/<int:number>/simulations/<int:run_id>/export.<fmt>")
    def simulation_export(self, code: str, number: int, run_id: int, fmt: str) -> ResponseReturnValue:
        """The report as a workbook (a sheet per section) or the per-subject rows as CSV, streamed."""
        actor, _ = _here()
        v = self._version(actor, code, number)
        run = self._run(actor, v, run_id) if v is not None else None
        if v is None or run is None or fmt not in ("xlsx", "csv") or run.status != "succeeded":
            return self._not_found()
        name = f"simulation-{run.id}-{run.result_hash[:12] if run.result_hash else ''}.{fmt}"
        scope = current_app.extensions["rulesvc.simulation_scope"]
        body: Iterator[str] | Iterator[bytes]
        if fmt == "csv":
            body, mimetype = export.iter_csv_export(scope, run.id), "text/csv"
        else:
            rows = S.export_changes(db.session(), actor, run, get_dictionary(current_app.config["RULES_DIR"]))
            body, mimetype = export.iter_xlsx_export(scope, run.id, rows), XLSX_MIMETYPE
        db.session.commit()
        response = flask.Response(flask.stream_with_context(body), mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _int(text: str) -> int | str:
    try:
        value = int(text)
    except ValueError:
        return "bad"
    return value if 0 < value < 2**31 else "bad"


def _msg_not_allowed(lang: str) -> str:
    from flask_babel import gettext

    return gettext("You may read these simulations but not start or cancel one.")


def _msg_movers() -> str:
    from flask_babel import gettext

    return gettext("Give a number of risers and fallers between 0 and 100.")


def _field_messages(exc: InvalidInput, lang: str) -> dict[str, list[str]]:
    from admin.designer_edit import _field_errors

    errors = _field_errors(exc, lang)
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        field = "periods" if key.startswith("periods") else "baseline" if key.startswith("baseline") else \
            "candidate" if key.startswith("candidate") else ""
        out.setdefault(field, []).extend(messages)
    return out
