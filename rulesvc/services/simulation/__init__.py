"""模拟测评 (simulation runs): a candidate version scored against a baseline on closed periods, with a
report a designer can act on, and the gate approval rests on.

- :mod:`.spec` — periods, report options and the run's identity;
- :mod:`.runs` — runs as records: ask, read, list, cancel, per-subject results, "why it moved";
- :mod:`.execute` — the computation and the one transaction that saves it;
- :mod:`.jobs` — where it runs (RQ worker or an embedded thread);
- :mod:`.scenarios` — regression scenarios a version carries and every run checks;
- :mod:`.gate` — what approval requires.

The numbers themselves come from the engine (:mod:`rulesvc.engine.simreport`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import Unavailable
from rulesvc.services.governance.access import Actor
from rulesvc.services.simulation.jobs import Dispatcher
from rulesvc.services.simulation.runs import Asked, create_run, record_start


def ask(session: Session, actor: Actor, dispatcher: Dispatcher, dictionary: Dictionary, commit: Callable[[], None],
        **request: Any) -> Asked:
    """Ask for a run and start it: check the runner can take it (503 otherwise, nothing written), record
    it, commit, hand it to the runner. If handing over fails after all, the new run is removed again.

    The audit record (``simulation.create``) is written once the runner has the run: a run removed again
    because the queue failed leaves no record of a start that never was."""
    dispatcher.check()
    asked = create_run(session, actor, dictionary, mode=dispatcher.mode, audited=False, **request)
    commit()
    if asked.needs_dispatch:
        try:
            job = dispatcher.submit(asked.run.id)
        except Unavailable:
            if asked.run.attempts == 0:  # never ran: as if it had not been asked for
                session.delete(asked.run)
            else:  # ran before (a retry): keep its history, failed again
                asked.run.status, asked.run.error_code = "failed", "simulation.queue_down"
            commit()
            raise
        if job != asked.run.job_id:
            asked.run.job_id = job
        record_start(session, actor, asked.run)
        commit()
    return asked


__all__ = ["ask"]
