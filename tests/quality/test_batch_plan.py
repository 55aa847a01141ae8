"""The GX batch read looks the batch's incoming_users rows up by primary key, never scanning the table (the
planner's own choice would be a sequential scan up to a few million rows: on this small table too)."""

from __future__ import annotations

import psycopg

from quality import batch as batches
from randomuser_api import LocalApi
from tests.quality.conftest import Warehouse


def test_the_batch_read_probes_incoming_users_by_primary_key(module_warehouse: Warehouse,
                                                           local_api: LocalApi) -> None:
    for seed in ("plan-older", "plan-newer"):
        landed = module_warehouse.land(local_api.url, seed, size=30)
        module_warehouse.build()
    with psycopg.connect(module_warehouse.url, autocommit=True) as conn:
        conn.execute("analyze public.incoming_users")
        plan = batches.incoming_batch_plan(conn, landed.load_id, analyze=True)
        batch = batches.read_batch(conn, landed.load_id)
    assert "Index Scan using incoming_users_pkey on incoming_users" in plan, plan
    assert "Seq Scan on incoming_users" not in plan, plan
    assert "rows=30" in plan  # the probes found the batch's 30 users
    assert len(batch.incoming_users) == 30
