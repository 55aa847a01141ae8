"""Every query parameter, sanitised as randomuser 1.4 does (fall back rather than error)."""

from __future__ import annotations

import csv
import io
import string

import orjson
import pytest
import yaml

from randomuser_api import MAX_RESULTS, NATIONALITIES

from .conftest import Client

ALL_FIELDS = ["gender", "name", "location", "email", "login", "dob", "registered", "phone", "cell", "id",
              "picture", "nat"]


@pytest.mark.parametrize(("asked", "expected"), [
    ("1", 1), ("10", 10), (str(MAX_RESULTS), MAX_RESULTS), ("0", 1), ("-3", 1), ("5001", 1), ("abc", 1), ("", 1),
])
def test_results_bounds(client: Client, asked: str, expected: int) -> None:
    body = client.get(results=asked, seed="r").json()
    assert len(body["results"]) == expected
    assert body["info"]["results"] == expected


def test_results_missing_is_one(client: Client) -> None:
    assert len(client.users(seed="r")) == 1


@pytest.mark.parametrize(("asked", "expected"), [("1", 1), ("7", 7), ("10000", 10000), ("0", 1),
                                                 ("10001", 1), ("x", 1)])
def test_page_bounds(client: Client, asked: str, expected: int) -> None:
    assert client.get(page=asked, seed="p").json()["info"]["page"] == expected


def test_api_version_path(client: Client) -> None:
    base = client.api.url
    a = client.session.get(base, params={"seed": "v", "results": 3}, timeout=10)
    b = client.session.get(base + "1.4/", params={"seed": "v", "results": 3}, timeout=10)
    assert a.content == b.content
    assert client.session.get(base.replace("/api/", "/nope"), timeout=10).status_code == 404


@pytest.mark.parametrize("nat", ["us", "Fr", "GB,de", "au,BR,ca", "rs,tr,ua"])
def test_nat_lists_any_case(client: Client, nat: str) -> None:
    wanted = {n.upper() for n in nat.split(",")}
    users = client.users(results=300, nat=nat)
    assert {u["nat"] for u in users} == wanted


def test_unknown_nat_falls_back_to_all_nationalities(client: Client) -> None:
    users = client.users(results=2000, nat="us,XX")
    assert {u["nat"] for u in users} == set(NATIONALITIES)


@pytest.mark.parametrize("gender", ["male", "female"])
def test_gender_filter(client: Client, gender: str) -> None:
    users = client.users(results=100, gender=gender, nat="us,gb,ch")
    assert {u["gender"] for u in users} == {gender}
    titles = {u["name"]["title"] for u in users}
    assert titles == {"Mr", "Monsieur"} if gender == "male" else titles == {"Miss", "Mrs", "Ms", "Mademoiselle",
                                                                               "Madame"}


@pytest.mark.parametrize("gender", ["FEMALE", "Male", " male"])
def test_gender_is_case_sensitive_like_randomuser(client: Client, gender: str) -> None:
    """randomuser compares `gender` with `'male'` / `'female'` as sent: any other spelling is ignored."""
    assert {u["gender"] for u in client.users(results=100, gender=gender)} == {"male", "female"}


def test_gender_ignored_with_seed_like_randomuser(client: Client) -> None:
    users = client.users(results=100, gender="female", seed="with-seed")
    assert {u["gender"] for u in users} == {"male", "female"}


def test_bad_gender_is_ignored(client: Client) -> None:
    assert {u["gender"] for u in client.users(results=100, gender="robot")} == {"male", "female"}


def test_inc_keeps_only_listed_fields_in_order(client: Client) -> None:
    users = client.users(results=3, inc="nat, Email,name", seed="inc")
    assert [list(u) for u in users] == [["name", "email", "nat"]] * 3


def test_exc_drops_fields(client: Client) -> None:
    users = client.users(results=3, exc="login,id,picture", seed="exc")
    assert list(users[0]) == [f for f in ALL_FIELDS if f not in ("login", "id", "picture")]


