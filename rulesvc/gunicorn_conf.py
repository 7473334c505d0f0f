"""gunicorn settings of ``rulesvc serve`` (``-c python:rulesvc.gunicorn_conf``); the command line gives the rest.

Three things a scoring server needs beyond gunicorn's defaults:

- **Freeze what loading made.** A worker's Python objects are almost all made when it loads the application:
  its modules, mappers, schemas and views (about 200,000 objects the garbage collector tracks). They live as
  long as the worker, yet a full collection walks every one of them — about 120 ms on the 2-vCPU machine of
  ``bench/RESULTS.md``, a pause of all of the worker's threads that shows in a scoring request's p99. Frozen
  once the application is loaded (``gc.freeze``), they are left out of every collection; what requests make
  afterwards is collected as before (memory does not grow from it: the RSS benchmark checks), and a full
  collection then takes ~2 ms.
- **Let keep-alive connections move.** A client's persistent connections stay with the worker that accepted
  them; a few clients (other systems keep a small pool open) can end up all on one worker while the other
  idles — half the server answering, with the latency of a queue. As nginx does (``keepalive_requests``),
  a connection is closed after an answer now and then (one answer in :data:`CLOSE_EVERY` of a worker, with
  ``Connection: close``); the client opens a new one, which the less busy worker is the quicker to accept.
- **Two threads per worker.** A worker's threads share one interpreter lock, and every database call,
  socket read and write hands it over; with four threads a scoring request's p99 at half the maximum
  rate was 1.5–2× that with two, and the workers mostly used more CPU for the same requests (2-vCPU
  machine of ``bench/RESULTS.md``, run 12). One thread would be quicker still, but then one long request
  (an import, a publication, a period's first computation) holds every connection the worker has
  accepted; with two, the other thread answers meanwhile. ``--threads`` on the command line overrides it.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any

CLOSE_EVERY = 100  # a worker closes the connection after one answer in this many

threads = 2  # gunicorn's setting (requests a worker runs at once); the command line's --threads wins

_answers = itertools.count(1)


def post_worker_init(worker: Any) -> None:
    """Called by gunicorn in each worker once the application is loaded."""
    gc.collect()  # what loading left unreachable goes first, so it is not kept for good
    gc.freeze()


def pre_request(worker: Any, req: Any) -> None:
    """Called by gunicorn before each request: every CLOSE_EVERY-th answer of the worker closes its connection."""
    if next(_answers) % CLOSE_EVERY == 0:
        req.must_close = True
