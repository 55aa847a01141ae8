"""JSON types and formats per field and nationality, as the real randomuser 1.4 service sends them."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest

from randomuser_api import NATIONALITIES

from .conftest import Client

# Postcode type per nationality (randomuser 1.4 inject scripts): strings for CA/GB/NO, numbers elsewhere.
STRING_POSTCODE = {"CA": r"[A-Z]\d[A-Z] \d[A-Z]\d", "GB": r"[A-Z]{1,2}\d(\d|[A-Z])? \d[A-Z]{2}", "NO": r"\d{4}"}
FOUR_DIGIT_POSTCODE = {"AU": (200, 9999), "CH": (1000, 9999)}
ID_NAMES = {
    "AU": "TFN", "BR": "CPF", "CA": "SIN", "CH": "AVS", "DE": "SVNR", "DK": "CPR", "ES": "DNI", "FI": "HETU",
    "FR": "INSEE", "GB": "NINO", "IE": "PPS", "IN": "UIDAI", "IR": "", "MX": "NSS", "NL": "BSN", "NO": "FN",
    "NZ": "", "RS": "SID", "TR": "", "UA": "", "US": "SSN",
}
ID_VALUES = {
    "AU": r"\d{9}", "BR": r"\d{3}\.\d{3}\.\d{3}-\d{2}", "CA": r"\d{9}", "CH": r"756\.\d{4}\.\d{4}\.\d{2}",
    # DE/DK/FR: randomuser's year is `Date.getYear()` (2000 -> 100); FI: its HETU is always broken.
    "DE": r"\d{2} \d{6,7} \w \d{3}", "DK": r"\d{6,7}-\d{4}", "ES": r"\d{8}-[A-Z]", "FI": r"NaNNA\d{3}undefined",
    "FR": r"[12]\d{12,13} \d{2}", "GB": r"[A-Z]{2} \d{2} \d{2} \d{2} [A-Z]", "IE": r"\d{7}T", "IN": r"\d{12}",
    "MX": r"\d{2} \d{2} \d{2} \d{4} \d", "NL": r"\d{8}", "NO": r"\d{11}", "RS": r"\d{9}",
    "US": r"\d{3}-\d{2}-\d{4}",
}
PHONES = {
    "AU": r"0\d-\d{4}-\d{4}", "BR": r"\(\d{2}\) \d{4}-\d{4}", "CA": r"[A-Z]\d{2} [A-Z]\d{2}-\d{4}",
    "CH": r"07[5-9] \d{3} \d{2} \d{2}", "DE": r"0\d{3}-\d{7}", "DK": r"\d{8}", "ES": r"9\d{2}-\d{3}-\d{3}",
    "FI": r"0\d-\d{3}-\d{3}", "FR": r"0[1-5](-\d{2}){4}", "GB": r"0[12][\d ]{8,14}",
    "IE": r"0\d1-\d{3}-\d{4}", "IN": r"[789]\d{9}", "IR": r"0\d{2}-\d{8}", "MX": r"\(6\d{2}\) \d{3} \d{4}",
    "NL": r"\(\d{3}\)-\d{3}-\d{4}", "NO": r"[235678]\d{7}", "NZ": r"\(\d{3}\)-\d{3}-\d{4}",
    "RS": r"0[123]\d-\d{4}-\d{3}", "TR": r"\(\d{3}\)-\d{3}-\d{4}", "UA": r"\(0\d{2}\) [A-Z]\d{2}-\d{4}",
    "US": r"\([2-9]\d{2}\) [2-9]\d{2}-\d{4}",
}
ISO_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
OFFSET = re.compile(r"[+-]?\d{1,2}:\d{2}")
PICTURE = re.compile(r"https://randomuser\.me/api/portraits/(med/|thumb/)?(men|women)/\d{1,2}\.jpg")


@pytest.fixture(scope="module")
def users_by_nat(client: Client) -> dict[str, list[dict[str, Any]]]:
    return {nat: client.users(results=200, nat=nat, seed=f"types-{nat}") for nat in NATIONALITIES}


@pytest.mark.parametrize("nat", NATIONALITIES)
def test_types_per_nationality(users_by_nat: dict[str, list[dict[str, Any]]], nat: str) -> None:
    for user in users_by_nat[nat]:
        assert user["nat"] == nat
        assert user["gender"] in ("male", "female")
        assert set(user["name"]) == {"title", "first", "last"} and all(user["name"].values())
        loc = user["location"]
        assert isinstance(loc["street"]["number"], int) and 1 <= loc["street"]["number"] <= 9999
        # randomuser's UA street list has one empty line: 1 UA user in 4,249 gets an empty street name.
        assert isinstance(loc["street"]["name"], str) and (loc["street"]["name"] or nat == "UA")
        assert isinstance(loc["city"], str) and isinstance(loc["state"], str) and loc["city"] and loc["state"]
        postcode = loc["postcode"]
        if nat in STRING_POSTCODE:
            assert isinstance(postcode, str) and re.fullmatch(STRING_POSTCODE[nat], postcode), postcode
        else:
            low, high = FOUR_DIGIT_POSTCODE.get(nat, (10000, 99999))
            assert isinstance(postcode, int) and low <= postcode <= high
        lat, lon = loc["coordinates"]["latitude"], loc["coordinates"]["longitude"]
        assert isinstance(lat, str) and -90 <= float(lat) <= 90 and re.fullmatch(r"-?\d+\.\d{4}", lat)
        assert isinstance(lon, str) and -180 <= float(lon) <= 180 and re.fullmatch(r"-?\d+\.\d{4}", lon)
        assert OFFSET.fullmatch(loc["timezone"]["offset"]) and loc["timezone"]["description"]
        assert re.fullmatch(r"[a-z0-9'\-.]+\.[a-z0-9'\-.]+@example\.com", user["email"]), user["email"]
        for key in ("dob", "registered"):
            assert ISO_MS.fullmatch(user[key]["date"]) and isinstance(user[key]["age"], int)
        assert re.fullmatch(PHONES[nat], user["phone"]), user["phone"]
        cell = user["cell"]
        assert isinstance(cell, str) and sum(c.isdigit() for c in cell) >= 7, cell
        assert user["id"]["name"] == ID_NAMES[nat]
        if nat in ID_VALUES:
            assert isinstance(user["id"]["value"], str) and re.fullmatch(ID_VALUES[nat], user["id"]["value"])
        else:
            assert user["id"]["value"] is None
        for size in ("large", "medium", "thumbnail"):
            assert PICTURE.fullmatch(user["picture"][size])
        folder = "men" if user["gender"] == "male" else "women"
        assert f"/{folder}/" in user["picture"]["large"]


def test_offsets_are_randomusers_30(client: Client) -> None:
    """randomuser drops its time-zone file's last line (+12:00): 30 offsets, the odd ones included."""
    offsets = {u["location"]["timezone"]["offset"] for u in client.users(results=2000, seed="tz")}
    assert {"0:00", "+5:45", "-3:30", "+9:30", "-12:00", "+11:00"} <= offsets
    assert len(offsets) == 30 and "+12:00" not in offsets


