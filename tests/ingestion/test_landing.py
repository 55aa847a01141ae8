"""Users land in raw.users with the contract's columns, without credentials, once per uuid."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import orjson

from ingestion.pipeline import ingest
from randomuser_api import LocalApi, build_response
from tests.ingestion.conftest import Answer, FakeApi, good_page, query, scalar
from userpipe import warehouse

CONTRACT_COLUMNS = [
    ("uuid", "character varying"),
    ("payload", "jsonb"),
    ("fetched_at", "timestamp with time zone"),
    ("request_seed", "character varying"),
    ("request_page", "bigint"),
    ("api_version", "character varying"),
    ("_dlt_load_id", "character varying"),
    ("_dlt_id", "character varying"),
]
CREDENTIALS = ("password", "salt", "md5", "sha1", "sha256")


def api_users(seed: str, page: int, results: int) -> list[dict[str, object]]:
    body = build_response({"results": str(results), "seed": seed, "page": str(page)})
    users: list[dict[str, object]] = orjson.loads(body)["results"]
    return users


def test_rows_land_with_the_contract_columns(database_url: str, local_api: LocalApi) -> None:
    result = ingest(120, seed="contract", api_url=local_api.url)

    assert (result.users_fetched, result.users_landed, result.users_new) == (120, 120, 120)
    assert (result.seed, result.first_page, result.last_page) == ("contract", 1, 1)
    columns = query(database_url, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'raw' and table_name = 'users' order by ordinal_position")
    assert columns == CONTRACT_COLUMNS
    unique_on_uuid = scalar(database_url, """
        select count(*) from pg_index i join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
        where n.nspname = 'raw' and c.relname = 'users' and i.indisunique and i.indnatts = 1
          and a.attnum = i.indkey[0] and a.attname = 'uuid'""")
    assert unique_on_uuid == 1
    rows = query(database_url, "select uuid, payload, request_seed, request_page, api_version, _dlt_load_id "
                               "from raw.users order by payload->>'email'")
    assert len(rows) == 120
    assert {(r[2], r[3], r[4], r[5]) for r in rows} == {("contract", 1, "1.4", result.load_id)}
    expected = {u["login"]["uuid"]: u for u in api_users("contract", 1, 120)}  # type: ignore[index]
    for uuid, payload, *_ in rows:
        sent = expected[uuid]
        login = {k: v for k, v in sent["login"].items() if k not in CREDENTIALS}  # type: ignore[attr-defined]
        assert payload == {**sent, "login": login}
    assert scalar(database_url, "select status from raw._dlt_loads where load_id = %s", (result.load_id,)) == 0
    assert (Path(warehouse.home()) / "dlt").is_dir()  # dlt's working dir lives under USERPIPE_HOME


def test_credentials_land_nowhere(database_url: str, local_api: LocalApi) -> None:
    result = ingest(300, seed="secrets", api_url=local_api.url)

    keys = query(database_url, "select distinct jsonb_object_keys(payload->'login') from raw.users")
    assert sorted(k for (k,) in keys) == ["username", "uuid"]
    secrets = {u["login"][name] for u in api_users("secrets", 1, 300)  # type: ignore[index]
               for name in ("salt", "md5", "sha1", "sha256")}
    tables = query(database_url, "select table_schema, table_name from information_schema.tables "
                                 "where table_schema like 'raw%'")
    assert ("raw", "users") in tables
    for schema, table in tables:
        texts = query(database_url, f'select t::text from "{schema}"."{table}" t')
        leaked = [s for (text,) in texts for s in secrets if s in text]
        assert leaked == [], f"{schema}.{table} holds credential values"
    files = [p for p in (Path(warehouse.home()) / "dlt").rglob("*") if p.is_file()]
    assert files, "dlt wrote no working files?"
    for path in files:
        content = path.read_bytes()
        assert not [s for s in secrets if s.encode() in content], f"{path} holds credential values"
    assert result.users_new == 300


def test_landing_the_same_users_again_adds_nothing_and_keeps_the_first_row(
        database_url: str, local_api: LocalApi) -> None:
    first = ingest(50, seed="again", api_url=local_api.url)
    before = query(database_url, "select uuid, fetched_at, _dlt_load_id, _dlt_id from raw.users order by uuid")

    second = ingest(50, seed="again", api_url=local_api.url)

    assert (second.users_fetched, second.users_landed, second.users_new, second.load_id) == (50, 0, 0, None)
    assert query(database_url, "select uuid, fetched_at, _dlt_load_id, _dlt_id from raw.users order by uuid") == before

    # page 1 with 80 results: the 50 users above, then 30 more
    wider = ingest(80, seed="again", api_url=local_api.url)

    assert (wider.users_landed, wider.users_new) == (30, 30)
    assert scalar(database_url, "select count(*) from raw.users") == 80
    assert scalar(database_url, "select count(distinct uuid) from raw.users") == 80
    assert query(database_url, "select _dlt_load_id, count(*) from raw.users group by 1 order by 2") == [
        (wider.load_id, 30), (first.load_id, 50)]


def test_a_batch_without_seed_continues_the_stream_and_a_seeded_one_does_not_move_it(
        database_url: str, local_api: LocalApi) -> None:
    first = ingest(7, api_url=local_api.url)
    second = ingest(7, api_url=local_api.url)
    chosen = ingest(7, seed="other", api_url=local_api.url)
    again = ingest(7, seed="other", api_url=local_api.url)
    after_chosen = ingest(7, api_url=local_api.url)

    assert len(first.seed) == 16
    assert (second.seed, second.first_page) == (first.seed, 2)
    assert (chosen.seed, chosen.first_page) == ("other", 1)
    assert (again.seed, again.first_page, again.users_new) == ("other", 1, 0)  # the same one-off batch again
    assert (after_chosen.seed, after_chosen.first_page) == (first.seed, 3)
    assert scalar(database_url, "select count(*) from raw.users") == 28
    assert query(database_url, "select request_seed, request_page, count(*) from raw.users group by 1, 2 "
                               "order by 1, 2") == sorted([
        (first.seed, 1, 7), (first.seed, 2, 7), (first.seed, 3, 7), ("other", 1, 7)])


def test_batches_span_pages_of_at_most_5000(database_url: str, local_api: LocalApi) -> None:
    result = ingest(5003, seed="pages", nat="us, GB", api_url=local_api.url)

    assert (result.first_page, result.last_page, result.users_new) == (1, 2, 5003)
    assert query(database_url, "select request_page, count(*) from raw.users group by 1 order by 1") == [
        (1, 5000), (2, 3)]
    assert query(database_url, "select distinct payload->>'nat' from raw.users order by 1") == [("GB",), ("US",)]


def test_a_user_repeated_within_a_batch_lands_once(
        database_url: str, fake_api: Callable[[Answer], FakeApi]) -> None:
    def every_user_twice(params: dict[str, str]) -> tuple[int, str, bytes]:
        half = {**params, "results": str(int(params["results"]) // 2)}
        document = orjson.loads(build_response(half))
        document["results"] = [user for user in document["results"] for _ in range(2)]
        return 200, "application/json", orjson.dumps(document)

    result = ingest(6, seed="twice", api_url=fake_api(every_user_twice).url)

    assert (result.users_fetched, result.users_landed, result.users_new) == (6, 3, 3)
    assert scalar(database_url, "select count(distinct uuid) from raw.users") == 3


def test_an_answer_without_info_lands_with_the_request_values(
        database_url: str, fake_api: Callable[[Answer], FakeApi]) -> None:
    api = fake_api(lambda params: (200, "application/json", build_response({**params, "noinfo": ""})))

    result = ingest(4, seed="bare", page=3, api_url=api.url)

    assert result.users_new == 4
    assert query(database_url, "select distinct request_seed, request_page, api_version from raw.users") == [
        ("bare", 3, None)]


def test_only_the_newest_loaded_packages_stay_in_dlts_working_dir(
        database_url: str, local_api: LocalApi, monkeypatch) -> None:
    from ingestion.randomuser import settings

    monkeypatch.setattr(settings, "LOADED_PACKAGES_KEPT", 2)
    load_ids = [ingest(3, api_url=local_api.url).load_id for _ in range(4)]
    loaded = Path(warehouse.home()) / "dlt" / settings.PIPELINE_NAME / "load" / "loaded"
    assert sorted(p.name for p in loaded.iterdir()) == sorted(str(i) for i in load_ids[-2:])
    assert scalar(database_url, "select count(*) from raw._dlt_loads") == 4  # the record of every load stays
    assert scalar(database_url, "select count(*) from raw.users") == 12


def test_a_gzip_encoded_answer_lands_the_same_users(
        database_url: str, fake_api: Callable[[Answer], FakeApi]) -> None:
    def gzipped(params: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        status, content_type, body = good_page(params)
        return status, content_type, gzip.compress(body), {"Content-Encoding": "gzip"}

    result = ingest(25, seed="zipped", api_url=fake_api(gzipped).url)

    assert result.users_new == 25
    landed = {uuid: payload for uuid, payload in query(database_url, "select uuid, payload from raw.users")}
    sent = api_users("zipped", 1, 25)
    assert set(landed) == {u["login"]["uuid"] for u in sent}  # type: ignore[index]
