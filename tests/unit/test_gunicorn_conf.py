"""The gunicorn settings of ``rulesvc serve``: a worker freezes what loading the application made, and
the collector still frees what requests make afterwards."""

from __future__ import annotations

import gc

from rulesvc import gunicorn_conf


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_loaded_application_is_frozen_and_later_garbage_still_collected():
    gc.unfreeze()
    try:
        loaded = [_Cycle() for _ in range(100)]  # what loading the application made, still in use
        gc_before = gc.get_freeze_count()
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() >= gc_before + len(loaded)
        assert not any(gc.is_tracked(x) and x in gc.get_objects(generation=2) for x in loaded[:3])
        for _ in range(50):
            _Cycle()  # a request's cyclic garbage, made after the freeze
        assert gc.collect() >= 50
    finally:
        gc.unfreeze()


def test_one_answer_in_close_every_closes_its_connection():
    class Req:
        must_close = False

    reqs = [Req() for _ in range(3 * gunicorn_conf.CLOSE_EVERY)]
    for r in reqs:
        gunicorn_conf.pre_request(worker=None, req=r)
    assert sum(r.must_close for r in reqs) == 3