def test_country_names(users_by_nat: dict[str, list[dict[str, Any]]]) -> None:
    assert users_by_nat["GB"][0]["location"]["country"] == "United Kingdom"
    assert users_by_nat["US"][0]["location"]["country"] == "United States"
    assert users_by_nat["RS"][0]["location"]["country"] == "Serbia"


def test_email_is_transliterated_first_dot_last(users_by_nat: dict[str, list[dict[str, Any]]]) -> None:
    for nat in ("UA", "IR", "TR", "RS"):
        for user in users_by_nat[nat]:
            assert user["email"].isascii() and user["email"].endswith("@example.com")
    gb = users_by_nat["GB"][0]
    assert gb["email"] == f"{gb['name']['first']}.{gb['name']['last']}@example.com".lower().replace(" ", "")


def test_login_credentials_are_hashes_of_password_plus_salt(client: Client) -> None:
    for user in client.users(results=300, seed="creds") + client.users(results=50, password="special,upper,4-20"):
        login = user["login"]
        salted = (login["password"] + login["salt"]).encode()
        assert login["md5"] == hashlib.md5(salted).hexdigest()
        assert login["sha1"] == hashlib.sha1(salted).hexdigest()
        assert login["sha256"] == hashlib.sha256(salted).hexdigest()
        assert re.fullmatch(r"[A-Za-z0-9]{8}", login["salt"])
        assert re.fullmatch(r"[a-z]+[1-9]\d{2}", login["username"])
        parsed = uuid.UUID(login["uuid"])
        assert parsed.version == 4 and str(parsed) == login["uuid"]


def test_serbian_names_are_latin_script(users_by_nat: dict[str, list[dict[str, Any]]]) -> None:
    for user in users_by_nat["RS"]:
        text = user["name"]["first"] + user["name"]["last"] + user["location"]["city"]
        assert all(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in text), text
