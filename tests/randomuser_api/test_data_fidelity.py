"""Per-nationality data as randomuser 1.4 sends it (its `api/1.4/data/<NAT>/inject.js` and lists)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from .conftest import Client

GB_PHONE_SHAPES = {"99999 99999", "99999 999999", "9999999 999 9999", "9999 999 9999", "999999 99999",
                   "999999 9999", "999 9999 9999"}
GB_POSTCODE_SHAPES = {"a9 9aa", "aa9 9aa", "a99 9aa", "aa99 9aa", "aa9a 9aa", "a9a 9aa"}


def shape(text: str) -> str:
    return re.sub(r"[A-Z]", "a", re.sub(r"\d", "9", text))


@pytest.fixture(scope="module")
def by_nat(client: Client) -> dict[str, list[dict[str, Any]]]:
    return {nat: client.users(results=5000, nat=nat, seed=f"fidelity-{nat}")
            for nat in ("CH", "GB", "UA", "BR", "RS", "US", "DK", "FI", "DE", "FR")}


def test_ch_phones_and_titles(by_nat: dict[str, list[dict[str, Any]]]) -> None:
    for user in by_nat["CH"]:
        assert re.fullmatch(r"07[5-9] \d{3} \d{2} \d{2}", user["phone"]), user["phone"]
        assert re.fullmatch(r"07[5-9] \d{3} \d{2} \d{2}", user["cell"]), user["cell"]
        wanted = {"Monsieur"} if user["gender"] == "male" else {"Madame", "Mademoiselle"}
        assert user["name"]["title"] in wanted
    assert {u["name"]["title"] for u in by_nat["CH"]} == {"Monsieur", "Madame", "Mademoiselle"}


def test_gb_phone_and_postcode_shapes(by_nat: dict[str, list[dict[str, Any]]]) -> None:
    users = by_nat["GB"]
    phones = Counter(shape(u["phone"]) for u in users)
    assert set(phones) == GB_PHONE_SHAPES
    assert 0.66 < phones["999999 99999"] / len(users) < 0.78  # 13 of randomuser's 18 patterns
    postcodes = Counter(shape(u["location"]["postcode"]) for u in users)
    assert set(postcodes) == GB_POSTCODE_SHAPES
    with_letter = postcodes["aa9a 9aa"] + postcodes["a9a 9aa"]
    assert 0.28 < with_letter / len(users) < 0.39  # 2 of its 6 shapes


def test_ua_is_latin_transliteration(by_nat: dict[str, list[dict[str, Any]]]) -> None:
    for user in by_nat["UA"]:
        text = " ".join([user["name"]["first"], user["name"]["last"], user["location"]["city"],
                         user["location"]["state"], user["location"]["street"]["name"]])
        assert text.isascii(), text


@pytest.mark.parametrize(("nat", "path"), [("BR", ("location", "street", "name")),
                                           ("RS", ("location", "street", "name")), ("US", ("name", "last")),
                                           ("DK", ("location", "city"))])
def test_trailing_spaces_as_randomuser(by_nat: dict[str, list[dict[str, Any]]], nat: str,
                                       path: tuple[str, ...]) -> None:
    """randomuser's lists keep some entries' trailing spaces (BR, RS streets, one US last name, one DK city)."""
    def value(user: dict[str, Any]) -> str:
        for key in path:
            user = user[key]
        return str(user)
    assert any(value(u).endswith(" ") for u in by_nat[nat])


def test_id_quirks_by_default(by_nat: dict[str, list[dict[str, Any]]]) -> None:
    for user in by_nat["FI"]:
        assert re.fullmatch(r"NaNNA\d{2}[02468]undefined" if user["gender"] == "female" else
                            r"NaNNA\d{2}[13579]undefined", user["id"]["value"]), user["id"]["value"]
    for nat, pattern in (("DE", r"\d{2} \d{4}(\d{3}) "), ("DK", r"\d{4}(\d{3})-")):
        years = {m.group(1) for u in by_nat[nat] if (m := re.match(pattern, u["id"]["value"]))}
        assert years <= {"100", "101"} and years, nat  # born in 2000/2001: `Date.getYear()`
    for user in by_nat["FR"]:
        year, month = int(user["dob"]["date"][:4]), int(user["dob"]["date"][5:7])
        assert user["id"]["value"][1:].startswith(f"{year - 1900:02d}{month - 1:02d}")  # months from 0


def test_valid_ids_switch(client: Client) -> None:
    for nat in ("FI", "DE", "DK", "FR"):
        for user in client.users(results=2000, nat=nat, seed=f"fidelity-{nat}", valid_ids="1"):
            value, dob = user["id"]["value"], user["dob"]["date"]
            yy, mm, dd = dob[2:4], dob[5:7], dob[8:10]
            if nat == "FI":
                assert re.fullmatch(rf"{dd}{mm}{yy}[-A]\d{{3}}[0-9A-Y]", value), value
            elif nat == "DE":
                assert value[3:9] == f"{dd}{mm}{yy}", value
            elif nat == "DK":
                assert value[:7] == f"{dd}{mm}{yy}-", value
            else:
                assert value[1:5] == f"{yy}{mm}", value


def test_password_diversity_as_randomuser(client: Client) -> None:
    """randomuser draws from its 7,547-word list: about 3,650 distinct passwords in 5,000 users."""
    users = client.users(results=5000, seed="passwords")
    assert 3400 <= len({u["login"]["password"] for u in users}) <= 3900
