"""dbt models on users landed through the real API and ingestion, plus hand-made edge cases, over 3 cycles.

The module runs the cycles once (fixture `cycles`): land + build, land the same users again + build,
land new users (one of them late) + build; the tests then read what each step left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from ingestion.pipeline import ingest
from randomuser_api import LocalApi
from tests.dbt import raw_rows
from tests.dbt.conftest import query, scalar
from userpipe.transform import Transformer, TransformResult

NATIONALITIES = {"AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE",
                 "IN", "IR", "MX", "NL", "NO", "NZ", "RS", "TR", "UA", "US"}

ORIGINAL_COLUMNS = [  # public.incoming_users of the original system: name, type, varchar length
    ("user_id", "character varying", 100), ("gender", "character varying", 20),
    ("title", "character varying", 20), ("first_name", "character varying", 100),
    ("last_name", "character varying", 100), ("email", "character varying", 255),
    ("username", "character varying", 100), ("date_of_birth", "timestamp without time zone", None),
    ("age", "integer", None), ("phone", "character varying", 50), ("cell", "character varying", 50),
    ("street_number", "character varying", 20), ("street_name", "character varying", 255),
    ("city", "character varying", 100), ("state", "character varying", 100),
    ("country", "character varying", 100), ("postcode", "character varying", 20),
    ("latitude", "character varying", 50), ("longitude", "character varying", 50),
    ("timezone_offset", "character varying", 20), ("timezone_description", "character varying", 255),
    ("nationality", "character varying", 10), ("picture_large", "text", None),
    ("picture_medium", "text", None), ("picture_thumbnail", "text", None),
    ("registered_date", "timestamp without time zone", None), ("registered_age", "integer", None),
    ("created_at", "timestamp without time zone", None), ("synced_at", "timestamp without time zone", None),
]

MART_TOTAL_QUERIES = {
    "users_by_country": "select coalesce(country, 'unknown'), count(*) from public.incoming_users group by 1",
    "users_by_gender": "select coalesce(gender, 'unknown'), count(*) from public.incoming_users group by 1",
    "users_by_nationality": "select coalesce(nationality, 'unknown'), count(*), avg(age)"
                            " from public.incoming_users group by 1",
    "ingestion_per_minute": "select date_trunc('minute', created_at), count(*) from public.incoming_users group by 1",
    "ingestion_per_second": "select date_trunc('second', created_at), count(*) from public.incoming_users group by 1",
}
MART_QUERIES = {
    "users_by_country": "select country, user_count from marts.users_by_country",
    "users_by_gender": "select gender, user_count from marts.users_by_gender",
    "users_by_nationality": "select nationality, user_count, average_age from marts.users_by_nationality",
    "ingestion_per_minute": "select minute, users_ingested from marts.ingestion_per_minute",
    "ingestion_per_second": "select second, users_ingested from marts.ingestion_per_second",
}


@dataclass
class Cycles:
    url: str
    first: TransformResult
    relanded: TransformResult
    third: TransformResult
    edge_ids: dict[str, str]
    late_id: str
    too_late_id: str
    counts_after_first: dict[str, object]
    counts_after_relanding: dict[str, object]
    synced_after_first: dict[str, object]
    synced_after_relanding: dict[str, object]
    users_before_third: int


def edge_cases() -> dict[str, dict[str, object]]:
    """What the real API does (and worse): the payload of each hand-made user."""
    return {
        "norwegian": raw_rows.user(),
        "canadian": raw_rows.user({"nat": "CA", "location.country": "Canada", "location.postcode": "K1A 0B1",
                                   "location.timezone.offset": "-5:00"}),
        "numeric_postcode": raw_rows.user({"nat": "DK", "location.postcode": 5020}),
        "nepal_offset": raw_rows.user({"nat": "IN", "location.timezone.offset": "+5:45"}),
        "zero_offset": raw_rows.user({"nat": "GB", "location.timezone.offset": "0:00"}),
        "non_latin": raw_rows.user({"nat": "UA", "name.first": "Олена", "name.last": "Шевченко",
                                    "location.city": "Київ"}),
        "padded": raw_rows.user({"name.first": "  Anna  ", "name.title": "", "email": " Anna@Example.COM "}),
        "garbage_dob": raw_rows.user({"dob.date": "garbage", "dob.age": "forty",
                                      "registered.date": "2023-02-30T00:00:00Z"}),
        "missing_fields": raw_rows.user({"location": "nowhere", "hobby": {"new": "field"}},
                                        drop=("gender", "nat", "dob")),
        "overlong": raw_rows.user({"location.street.name": "x" * 300, "name.title": "Professor Doctor Emeritus",
                                   "location.postcode": "1" * 30}),
    }


def mart_counts(url: str) -> dict[str, object]:
    return {name: sorted(query(url, sql), key=str) for name, sql in MART_QUERIES.items()} | {
        "incoming_users": scalar(url, "select count(*) from public.incoming_users"),
    }


def synced_at(url: str) -> dict[str, object]:
    return dict(query(url, "select user_id, synced_at from public.incoming_users"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cycles(dbt_database: str, transformer: Transformer, local_api: LocalApi) -> Cycles:
    url = dbt_database
    ingest(630, seed="dbt-tests-a", api_url=local_api.url, database_url=url)
    cases = edge_cases()
    edge_ids = dict(zip(cases, raw_rows.land(url, list(cases.values())), strict=True))
    first = transformer.build()
    counts_after_first, synced_after_first = mart_counts(url), synced_at(url)

    ingest(630, seed="dbt-tests-a", page=1, api_url=local_api.url, database_url=url)  # the same users again
    relanded = transformer.build()
    counts_after_relanding, synced_after_relanding = mart_counts(url), synced_at(url)

    users_before_third = int(scalar(url, "select count(*) from public.incoming_users"))  # type: ignore[call-overload]
    ingest(400, seed="dbt-tests-b", api_url=local_api.url, database_url=url)
    late = datetime.now(UTC) - timedelta(minutes=5)  # fetched before the newest user, committed after it
    [late_id] = raw_rows.land(url, [raw_rows.user({"nat": "FI"})], fetched_at=late)
    long_ago = datetime.now(UTC) - timedelta(hours=1)  # landed now, fetched an hour before: still read
    [too_late_id] = raw_rows.land(url, [raw_rows.user({"nat": "NO"})], fetched_at=long_ago)
    third = transformer.build()
    return Cycles(url, first, relanded, third, edge_ids, late_id, too_late_id, counts_after_first,
                  counts_after_relanding, synced_after_first, synced_after_relanding, users_before_third)


QUARANTINED_CASES = {  # edge case -> the quarantine rules its JSON breaks
    "garbage_dob": {"date_of_birth_not_date", "age_not_integer", "registered_date_not_date"},
    "missing_fields": {"location_missing", "gender_invalid", "nationality_invalid", "date_of_birth_not_date",
                       "age_not_integer"},
}


def test_every_build_succeeds_and_the_malformed_rows_are_quarantined(cycles: Cycles) -> None:
    for result in (cycles.first, cycles.relanded, cycles.third):
        assert result.success, result.failures
        assert not result.failures
    warned = {node.name for node in cycles.first.warnings}
    assert not warned & {"not_null_incoming_users_date_of_birth", "not_null_incoming_users_gender",
                         "not_null_incoming_users_nationality"}, "a malformed user reached incoming_users"
    quarantined = query(cycles.url, "select user_id, rule from ops.quarantined_users")
    by_user: dict[object, set[object]] = {}
    for user_id, rule in quarantined:
        by_user.setdefault(user_id, set()).add(rule)
    assert by_user == {cycles.edge_ids[case]: rules for case, rules in QUARANTINED_CASES.items()}
    passed = {node.name for node in cycles.first.nodes if node.status == "pass"}
    assert {"assert_mart_totals_match_incoming_users", "unique_incoming_users_user_id"} <= passed


def test_incoming_users_has_the_original_columns_types_and_indexes(cycles: Cycles) -> None:
    columns = query(cycles.url, "select column_name, data_type, character_maximum_length"
                                " from information_schema.columns"
                                " where table_schema = 'public' and table_name = 'incoming_users'"
                                " order by ordinal_position")
    assert columns == ORIGINAL_COLUMNS
    primary_key = query(cycles.url, "select a.attname from pg_index i join pg_attribute a"
                                    " on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
                                    " where i.indrelid = 'public.incoming_users'::regclass and i.indisprimary")
    assert primary_key == [("user_id",)]
    indexes = dict(query(cycles.url, "select indexname, indexdef from pg_indexes"
                                     " where schemaname = 'public' and tablename = 'incoming_users'"))
    assert indexes["idx_incoming_users_created_at"].endswith("USING btree (created_at DESC)")
    assert indexes["idx_incoming_users_country"].endswith("USING btree (country)")
    assert indexes["idx_incoming_users_gender"].endswith("USING btree (gender)")


def test_values_survive_exactly(cycles: Cycles) -> None:
    def row(case: str) -> dict[str, object]:
        [found] = query(cycles.url, "select postcode, timezone_offset, first_name, last_name, city, title, email,"
                                    " nationality, country, street_name, date_of_birth, age"
                                    " from public.incoming_users where user_id = %s", (cycles.edge_ids[case],))
        keys = ("postcode", "offset", "first", "last", "city", "title", "email", "nat", "country", "street",
                "dob", "age")
        return dict(zip(keys, found, strict=True))

    assert row("norwegian")["postcode"] == "0150"
    assert row("canadian")["postcode"] == "K1A 0B1"
    assert row("numeric_postcode")["postcode"] == "5020"
    assert row("nepal_offset")["offset"] == "+5:45"
    assert row("zero_offset")["offset"] == "0:00"
    assert (row("non_latin")["first"], row("non_latin")["last"], row("non_latin")["city"]) == (
        "Олена", "Шевченко", "Київ")
    padded = row("padded")
    assert (padded["first"], padded["title"], padded["email"]) == ("Anna", None, "anna@example.com")
    assert row("norwegian")["dob"] == datetime(1990, 4, 1, 10, 0)
    # every landed user: postcode and offset as the API sent them (text, trimmed)
    differing = scalar(cycles.url, "select count(*) from public.incoming_users i join raw.users r on r.uuid = i.user_id"
                                   " where length(r.payload #>> '{location,postcode}') <= 20 and ("
                                   " i.postcode is distinct from btrim(r.payload #>> '{location,postcode}')"
                                   " or i.timezone_offset is distinct from r.payload #>> '{location,timezone,offset}'"
                                   " or i.created_at <> r.fetched_at at time zone 'UTC')")
    assert differing == 0


def test_malformed_users_are_kept_out_and_overlong_values_truncated(cycles: Cycles) -> None:
    for case in QUARANTINED_CASES:  # not landed as nulls: kept out, still in raw
        user_id = cycles.edge_ids[case]
        assert scalar(cycles.url, "select count(*) from public.incoming_users where user_id = %s", (user_id,)) == 0
        assert scalar(cycles.url, "select count(*) from raw.users where uuid = %s", (user_id,)) == 1
    [overlong] = query(cycles.url, "select street_name, title, postcode from public.incoming_users"
                                   " where user_id = %s", (cycles.edge_ids["overlong"],))
    assert overlong == ("x" * 255, "Professor Doctor Eme", "1" * 20)


def test_every_nationality_lands(cycles: Cycles) -> None:
    landed = {row[0] for row in query(cycles.url, "select distinct nationality from public.incoming_users")}
    assert landed - {None} == NATIONALITIES
    in_mart = {row[0] for row in query(cycles.url, "select nationality from marts.users_by_nationality")}
    assert in_mart == NATIONALITIES  # a user without a known nat is quarantined, not counted as "unknown"


def test_landing_the_same_users_again_changes_nothing(cycles: Cycles) -> None:
    assert cycles.counts_after_relanding == cycles.counts_after_first
    assert cycles.synced_after_relanding == cycles.synced_after_first


def test_new_and_late_users_are_added_once_whatever_their_fetched_at(cycles: Cycles) -> None:
    """New rows are found by when they landed (raw.users.landing_seq), not by fetched_at: a user fetched an hour
    before the newest one held (beyond any time window) is built too."""
    users = scalar(cycles.url, "select count(*) from public.incoming_users")
    assert users == cycles.users_before_third + 402
    held = "select count(*) from public.incoming_users where user_id = %s"
    assert scalar(cycles.url, held, (cycles.late_id,)) == 1
    assert scalar(cycles.url, held, (cycles.too_late_id,)) == 1
    assert users == scalar(cycles.url, "select count(*) from raw.users") - len(QUARANTINED_CASES)
    warned = {node.name for result in (cycles.relanded, cycles.third) for node in result.warnings}
    assert "assert_every_raw_user_is_held" not in warned


def test_marts_agree_with_incoming_users_after_incremental_cycles(cycles: Cycles) -> None:
    for name, sql in MART_TOTAL_QUERIES.items():
        expected = sorted(query(cycles.url, sql), key=str)
        actual = sorted(query(cycles.url, MART_QUERIES[name]), key=str)
        if name == "users_by_nationality":  # averages: equal to 10 decimals (one is a sum / count)
            expected = [(n, c, None if a is None else round(a, 10)) for n, c, a in expected]  # type: ignore[misc]
            actual = [(n, c, None if a is None else round(a, 10)) for n, c, a in actual]  # type: ignore[misc]
        assert actual == expected, name
    bands = dict(query(cycles.url, "select age_band, user_count from marts.users_by_age_band"))
    expected_bands = dict(query(cycles.url, """
        select case when age is null then 'unknown' when age < 18 then 'under 18' when age < 25 then '18-24'
                    when age < 35 then '25-34' when age < 45 then '35-44' when age < 55 then '45-54'
                    when age < 65 then '55-64' else '65+' end, count(*)
        from public.incoming_users group by 1"""))
    assert bands == expected_bands
    [kpis] = query(cycles.url, "select total_users, unique_countries, average_age, last_landed_at,"
                               " freshness_lag_seconds from marts.kpis")
    [expected_kpis] = query(cycles.url, "select count(*), count(distinct country), round(avg(age), 2),"
                                        " max(created_at) from public.incoming_users")
    assert kpis[:4] == expected_kpis
    assert kpis[4] >= 0  # type: ignore[operator]


def test_incremental_queries_use_indexes(cycles: Cycles, transformer: Transformer) -> None:
    compiled = transformer.target_dir / "compiled" / "userpipe" / "models"
    plans = {}
    for name, path in {"incoming_users": "core/incoming_users.sql", "users_by_country": "marts/users_by_country.sql",
                       "ingestion_per_minute": "marts/ingestion_per_minute.sql"}.items():
        sql = (compiled / path).read_text()
        assert "is_incremental" not in sql
        with psycopg.connect(cycles.url) as conn:
            conn.execute("set enable_seqscan = off")  # tiny tables: show that the index can serve the filter
            plans[name] = "\n".join(str(r[0]) for r in conn.execute(f"explain {sql}"))
    assert "users_landing_seq_idx" in plans["incoming_users"]
    # the held-id probe (only ids cut to 100 characters reach it) reads an index of incoming_users, never the
    # table: on these tiny tables the planner may take the (created_at, user_id) index instead of the primary key
    assert "Seq Scan on incoming_users" not in plans["incoming_users"]
    assert re.search(r"Index.* on (incoming_users_pkey|idx_incoming_users_created_at_user_id)", plans["incoming_users"])
    assert "idx_incoming_users_synced_at" in plans["users_by_country"]
    assert "idx_incoming_users_synced_at" in plans["ingestion_per_minute"]


def test_source_freshness_passes_after_landing(cycles: Cycles, transformer: Transformer) -> None:
    result = transformer.source_freshness()
    [source] = [node for node in result.nodes if node.resource_type == "source"]
    assert (source.name, source.status) == ("users", "pass")
    assert source.message and source.message.startswith("newest row is")


AGE_CASES = [  # dob.age as landed -> the age rules it breaks (registered.age gets the same value)
    (36, set()), (0, set()), (120, set()), (36.0, set()), (1e2, set()),
    (-1, {"age_out_of_range"}), (121, {"age_out_of_range"}), (999999999, {"age_out_of_range"}),
    (-999999999, {"age_out_of_range"}), (1000000000, {"age_not_integer"}), (-1000000000, {"age_not_integer"}),
    (12345678901234567890, {"age_not_integer"}), (36.5, {"age_not_integer"}), (1e-30, {"age_not_integer"}),
    ("36", {"age_not_integer"}), (" 36 ", {"age_not_integer"}), (None, {"age_not_integer"}),
    (True, {"age_not_integer"}), ([36], {"age_not_integer"}),
]


def failed_rules_of(url: str, payloads: list[dict[str, Any]]) -> list[list[str]]:
    """The failed_rules staging gives each payload (in order): landed as a load of their own, read through the
    staging view (no build), then removed again; the tests using it stay last in the module."""
    ids = raw_rows.land(url, payloads)
    try:
        rules = dict(query(url, "select user_id, failed_rules from staging.stg_randomuser__users"
                                " where user_id = any(%s)", (ids,)))
    finally:
        with psycopg.connect(url) as conn:
            load_ids = [r[0] for r in conn.execute(
                "delete from raw.users where uuid = any(%s) returning _dlt_load_id", (ids,)).fetchall()]
            conn.execute("delete from raw._dlt_loads where load_id = any(%s)", (list(set(load_ids)),))
    return [list(rules[user_id]) for user_id in ids]  # type: ignore[call-overload]


def test_the_integer_rules_on_edge_values(cycles: Cycles) -> None:
    payloads = [raw_rows.user({"dob.age": age, "registered.age": age}) for age, _ in AGE_CASES]
    for (age, expected), rules in zip(AGE_CASES, failed_rules_of(cycles.url, payloads), strict=True):
        registered = {"registered_age_not_integer"} if "age_not_integer" in expected else set()
        assert set(rules) == expected | registered, age


URL_CASES = [  # picture.large as landed -> whether picture_not_url fires
    ("https://randomuser.me/api/portraits/women/1.jpg", False), ("http://a", False), ("https://a/b c", True),
    ("https://a//b", False), ("https:///a", True), ("https://", True), ("ftp://a/b", True), (" https://a", True),
    ("https://a ", True), ("https://a\tb", True), ("https://a\u00a0b", True), ("HTTPS://a", True),
    ("https://ä/ö", False), ("", True), (42, False), (None, False),
]


def test_the_url_rule_on_edge_values(cycles: Cycles) -> None:
    payloads = [raw_rows.user({"picture.large": value}) for value, _ in URL_CASES]
    for (value, fires), rules in zip(URL_CASES, failed_rules_of(cycles.url, payloads), strict=True):
        assert ("picture_not_url" in rules) == fires, value