def test_inc_and_exc_exc_wins(client: Client) -> None:
    assert list(client.users(inc="name,email", exc="email")[0]) == ["name"]


def test_default_field_order(client: Client) -> None:
    assert list(client.users(seed="order")[0]) == ALL_FIELDS


def test_format_pretty_is_the_same_document_indented(client: Client) -> None:
    compact = client.get(results=5, seed="f").content
    pretty = client.get(results=5, seed="f", format="pretty")
    assert pretty.headers["Content-Type"].startswith("application/json")
    assert b"\n  " in pretty.content
    assert orjson.loads(pretty.content) == orjson.loads(compact)
    assert client.get(results=5, seed="f", format="prettyjson").content == pretty.content


def test_format_csv(client: Client) -> None:
    response = client.get(results=5, seed="f", format="csv", nat="US")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    users = client.users(results=5, seed="f", nat="US")
    assert len(rows) == 5
    assert rows[0]["name.first"] == users[0]["name"]["first"]
    assert rows[0]["location.street.number"] == str(users[0]["location"]["street"]["number"])
    assert rows[0]["login.sha256"] == users[0]["login"]["sha256"]


def test_format_yaml_and_xml(client: Client) -> None:
    users = client.users(results=3, seed="y", nat="us,fr")
    assert yaml.safe_load(client.get(results=3, seed="y", nat="us,fr", format="yaml").text)["results"] == users
    xml = client.get(results=3, seed="y", format="xml").text
    assert xml.startswith("<?xml") and xml.count("<results>\n\t\t<gender>") == 3 and "<info>" in xml


def test_unknown_format_is_json(client: Client) -> None:
    assert client.get(results=2, seed="j", format="toml").content == client.get(results=2, seed="j").content


def test_noinfo(client: Client) -> None:
    body = client.get(results=2, seed="n", noinfo="").json()
    assert list(body) == ["results"]
    assert "info" in client.get(results=2, seed="n").json()


@pytest.mark.parametrize(("spec", "alphabet", "low", "high"), [
    ("upper,lower,1-16", string.ascii_letters, 1, 16),
    ("number,10", string.digits, 10, 10),
    ("special,32", " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 32, 32),
    ("lower,number", string.ascii_lowercase + string.digits, 8, 64),
    ("upper,99", string.ascii_uppercase, 8, 64),
    # JavaScript's reading: "-8" is [0, 8] (minimum 0 -> 8, maximum 8), "4-8-16" spans 4..16
    ("upper,-8", string.ascii_uppercase, 8, 8),
    ("lower,4-8-16", string.ascii_lowercase, 4, 16),
])
def test_password_charsets_and_length(client: Client, spec: str, alphabet: str, low: int, high: int) -> None:
    for user in client.users(results=50, password=spec):
        password = user["login"]["password"]
        assert low <= len(password) <= high
        assert set(password) <= set(alphabet)


def test_password_without_charset_uses_word_list(client: Client) -> None:
    default = client.users(results=5, seed="pw")
    assert [u["login"]["password"] for u in client.users(results=5, seed="pw", password="12")] == [
        u["login"]["password"] for u in default
    ]


def test_repeated_parameter_uses_last_value(client: Client) -> None:
    url = client.api.url + "?page=2&page=4&seed=rep&seed=rep2&results=3"
    assert client.session.get(url, timeout=10).json()["info"] == {"seed": "rep2", "results": 3, "page": 4,
                                                                    "version": "1.4"}


def test_repeated_results_gives_one_user_like_randomuser(client: Client) -> None:
    """express parses `results=2&results=3` as an array; randomuser's route check `isNaN(["2", "3"])` is
    true, so it falls back to 1 user before its generator takes the last value of other parameters."""
    url = client.api.url + "?results=2&results=3&seed=rep"
    body = client.session.get(url, timeout=10).json()
    assert len(body["results"]) == 1 and body["info"]["results"] == 1
    # One value in brackets is a one-element array, which JavaScript reads as its element: 3 users.
    assert len(client.session.get(client.api.url + "?results[]=3&seed=rep", timeout=10).json()["results"]) == 3
