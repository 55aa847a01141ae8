"""Same seed + page + parameters -> byte-identical bodies; pages differ; seeds are echoed."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from randomuser_api import LocalApi, build_response

from .conftest import Client


def test_same_seed_and_page_give_identical_bytes(client: Client) -> None:
    first = client.get(results=200, seed="determinism", page=3).content
    second = client.get(results=200, seed="determinism", page=3).content
    assert first == second
    assert build_response({"results": "200", "seed": "determinism", "page": "3"}) == first


def test_every_format_is_deterministic(client: Client) -> None:
    for fmt in ("json", "pretty", "csv", "yaml", "xml"):
        assert client.get(results=20, seed="fmt", format=fmt).content == client.get(
            results=20, seed="fmt", format=fmt
        ).content


def test_other_seed_or_page_gives_other_users(client: Client) -> None:
    base = client.users(results=50, seed="alpha")
    assert client.users(results=50, seed="beta") != base
    assert client.users(results=50, seed="alpha", page=2) != base


def test_uuids_unique_across_pages_of_one_seed(client: Client) -> None:
    uuids: list[str] = []
    for page in range(1, 11):
        uuids += [u["login"]["uuid"] for u in client.users(results=500, seed="pages", page=page)]
    assert len(uuids) == len(set(uuids)) == 5000


def test_no_seed_gives_random_16_char_seed_echoed(client: Client) -> None:
    one = client.get(results=1).json()["info"]["seed"]
    two = client.get(results=1).json()["info"]["seed"]
    assert re.fullmatch(r"[0-9a-f]{16}", one) and re.fullmatch(r"[0-9a-f]{16}", two)
    assert one != two
    # replaying the echoed seed reproduces the users
    assert client.users(results=5, seed=one) == client.users(results=5, seed=one)


def test_dob_is_fixed_by_seed_and_age_follows_the_date(client: Client) -> None:
    today = datetime.now(UTC).date()
    for user in client.users(results=100, seed="ages"):
        year, month, day = (int(x) for x in user["dob"]["date"][:10].split("-"))
        assert 1944 <= year <= 2001
        assert user["dob"]["age"] == today.year - year - ((today.month, today.day) < (month, day))


def test_eighteen_char_seed_picks_nationality_from_last_two_hex(client: Client) -> None:
    # randomuser: seed of 18 chars = 16-char seed + nationality index in hex ("02" -> CA)
    users = client.users(results=20, seed="abcdef1234567890" + "02")
    assert {u["nat"] for u in users} == {"CA"}


def test_concurrent_requests_give_identical_bodies(local_api: LocalApi) -> None:
    def fetch(_: int) -> bytes:
        return requests.get(local_api.url, params={"results": 300, "seed": "threads"}, timeout=30).content

    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = set(pool.map(fetch, range(12)))
    assert len(bodies) == 1


def test_a_page_is_seeded_by_seed_plus_page_number_as_randomuser_does(client: Client) -> None:
    # md5("s11" + "2") = md5("s1" + "12") = md5("s112"): docs/API_REFERENCE.md warns about it
    users = client.users(results=5, seed="s11", page=2)
    assert client.users(results=5, seed="s1", page=12) == users
    assert client.users(results=5, seed="s112") == users
    assert client.users(results=5, seed="s11", page=3) != users


def test_any_seed_string_is_taken_as_sent(client: Client) -> None:
    # randomuser reads `req.query.seed` as it is: white space is part of the seed, only a missing one is random
    answer = client.get(results=3, seed="  a seed, with spaces/ü  ").json()
    assert answer["info"]["seed"] == "  a seed, with spaces/ü  "
    assert client.users(results=3, seed="  a seed, with spaces/ü  ") == answer["results"]
    assert client.users(results=3, seed="a seed, with spaces/ü") != answer["results"]
    assert len(client.get(results=1).json()["info"]["seed"]) == 16
