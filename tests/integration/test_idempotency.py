"""``Idempotency-Key`` on ``POST /api/v1/evaluations`` and ``POST /api/v1/simulations`` (issue 11): a retry
gets the first answer byte for byte (``Idempotent-Replayed: true``), another request under the same key is
422, a key still running is 409 with Retry-After, keys are per caller, bad keys are 400, a 5xx is not kept
(provoked for real: Redis configured but down), keys expire after 24 hours. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update

from rulesvc.api.idempotency import KEY_TTL, PRUNE_BATCH
from rulesvc.extensions import db
from rulesvc.persistence.models import IdempotencyKey, utcnow
from tests.conftest import make_app
from tests.integration.simhelpers import (
    ok,
    refused,
    scoring_world,
    wait_for,
)
from tests.integration.test_simulation_jobs import closed_port

EVALUATIONS = "/api/v1/evaluations"
SIMULATIONS = "/api/v1/simulations"


@pytest.fixture
def world(app, tmp_path):
    """A small province, version 1 in force from 2020, and two scoring keys of the same procuratorate."""
    with scoring_world(app, tmp_path) as w:
        yield w


def score(c, headers, key=None, **body):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return c.post(EVALUATIONS, headers={**headers, **extra},
                  json={"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01", **body})


def rows(app) -> list[IdempotencyKey]:
    with app.app_context():
        found = list(db.session.execute(select(IdempotencyKey).order_by(IdempotencyKey.id)).scalars())
        db.session.expunge_all()
        return found


def change(app, key: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key).values(**values))
        db.session.commit()


def test_a_retry_gets_the_first_answer_byte_for_byte(world):
    sim, c, k, _ = world
    first = score(c, k["scorer"], "key-1", trace="summary")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    again = score(c, k["scorer"], "key-1", trace="summary")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data() and again.content_type == first.content_type
    (row,) = rows(sim)
    assert (row.state, row.status_code, row.method, row.path) == ("done", 200, "POST", EVALUATIONS)
    assert row.caller.startswith("key:") and row.response_body == first.get_data()
    # the quoted form of the IETF draft names the same key
    assert score(c, k["scorer"], '"key-1"', trace="summary").headers["Idempotent-Replayed"] == "true"
    # without the header nothing changes: computed each time, nothing kept
    plain = score(c, k["scorer"], trace="summary")
    assert plain.status_code == 200 and "Idempotent-Replayed" not in plain.headers and len(rows(sim)) == 1


def test_the_same_json_written_otherwise_is_the_same_request(world):
    """An integrator's audit: a retry serialised by another library (keys in another order, other spacing) read
    as another request — 422 for a retry of the very same request. A JSON body is compared by its content."""
    sim, c, k, _ = world
    headers = {**k["scorer"], "Idempotency-Key": "key-order", "Content-Type": "application/json"}
    first = c.post(EVALUATIONS, headers=headers,
                   data='{"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01", "trace": "summary"}')
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    again = c.post(EVALUATIONS, headers=headers,
                   data='{"trace":"summary",\n "subject":"P01","period":"2020","scheme":"SIM-PROSECUTOR"}')
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    # another value is still another request
    refused(c.post(EVALUATIONS, headers=headers,
                   data='{"trace":"summary","subject":"P02","period":"2020","scheme":"SIM-PROSECUTOR"}'), 422,
            "idempotency.key_reused")
    assert [r.state for r in rows(sim)] == ["done"]


def test_the_same_key_for_another_request_is_422_and_runs_nothing(world):
    sim, c, k, _ = world
    ok(score(c, k["scorer"], "key-2"))
    body = refused(score(c, k["scorer"], "key-2", subject="P04"), 422, "idempotency.key_reused")
    assert body["status"] == "invalid_input"
    assert body["field_codes"] == {"headers": {"Idempotency-Key": ["idempotency.key_used_for"]}}
    # the query string counts as part of the request too
    refused(c.post(EVALUATIONS + "?lang=en", headers={**k["scorer"], "Idempotency-Key": "key-2"},
                   json={"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01"}), 422,
            "idempotency.key_reused")
    # and so does the operation: the key of an evaluation is not one for a simulation
    refused(c.post(SIMULATIONS, headers={**k["scorer"], "Idempotency-Key": "key-2"},
                   json={"candidate_version_id": 1, "periods": "2020"}), 422, "idempotency.key_reused")
    assert [r.state for r in rows(sim)] == ["done"]


def test_a_batch_as_json_lines_is_another_request_and_a_stream_is_not_kept(world):
    """A kept JSON answer is never replayed to a caller reading JSON Lines (its reader would break): asking
    the same batch as a stream under the same key is another request. A stream is not kept: a retry of it
    runs again, and the key stays free for it."""
    sim, c, k, _ = world
    batch = {"scheme": "SIM-PROSECUTOR", "period": "2020", "subjects": ["P01", "P04"]}
    ok(c.post(EVALUATIONS + "/batch", headers={**k["scorer"], "Idempotency-Key": "batch-1"}, json=batch))
    lines = {**k["scorer"], "Idempotency-Key": "batch-1", "Accept": "application/x-ndjson"}
    refused(c.post(EVALUATIONS + "/batch", headers=lines, json=batch), 422, "idempotency.key_reused")
    streamed = {**k["scorer"], "Idempotency-Key": "batch-2", "Accept": "application/x-ndjson"}
    for _ in range(2):
        answer = c.post(EVALUATIONS + "/batch", headers=streamed, json=batch)
        assert answer.status_code == 200 and answer.mimetype == "application/x-ndjson"
        assert "Idempotent-Replayed" not in answer.headers and len(answer.get_data().splitlines()) == 3
    assert [r.key for r in rows(sim)] == ["batch-1"]


def test_keys_are_per_caller(world):
    sim, c, k, _ = world
    mine = score(c, k["scorer"], "shared", subject="P01")
    theirs = score(c, k["other-scorer"], "shared", subject="P04")  # another body: no 422 across callers
    assert mine.status_code == theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["subject"]["code"] == "P04"
    assert len({r.caller for r in rows(sim)}) == 2
    assert score(c, k["other-scorer"], "shared", subject="P04").headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé", "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_400_on_the_header(world, key):
    sim, c, k, _ = world
    body = refused(score(c, k["scorer"], key), 400, "idempotency.key_invalid")
    assert body["field_codes"] == {"headers": {"Idempotency-Key": ["idempotency.key_format"]}}
    assert rows(sim) == []


def test_refusals_that_describe_the_request_are_kept_those_of_the_moment_are_not(world):
    sim, c, k, _ = world
    missing = refused(score(c, k["scorer"], "nobody", subject="NOBODY"), 404, "scoring.no_subject")
    replayed = score(c, k["scorer"], "nobody", subject="NOBODY")
    assert replayed.status_code == 404 and replayed.get_json() == missing
    assert replayed.headers["Idempotent-Replayed"] == "true"
    # 403 (read alone does not score) is answered before anything is kept
    refused(score(c, k["readonly"], "ro"), 403)
    assert [r.key for r in rows(sim)] == ["nobody"]


def test_a_simulation_asked_again_with_its_key_gets_the_first_answer(world):
    sim, c, k, v1 = world
    body = {"candidate_version_id": v1["id"], "periods": "2020-07", "baseline": "none"}
    headers = {**k["province"], "Idempotency-Key": "run-2020"}
    first = c.post(SIMULATIONS, headers=headers, json=body)
    assert first.status_code == 202, first.get_data(as_text=True)
    again = c.post(SIMULATIONS, headers=headers, json=body)
    # the same 202 "queued", though the run may have moved on (without the key: 200, the run as it is now)
    assert again.status_code == 202 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    where = f"{SIMULATIONS}/{first.get_json()['id']}"  # where to follow the run, replayed with the answer
    assert first.headers["Location"] == again.headers["Location"] == where
    found = c.post(SIMULATIONS, headers=k["province"], json=body)
    assert found.status_code == 200 and found.headers["Location"] == where
    wait_for(c, k["province"], first.get_json()["id"])  # the service's thread done before clean-up


def test_a_5xx_is_not_kept_so_the_request_can_be_retried(world, tmp_path):
    sim, c, k, v1 = world
    down = make_app(sim.config["DATABASE_URL"], tmp_path / "down", REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    body = {"candidate_version_id": v1["id"], "periods": "2020-07", "baseline": "none"}
    headers = {**k["province"], "Idempotency-Key": "queue-down"}
    try:
        response = down.test_client().post(SIMULATIONS, headers=headers, json=body)
        refused(response, 503, "simulation.queue_down")
        assert rows(sim) == []  # released: nothing kept
        # Redis is back (here: the service's own thread): the same key runs it now
        retried = c.post(SIMULATIONS, headers=headers, json=body)
        assert retried.status_code == 202 and "Idempotent-Replayed" not in retried.headers
        wait_for(c, k["province"], retried.get_json()["id"])
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_key_still_in_progress_is_409_with_retry_after_until_its_claim_lapses(world):
    sim, c, k, _ = world
    ok(score(c, k["scorer"], "slow"))
    # as if the first request were still running (another worker holds it)
    change(sim, "slow", state="in_progress", status_code=None, response_body=None)
    response = score(c, k["scorer"], "slow")
    refused(response, 409, "idempotency.in_progress")
    assert int(response.headers["Retry-After"]) > 0
    # the same key with another body is still a client bug, running or not
    refused(score(c, k["scorer"], "slow", subject="P04"), 422, "idempotency.key_reused")
    # a claim left behind by a process that died: after the timeout, a retry takes it over and runs
    change(sim, "slow", created_at=utcnow() - dt.timedelta(minutes=6))
    taken = score(c, k["scorer"], "slow")
    assert taken.status_code == 200 and "Idempotent-Replayed" not in taken.headers
    assert [r.state for r in rows(sim)] == ["done"]


def test_keys_expire_after_24_hours_and_expired_ones_are_pruned(world):
    sim, c, k, _ = world
    ok(score(c, k["scorer"], "old"))
    change(sim, "old", created_at=utcnow() - KEY_TTL - dt.timedelta(minutes=1))
    # expired: as if never used — another request under it runs
    fresh = score(c, k["scorer"], "old", subject="P04")
    assert fresh.status_code == 200 and fresh.get_json()["subject"]["code"] == "P04"
    assert "Idempotent-Replayed" not in fresh.headers
    # many expired keys: each new key removes a bounded batch of them
    long_ago = utcnow() - KEY_TTL - dt.timedelta(hours=1)
    with sim.app_context():
        db.session.add_all(IdempotencyKey(caller="key:999", key=f"stale-{i}", method="POST", path=EVALUATIONS,
                                          request_hash="0" * 64, state="done", status_code=200, response_body=b"{}",
                                          content_type="application/json", created_at=long_ago)
                           for i in range(PRUNE_BATCH + 5))
        db.session.commit()
    ok(score(c, k["scorer"], "new-1"))
    with sim.app_context():
        stale = db.session.scalar(select(func.count()).where(IdempotencyKey.caller == "key:999"))
    assert stale == 5
    ok(score(c, k["scorer"], "new-2"))
    assert {r.key for r in rows(sim)} == {"old", "new-1", "new-2"}


def test_the_header_is_documented_on_both_operations(client):
    spec = client.get("/api/docs/openapi.json").get_json()
    for path in ("/api/v1/evaluations", "/api/v1/simulations"):
        operation = spec["paths"][path]["post"]
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is False and header["example"]
        assert "幂等键" in header["description"] and "first answer" in header["description"]
        assert header["schema"]["maxLength"] == 255
        assert "Retry-After" in operation["responses"]["409"]["headers"]
        assert "requestBody" in operation
    assert "Idempotency-Key" not in json.dumps(spec["paths"]["/api/v1/simulations"]["get"])


def test_a_key_is_no_replay_once_the_caller_may_see_less(world):
    """A review signed in as a county reviewer, scored a colleague under a key, was moved to another county,
    and read the old county's card again by replaying the key for 24 hours. What the caller may see and do is
    part of the request: after a change of procuratorate or permissions the same key is another request (422)."""
    from rulesvc.persistence.models import ApiKey, Procuratorate

    sim, c, k, _ = world
    first = score(c, k["county-scorer"], "moved-1")
    assert first.status_code == 200 and first.get_json()["subject"]["code"] == "P01"
    with sim.app_context():
        other = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910102"))
        db.session.execute(update(ApiKey).where(ApiKey.name == "county-scorer").values(procuratorate_ids=[other]))
        db.session.commit()
    refused(score(c, k["county-scorer"], subject="P01"), 404, "scoring.no_subject")  # no longer theirs
    again = score(c, k["county-scorer"], "moved-1")
    assert "Idempotent-Replayed" not in again.headers and "P01" not in again.get_data(as_text=True)
    refused(again, 422, "idempotency.key_reused")
    # permissions likewise: a key that lost nothing still replays
    assert score(c, k["scorer"], "same-1").status_code == 200
    assert score(c, k["scorer"], "same-1").headers["Idempotent-Replayed"] == "true"
