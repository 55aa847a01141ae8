"""What must hold after any fault and one clean recovery cycle (the fault suite's common checks).

- raw holds each user once (`raw.users` rows == distinct uuids) and nothing of an unfinished load;
- every user the API served for the batches that were asked for is in raw (nothing lost);
- `incoming_users` holds exactly the raw users of completed loads, minus those in quarantine
  (`ops.quarantined_users`, when that table exists);
- the marts add up to `incoming_users`;
- a failed cycle is recorded as failed, with its error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import psycopg

from ingestion.randomuser.helpers import BatchPlan
from randomuser_api.generate import build_response

COMPLETED_RAW_UUIDS = ("select u.uuid from raw.users as u where exists "
                       "(select 1 from raw._dlt_loads as l where l.load_id = u._dlt_load_id and l.status = 0)")


def served_uuids(seed: str, batch_size: int, first_page: int = 1, nat: str | None = None) -> set[str]:
    """The uuids our API serves for a batch of `batch_size` users of `seed` from `first_page` (the pages ingest
    asks for), computed with the API's own generator."""
    found: set[str] = set()
    for request in BatchPlan(seed, first_page, batch_size).requests(tuple(nat.split(",")) if nat else ()):
        body = json.loads(build_response(request.params()))
        found |= {user["login"]["uuid"] for user in body["results"]}
    return found


def _column(conn: psycopg.Connection, sql: str) -> set[str]:
    return {row[0] for row in conn.execute(sql).fetchall()}


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]  # type: ignore[index]


def assert_consistent(url: str, served: Iterable[str] = ()) -> None:
    """AssertionError naming the first invariant that does not hold in the warehouse at `url`."""
    with psycopg.connect(url, autocommit=True) as conn:
        total, distinct = conn.execute("select count(*), count(distinct uuid) from raw.users").fetchone()  # type: ignore[misc]
        assert total == distinct, f"raw.users holds {total - distinct} duplicate rows"
        incomplete = conn.execute("select count(*) from raw.users as u where not exists (select 1 from "
                                  "raw._dlt_loads as l where l.load_id = u._dlt_load_id)").fetchone()[0]  # type: ignore[index]
        assert incomplete == 0, f"raw.users holds {incomplete} rows of loads that never completed"
        raw = _column(conn, COMPLETED_RAW_UUIDS)
        missing = set(served) - raw
        assert not missing, f"{len(missing)} served users never landed, e.g. {sorted(missing)[:3]}"
        quarantined = (_column(conn, "select user_id from ops.quarantined_users")
                       if _exists(conn, "ops.quarantined_users") else set())
        held = _column(conn, "select user_id from public.incoming_users")
        assert held == raw - quarantined, (
            f"incoming_users differs from raw minus quarantine: {len((raw - quarantined) - held)} missing, "
            f"{len(held - (raw - quarantined))} extra, {len(held & quarantined)} quarantined users held")
        count = len(held)
        for mart in ("users_by_country", "users_by_gender", "users_by_age_band", "users_by_nationality"):
            summed = conn.execute(f"select coalesce(sum(user_count), 0) from marts.{mart}").fetchone()[0]  # type: ignore[index]
            assert summed == count, f"marts.{mart} counts {summed} users, incoming_users holds {count}"
        per_minute = conn.execute("select coalesce(sum(users_ingested), 0) from marts.ingestion_per_minute"
                                  ).fetchone()[0]  # type: ignore[index]
        assert per_minute == count, f"marts.ingestion_per_minute counts {per_minute}, incoming_users {count}"
        kpi = conn.execute("select total_users from marts.kpis").fetchone()[0]  # type: ignore[index]
        assert kpi == count, f"marts.kpis says {kpi} users, incoming_users holds {count}"


def assert_recorded_failed(url: str, run_id: str | None = None, error_contains: str = "") -> str:
    """The cycle `run_id` (default: the newest) is recorded in ops.pipeline_runs as failed (or interrupted),
    with an error holding `error_contains`; returns that error."""
    with psycopg.connect(url, autocommit=True) as conn:
        where, params = ("where run_id = %s", (run_id,)) if run_id else ("", ())
        row = conn.execute(f"select run_id, status, error from ops.pipeline_runs {where} "
                           "order by started_at desc limit 1", params or None).fetchone()
    assert row is not None, f"no cycle recorded{f' as {run_id}' if run_id else ''}"
    assert row[1] in ("failed", "interrupted"), f"cycle {row[0]} recorded as {row[1]}, not failed"
    assert error_contains in (row[2] or ""), f"cycle {row[0]} error {row[2]!r} lacks {error_contains!r}"
    return str(row[2])
