"""Schema drift from the API's `drift` switch: each drifted user lands in raw.users, is listed in
ops.quarantined_users under the rule it breaks, is in neither incoming_users, the marts nor the live views, and the
gate fails that rule's check by name with the count; a clean batch passes every rule's check."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from ingestion.pipeline import IngestResult
from quality.gate import run_checks
from quality.suite import QUARANTINE_RULES
from randomuser_api import Fault, LocalApi
from tests.quality.conftest import Warehouse
from userpipe import status

ROOT = Path(__file__).resolve().parents[2]
SIZE = 20
SHARE = 0.25
DRIFTED = math.ceil(SIZE * SHARE)  # the first 5 users of the page
# drift switch -> the rule that must catch it, and what its detail shows
DRIFT_RULES = {
    "no_location": ("location_missing", "location: absent"),
    "postcode_object": ("postcode_not_scalar", 'location.postcode: {"n": 5'),
    "age_text": ("age_not_integer", 'dob.age: "thirty"'),
    "email_renamed": ("email_missing", "email: absent"),
    "gender_unknown": ("gender_invalid", 'gender: "unknown"'),
    "nat_xx": ("nationality_invalid", 'nat: "XX"'),
}


@pytest.fixture(scope="module")
def batches(module_warehouse: Warehouse, local_api: LocalApi) -> dict[str, IngestResult]:
    """One batch per drift (a quarter of its users drifted) and one clean batch, modelled by one build."""
    landed = {}
    for drift in DRIFT_RULES:
        with LocalApi([Fault("drift", times=-1, drift=(drift,), drift_share=SHARE)]) as drifting:
            landed[drift] = module_warehouse.land(drifting.url, seed=f"drift-{drift}", size=SIZE)
    landed["clean"] = module_warehouse.land(local_api.url, seed="drift-clean", size=SIZE)
    module_warehouse.build()
    return landed


def quarantined(warehouse: Warehouse, load_id: str) -> list[tuple[str, str, str]]:
    return [(str(u), str(r), str(d)) for u, r, d in warehouse.rows(
        "select user_id, rule, detail from ops.quarantined_users where _dlt_load_id = %s order by user_id",
        (load_id,))]


def in_relation(warehouse: Warehouse, relation: str, user_ids: list[str]) -> int:
    [(count,)] = warehouse.rows(f"select count(*) from {relation} where user_id = any(%s)", (user_ids,))
    return int(count)


@pytest.mark.parametrize("drift", DRIFT_RULES)
def test_a_drifted_user_stays_in_raw_is_quarantined_under_its_rule_and_is_nowhere_downstream(
    module_warehouse: Warehouse, batches: dict[str, IngestResult], drift: str
) -> None:
    batch = batches[drift]
    rule, detail = DRIFT_RULES[drift]

    found = quarantined(module_warehouse, batch.load_id)

    assert {r for _, r, _ in found} == {rule}
    assert len(found) == DRIFTED
    assert all(d.startswith(detail) for _, _, d in found), found
    users = [u for u, _, _ in found]
    assert module_warehouse.batch_counts(batch.load_id) == (SIZE, SIZE - DRIFTED)  # raw keeps them all
    for relation in ("public.incoming_users", "marts.incoming_users_live", "marts.latest_users_live",
                     "marts.int_incoming_users_pending"):
        assert in_relation(module_warehouse, relation, users) == 0, relation


@pytest.mark.parametrize("drift", DRIFT_RULES)
def test_the_gate_fails_the_rules_check_by_name_with_the_count(
    module_warehouse: Warehouse, batches: dict[str, IngestResult], drift: str
) -> None:
    batch = batches[drift]
    rule, _ = DRIFT_RULES[drift]

    report = run_checks(f"run-drift-{drift}", expected_rows=batch.users_new, load_id=batch.load_id,
                        run_dbt_tests=False)

    assert {r.check_name for r in report.failures} == {f"quarantine.{rule}"}
    assert module_warehouse.stored(f"run-drift-{drift}")[f"quarantine.{rule}"] == ("quarantine", "fail", DRIFTED)
    [failure] = report.failures
    assert f"{DRIFTED} of the batch's users quarantined" in (failure.observed_value or "")


def test_a_clean_batch_passes_every_rules_check(module_warehouse: Warehouse, batches: dict[str, IngestResult]) -> None:
    batch = batches["clean"]

    report = run_checks("run-drift-clean", expected_rows=batch.users_new, load_id=batch.load_id, run_dbt_tests=False)

    assert report.passed, [r.check_name for r in report.failures]
    rules = {r.check_name: r for r in report.results if r.check_name.startswith("quarantine.")}
    assert set(rules) == {f"quarantine.{rule}" for rule in QUARANTINE_RULES}
    assert all(r.status == "pass" and r.failing_rows == 0 for r in rules.values())
    assert quarantined(module_warehouse, batch.load_id) == []


def test_the_marts_count_only_the_users_incoming_users_holds(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    [(held,)] = module_warehouse.rows("select count(*) from public.incoming_users")
    for mart in ("users_by_country", "users_by_gender", "users_by_nationality", "users_by_age_band"):
        [(counted,)] = module_warehouse.rows(f"select sum(user_count) from marts.{mart}")
        assert counted == held, mart
    assert module_warehouse.rows("select gender from marts.users_by_gender where gender not in ('male', 'female')"
                                 " and user_count > 0") == []
    assert module_warehouse.rows("select 1 from marts.users_by_nationality where nationality = 'XX'") == []
    assert module_warehouse.rows("select 1 from marts.users_by_country where country = 'unknown'"
                                 " and user_count > 0") == []


def test_users_landed_after_the_build_are_quarantined_from_the_live_views_too(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    with LocalApi([Fault("drift", times=-1, drift=("no_location",), drift_share=SHARE)]) as drifting:
        pending = module_warehouse.land(drifting.url, seed="drift-pending", size=SIZE)
    users = [str(u) for (u,) in module_warehouse.rows(
        "select uuid from raw.users where _dlt_load_id = %s and payload -> 'location' is null", (pending.load_id,))]
    clean = [str(u) for (u,) in module_warehouse.rows(
        "select uuid from raw.users where _dlt_load_id = %s and payload -> 'location' is not null",
        (pending.load_id,))]
    assert (len(users), len(clean)) == (DRIFTED, SIZE - DRIFTED)

    assert in_relation(module_warehouse, "marts.incoming_users_live", users) == 0
    assert in_relation(module_warehouse, "marts.incoming_users_live", clean) == len(clean)
    [(live_total,)] = module_warehouse.rows("select total_users from marts.kpis_live")
    [(held,)] = module_warehouse.rows("select count(*) from public.incoming_users")
    assert live_total == held + len(clean)


def test_the_gates_rule_list_is_the_dbt_projects() -> None:
    macro = (ROOT / "dbt_project" / "macros" / "quarantine_rules.sql").read_text()
    assert re.findall(r"\{'name': '(\w+)'", macro) == list(QUARANTINE_RULES)


def test_status_shows_the_quarantine_in_all_and_of_the_last_batch(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    module_warehouse.build()  # the batch landed by the test above (5 users without location) is the last one
    out = io.StringIO()
    with psycopg.connect(module_warehouse.url) as conn:
        status.print_report(status.collect(conn), Console(file=out, width=300, color_system=None))
    text = " ".join(out.getvalue().split())

    total = DRIFTED * (len(DRIFT_RULES) + 1)
    assert f"{total} in all, {DRIFTED} of the last batch" in text
    assert f"location_missing {DRIFTED}" in text


def test_a_check_results_table_of_an_older_userpipe_takes_quarantine_results(database_url: str) -> None:
    from datetime import UTC, datetime

    from quality import results

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema ops; create table ops.check_results (run_id text not null, check_name text not"
                     " null, source text not null check (source in ('dbt', 'gx')), status text not null,"
                     " failing_rows bigint, observed_value text, checked_at timestamptz not null default now(),"
                     " primary key (run_id, source, check_name))")
        results.store(conn, "old", [results.CheckResult("quarantine.location_missing", "quarantine", "fail", 3)],
                      datetime.now(UTC))
        assert conn.execute("select source, failing_rows from ops.check_results").fetchall() == [("quarantine", 3)]
