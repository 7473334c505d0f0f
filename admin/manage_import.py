"""Page 11, 导入: upload a file of events or reference data, read the result or the table of row errors, and the
datasets with 更正 (a correction is an upload naming the dataset it corrects) and 撤回 (with a reason).

Thin: the upload goes to :func:`rulesvc.services.importing.import_file` exactly as ``rulesvc import`` calls it
(limits and settings from the configuration, the person as ``created_by`` and as the actor: the service checks
they may import for the whole province and writes the audit record of every dataset created); the list is :func:`~rulesvc.services.importing.list_datasets`; a withdrawal is
:func:`~rulesvc.services.importing.withdraw_dataset`, which writes the audit record. Whoever the service
treats as the operator may use the page: a dataset holds events of many procuratorates, so the service refuses
an actor limited to part of the province — the page is an administrator's of the whole province (an
administrator without a procuratorate); others get 403.

The upload runs in the request: with htmx the page shows the upload's progress, then the import's own
(checking, then writing: the service's progress callback, :mod:`admin.manage_progress`) until the answer (the
result or the row errors) replaces the form's result area; without JavaScript the form posts as usual.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext
from sqlalchemy import func, select

from admin.manage_common import ManageView, actor, lang, timer
from admin.manage_progress import FileProgress, new_token, read
from rulesvc.errors import ImportRejected, InvalidInput, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence.models import Dataset, DatasetWithdrawal
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import Actor
from rulesvc.services.importing import (
    KINDS,
    DatasetInfo,
    Limits,
    import_file,
    list_datasets,
    withdraw_dataset,
)
from rulesvc.services.importing.datasets import REASON_MAX

ACCEPT = ".csv,.xlsx,.jsonl,.ndjson"
# Where the English half of a service message starts: "…（imported 9 events as …）".
_ENGLISH_PART = re.compile(r"（(?=[a-z])")


def may_import(person: Actor) -> bool:
    """An administrator of the whole province: the operator the import and withdrawal services act for."""
    return person.role == "admin" and person.scope is None


def kind_choices() -> list[tuple[str, str]]:
    words = {"events": gettext("Events"), "procuratorates": gettext("Procuratorates"),
             "departments": gettext("Departments"), "prosecutors": gettext("Prosecutors")}
    return [("", gettext("Detect from the header")), *((k, words.get(k, k)) for k in KINDS)]


class ImportView(ManageView):
    """导入 and the datasets (``/admin/import/``)."""

    def allowed(self, person: Actor) -> bool:
        return may_import(person)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        started = timer()
        if not may_import(actor()):
            return self.forbidden(gettext("Only an administrator of the whole province may import data."))
        return self._index(started)

    def _index(self, started: float, *, status: int = 200, **context: Any) -> ResponseReturnValue:
        datasets = _datasets()
        corrects = request.args.get("corrects", type=int) or context.pop("corrects", None)
        return self._page("admin/manage/import.html", started=started, status=status, datasets=datasets[::-1],
                          correctable=[d for d in datasets[::-1] if d.kind == "events"], corrects=corrects,
                          kinds=kind_choices(), accept=ACCEPT, reason_max=REASON_MAX, token=new_token(),
                          encodings=_encodings(), **{**_options(), **context})

    @expose("/progress/<token>/")
    def progress(self, token: str) -> ResponseReturnValue:
        """How far the import sent with this token is: ``{"phase": "validate"|"write", "percent": 0–100}``."""
        if not may_import(actor()):
            return self.forbidden(gettext("Only an administrator of the whole province may import data."))
        return jsonify(read(token[:40])), 200, {"Cache-Control": "no-store"}

    @expose("/upload/", methods=("POST",))
    def upload(self) -> ResponseReturnValue:
        """The file: the result, or the row errors (422: nothing was imported)."""
        started = timer()
        person = actor()
        if not may_import(person):
            return self.forbidden(gettext("Only an administrator of the whole province may import data."))
        outcome, status = self._import(person)
        if request.headers.get("HX-Request"):
            html = self.render("admin/manage/import_result.html", **outcome)
            return html, status, {"X-Render-Ms": f"{(timer() - started) * 1000:.1f}"}
        return self._index(started, status=status, **outcome)

    def _import(self, person: Actor) -> tuple[dict[str, Any], int]:
        file = request.files.get("file")
        corrects = request.form.get("corrects", type=int)
        kind = request.form.get("kind") or None
        name = (request.form.get("name") or "").strip() or None
        if file is None or not file.filename:
            return {"field_error": gettext("Choose a file to import."), "corrects": corrects}, 422
        if kind is not None and kind not in KINDS:
            return {"field_error": gettext("Choose what the file holds."), "corrects": corrects}, 422
        config = current_app.config
        options = _options()
        if options["encoding"] not in dict(_encodings()):
            return {"field_error": gettext("Choose the file's encoding from the list."), "corrects": corrects}, 422
        progress = FileProgress(request.form.get("progress"))
        try:
            result = import_file(
                db.session(), file.stream, filename=file.filename, dictionary=get_dictionary(config["RULES_DIR"]),
                kind=kind, name=name, created_by=person.name, batch_size=config.get("IMPORT_BATCH_SIZE", 20_000),
                outside_office="flag" if options["outside_office"] else config.get("IMPORT_OUTSIDE_OFFICE", "reject"),
                limits=Limits.from_config(config), corrects=corrects, actor=person, progress=progress,
                encoding=options["encoding"] or None, reuse_withdrawn=options["reuse_withdrawn"],
            )
        except ImportRejected as exc:
            total = exc.details.get("total_errors", len(exc.row_errors))
            return {"rejected": exc, "row_errors": exc.row_errors, "more_errors": max(0, total - len(exc.row_errors)),
                    "filename": file.filename, "corrects": corrects}, 422
        except InvalidInput as exc:
            return {"error": exc.message, "field_errors": _flat(exc.rendered_errors()), "filename": file.filename,
                    "corrects": corrects}, 422
        except RulesvcError as exc:  # the same data as a withdrawn dataset (409), an unknown dataset (404)
            return {"error": exc.message, "filename": file.filename, "corrects": corrects}, 409
        finally:
            progress.close()
        return {"result": result, "summary": _summary(result), "filename": file.filename}, 200

    @expose("/<int:dataset_id>/withdraw/", methods=("POST",))
    def withdraw(self, dataset_id: int) -> ResponseReturnValue:
        """撤回 with a reason; without one the page again with the message beside the field (422)."""
        started = timer()
        person = actor()
        if not may_import(person):
            return self.forbidden(gettext("Only an administrator of the whole province may import data."))
        reason = request.form.get("reason", "")
        try:
            done = withdraw_dataset(db.session(), person, dataset_id, reason)
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            return self._index(started, status=422, withdraw_id=dataset_id, withdraw_reason=reason,
                               withdraw_error=exc.message)
        except RulesvcError as exc:
            db.session.rollback()
            if exc.code == "not_found":
                return self.not_found()
            return self._index(started, status=409, withdraw_id=dataset_id, withdraw_reason=reason,
                               withdraw_error=exc.message)
        stopped = f"{done.stopped:,}"
        flash(gettext("Dataset #%(id)s withdrawn: %(n)s of its events no longer count.", id=done.dataset_id,
                      n=stopped), "success")
        for corrected, count in sorted(done.restored.items()):
            again = f"{count:,}"
            flash(gettext("%(n)s events of dataset #%(id)s that it had replaced count again.", id=corrected,
                          n=again), "info")
        if done.corrections_in_use:
            flash(gettext("Datasets correcting it stay in use: %(ids)s. Withdraw them too if they should go.",
                          ids=", ".join(f"#{i}" for i in done.corrections_in_use)), "warning")
        return redirect(url_for(".index"))


_LISTED: dict[tuple[Any, ...], list[DatasetInfo]] = {}
_LISTED_LOCK = threading.Lock()


def _datasets() -> list[DatasetInfo]:
    """:func:`list_datasets`, kept per state of the data: datasets never change once imported and withdrawals are
    only added, so (the database, the last dataset, the number of withdrawals) names what the list shows — and
    its count of the events in use, a pass over every event (~0.4 s on the demo province's 1.16M), runs once
    per import or withdrawal instead of on every visit."""
    session = db.session()
    state = (str(session.get_bind().engine.url), session.scalar(select(func.max(Dataset.id))),
             session.scalar(select(func.count()).select_from(DatasetWithdrawal)))
    with _LISTED_LOCK:
        found = _LISTED.get(state)
    if found is None:
        found = list_datasets(session)
        with _LISTED_LOCK:
            if len(_LISTED) >= 8:
                _LISTED.clear()
            _LISTED[state] = found
    session.rollback()  # read only
    return found


def _flat(errors: Any) -> dict[str, str]:
    """Field errors as one message per field."""
    if not isinstance(errors, dict):
        return {}
    return {str(k): "；".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in errors.items()}


def _summary(result: Any) -> str:
    """The service's message in the UI's language (its messages carry both: Chinese, then English in brackets)."""
    if result.summary is not None:
        return str(result.summary.render(lang()))
    text = str(result.message)
    parts = _ENGLISH_PART.split(text, maxsplit=1)
    if len(parts) == 1:
        return text
    return parts[1].removesuffix("）") if lang() == "en" else parts[0]


def _encodings() -> list[tuple[str, str]]:
    """The encodings the page offers for a text file (the CLI's ``--encoding`` takes any Python name)."""
    return [("", gettext("Detect it (UTF-8 or GB18030)")), ("utf-8", "UTF-8"), ("gb18030", "GB18030（GBK）"),
            ("utf-16", "UTF-16"), ("cp1252", "Windows-1252")]


def _options() -> dict[str, Any]:
    """The 更多选项 of the form as sent (the page shows them as they were)."""
    form = request.form
    out = {"encoding": str(form.get("encoding") or ""), "outside_office": form.get("outside_office") == "flag",
           "reuse_withdrawn": bool(form.get("reuse_withdrawn"))}
    out["options_open"] = bool(out["encoding"] or out["outside_office"] or out["reuse_withdrawn"])
    return out
