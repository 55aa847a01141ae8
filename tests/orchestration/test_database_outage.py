"""The database stops in the middle of a cycle: that cycle fails with a clear reason, the next one recovers,
its outcome is written once the database is back, and no user is landed twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest

from randomuser_api import FaultPlan, LocalApi
from userpipe import runs, warehouse
from userpipe.cycle import CycleRunner, CycleSettings


def test_database_stopped_mid_cycle(own_server: warehouse.EmbeddedPostgres, faulty_api: Callable[..., LocalApi],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    api = faulty_api(None)
    # no database_url given: every cycle resolves USERPIPE_DATABASE_URL afresh, as `userpipe run` does
    with CycleRunner(CycleSettings(batch_size=10, api_url=api.url)) as runner:
        first = runner.run_cycle()
        assert first.status == "success", first.error

        api.set_faults(FaultPlan.of("slow", times=1, delay=3.0))  # ingest waits on the API...
        stopper = threading.Timer(1.0, own_server.stop)  # ...while the database goes away
        stopper.start()
        broken = runner.run_cycle()
        stopper.join()
        assert broken.status == "failed"
        assert (broken.error or "").startswith("ingest failed:"), broken.error
        assert runner.pending == [broken]  # could not be written: kept for later

        down = runner.run_cycle()  # the database is still down: fails fast, clearly
        assert down.status == "failed" and (down.error or "").startswith("database unreachable:")

        # back up (possibly on another port, when the old one is still in TIME_WAIT)
        monkeypatch.setenv(warehouse.DATABASE_URL_ENV, own_server.start())
        recovered = runner.run_cycle()
        assert recovered.status == "success", recovered.error
        assert runner.pending == []

    with psycopg.connect(own_server.url()) as conn:
        stored = {r.run_id: r for r in runs.recent(conn, 10)}
        assert {k: stored[k].status for k in stored} == {
            first.run_id: "success", broken.run_id: "failed", down.run_id: "failed", recovered.run_id: "success"}
        assert stored[broken.run_id].error == broken.error
        raw = conn.execute("select count(*), count(distinct uuid) from raw.users").fetchone()
        incoming = conn.execute("select count(*), count(distinct user_id) from public.incoming_users").fetchone()
    assert raw == (20, 20)  # the broken cycle's batch never landed, not even in part
    assert incoming == (20, 20)
