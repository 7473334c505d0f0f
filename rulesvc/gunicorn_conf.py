"""gunicorn settings of ``rulesvc serve`` (``-c python:rulesvc.gunicorn_conf``); the command line gives the rest.

Four things a scoring server needs beyond gunicorn's defaults:

- **Freeze what loading made.** A worker's Python objects are almost all made when it loads the application:
  its modules, mappers, schemas and views (about 200,000 objects the garbage collector tracks). They live as
  long as the worker, yet a full collection walks every one of them — about 120 ms on the 2-vCPU machine of
  ``bench/RESULTS.md``, a pause of all of the worker's threads that shows in a scoring request's p99. Frozen
  once the application is loaded (``gc.freeze``), they are left out of every collection; what requests make
  afterwards is collected as before (memory does not grow from it: the RSS benchmark checks), and a full
  collection then takes ~2 ms.
- **One request at a time per worker** (``threads = 1``: gunicorn's sync worker; more cores, more workers).
  A worker's threads share one interpreter lock, handed over at every database call and socket read: on
  the 2-vCPU machines of ``bench/RESULTS.md`` (runs 12 and 13) one thread gave the highest rate and by far
  the lowest p99 (4–10 ms at half the maximum rate against 16–82 ms with two threads, 34–45 with four). A
  sync worker takes a connection only when it is free, so a long request (an import, a publication, a
  period's first computation) keeps only its own caller waiting: new connections go to the other workers.
  It has no keep-alive (each answer closes its connection) and reads a request's body itself, so a slow
  client holds it: in production put a buffering proxy (nginx) in front, as gunicorn advises for it.
- **A long timeout** (:data:`timeout`, 10 minutes). A sync worker that has not answered within the timeout
  is killed; an upload of a large events file is imported in its request (a million rows take about a
  minute), so the timeout is set far above gunicorn's 30 seconds.
- **Let keep-alive connections move** (with ``--threads`` above 1, whose gthread worker keeps them open). A
  client's persistent connections stay with the worker that accepted them; as nginx does
  (``keepalive_requests``), one answer in :data:`CLOSE_EVERY` of a worker closes its connection, and the
  client opens a new one, which the less busy worker is the quicker to accept.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any

CLOSE_EVERY = 100  # a worker closes the connection after one answer in this many

threads = 1  # gunicorn's setting (requests a worker runs at once; 1: the sync worker); --threads wins
timeout = 600  # seconds a worker may take over one request (a large import) before gunicorn kills it

_answers = itertools.count(1)


def post_worker_init(worker: Any) -> None:
    """Called by gunicorn in each worker once the application is loaded."""
    gc.collect()  # what loading left unreachable goes first, so it is not kept for good
    gc.freeze()


def pre_request(worker: Any, req: Any) -> None:
    """Called by gunicorn before each request: every CLOSE_EVERY-th answer of the worker closes its connection."""
    if next(_answers) % CLOSE_EVERY == 0:
        req.must_close = True
