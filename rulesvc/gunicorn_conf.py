"""gunicorn settings of ``rulesvc serve`` (``-c python:rulesvc.gunicorn_conf``); the command line gives the rest.

A worker's Python objects are almost all made when it loads the application: its modules, mappers, schemas
and views (about 200,000 objects the garbage collector tracks). They live as long as the worker, yet a full
collection walks every one of them — about 120 ms on the 2-vCPU machine of ``bench/RESULTS.md``, a pause of
all of the worker's threads that shows in a scoring request's p99. Frozen once the application is loaded
(``gc.freeze``), they are left out of every collection; what requests make afterwards is collected as
before, so memory does not grow from it (the RSS benchmark checks), and a full collection then takes ~2 ms.
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Called by gunicorn in each worker once the application is loaded."""
    gc.collect()  # what loading left unreachable goes first, so it is not kept for good
    gc.freeze()
