"""HTTP behaviour as randomuser.me 1.4 answers (its express route `routes/api.js`, `app.js` middleware)."""

from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import urlsplit

import orjson
import pytest
import requests

from randomuser_api import NATIONALITIES
from randomuser_api.server import LocalApi

from .conftest import Client


def raw_get(client: Client, target: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """A GET without requests' defaults (no Accept-Encoding unless given); the body is read."""
    parts = urlsplit(client.api.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    conn.request("GET", target, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


@pytest.mark.parametrize(("param", "fmt", "ext"), [("dl", "json", "json"), ("download", "csv", "csv"),
                                                   ("dl", "yaml", "yaml"), ("dl", "pretty", "json")])
def test_download_is_a_file(client: Client, param: str, fmt: str, ext: str) -> None:
    response = client.get(results=2, seed="dl", format=fmt, **{param: ""})
    assert response.headers["Content-Disposition"] == f'attachment; filename="download.{ext}"'
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == client.get(results=2, seed="dl", format=fmt).content


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("json", "application/json; charset=utf-8"), ("pretty", "application/json; charset=utf-8"),
    ("xml", "text/xml; charset=utf-8"), ("yaml", "text/x-yaml; charset=utf-8"), ("csv", "text/csv; charset=utf-8"),
])
def test_content_types_and_no_cache(client: Client, fmt: str, content_type: str) -> None:
    response = client.get(results=1, seed="ct", format=fmt)
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_xml_is_tab_indented(client: Client) -> None:
    text = client.get(results=2, seed="x", format="xml", inc="nat").text
    lines = text.split("\n")
    assert lines[:3] == ['<?xml version="1.0" encoding="UTF-8"?>', "<user>", "\t<results>"]
    assert re.fullmatch(r"\t\t<nat>[A-Z]{2}</nat>", lines[3]) and lines[-1] == "</user>"
    assert text.endswith("\t<info>\n\t\t<seed>x</seed>\n\t\t<results>2</results>\n\t\t<page>1</page>\n"
                         "\t\t<version>1.4</version>\n\t</info>\n</user>")
    assert text.count("\t<results>\n\t\t<nat>") == 2


def test_yaml_is_yamljs_layout(client: Client) -> None:
    text = client.get(results=1, seed="y", format="yaml", inc="name,nat", nat="ch").text
    assert re.fullmatch(r"results:\n    -\n        name:\n            title: (Monsieur|Madame|Mademoiselle)\n"
                        r"            first: .+\n            last: .+\n        nat: CH\n"
                        r"info:\n    seed: y\n    results: 1\n    page: 1\n    version: '1\.4'\n", text), text


def test_csv_null_is_written_null_and_no_final_newline(client: Client) -> None:
    text = client.get(results=3, seed="c", format="csv", nat="nz", inc="id,nat").text
    assert text == "id.name,id.value,nat\n,null,NZ\n,null,NZ\n,null,NZ"


def test_lego(client: Client) -> None:
    body = client.get(results=20, seed="bricks", lego="").json()
    assert body["info"]["seed"] == "bricks-1"
    for user in body["results"]:
        assert user["nat"] == "LEGO" and "country" not in user["location"]
        assert re.fullmatch(r"https://randomuser\.me/api/portraits/lego/\d\.jpg", user["picture"]["large"])
        assert user["id"]["name"] == "SN" and re.fullmatch(r"\d{12}", user["id"]["value"])
    assert {u["nat"] for u in client.users(results=50, lego="false")} != {"LEGO"}


def test_jsonp_callback(client: Client) -> None:
    plain = client.get(results=2, seed="cb").content
    assert client.get(results=2, seed="cb", callback="foo").content == b"foo(" + plain + b");"
    assert client.get(results=2, seed="cb", callback="foo", format="xml").text.startswith("<?xml")


def test_eighteen_character_seed_echoes_its_nationality(client: Client) -> None:
    """randomuser: the last two hex digits pick the nationality; `info.seed` adds that nationality's index
    as 2 hex digits (`util.pad(index.toString(16), 2)`), 20 characters in all."""
    seed = "abcdef12345678900a"
    body = client.get(results=30, seed=seed).json()
    assert {u["nat"] for u in body["results"]} == {NATIONALITIES[10]}
    assert body["info"]["seed"] == seed + "0a" and len(body["info"]["seed"]) == 20
    assert client.get(results=1, seed="abcdef123456789014").json()["info"]["seed"] == "abcdef12345678901414"
    # a multi-nat list or a short seed gets no suffix
    assert client.get(results=1, seed="short", nat="us").json()["info"]["seed"] == "short"


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3"])
def test_older_versions_are_served(client: Client, version: str) -> None:
    response = client.session.get(f"{client.api.url}{version}/", params={"results": 300, "seed": "old"},
                                  timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["info"]["version"] == version
    nats = {u["nat"] for u in body["results"]}
    assert not nats & {"IN", "MX", "RS", "UA"}  # added in 1.4
    assert ("NO" in nats) == (version in ("1.2", "1.3"))  # added in 1.2


def test_api_path_ignores_case_like_express(client: Client) -> None:
    for path in ("/API/", "/Api/1.4", "/api/1.4/"):
        response = client.session.get(client.api.base_url + path, params={"seed": "c"}, timeout=30)
        assert response.status_code == 200 and response.json()["info"]["seed"] == "c"


@pytest.mark.parametrize("path", ["/nope", "/api/0.9", "/api/1.5/", "/api/1.4/users"])
def test_not_found_is_text(client: Client, path: str) -> None:
    response = client.session.get(client.api.base_url + path, timeout=30)
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Cache-Control" not in response.headers  # randomuser answers 404 before it sets no-cache


def test_gzip_when_asked(client: Client) -> None:
    target = "/api/?results=20&seed=gz"
    plain = raw_get(client, target)
    assert plain.getheader("Content-Encoding") is None
    packed = raw_get(client, target, {"Accept-Encoding": "gzip"})
    assert packed.getheader("Content-Encoding") == "gzip"
    assert packed.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(packed.body) == plain.body  # type: ignore[attr-defined]
    assert orjson.loads(plain.body)["info"]["seed"] == "gz"  # type: ignore[attr-defined]
    # below compression's 1 KiB threshold, and for downloads, the body goes as it is
    small = raw_get(client, "/api/?results=1&seed=gz&inc=nat", {"Accept-Encoding": "gzip"})
    assert small.getheader("Content-Encoding") is None
    download = raw_get(client, target + "&dl", {"Accept-Encoding": "gzip"})
    assert download.getheader("Content-Encoding") is None


def test_parameter_names_are_case_sensitive(client: Client) -> None:
    assert len(client.users(Results=5, seed="case")) == 1


def test_noinfo_kept_with_lego_false_like_randomuser(client: Client) -> None:
    """randomuser tests `options.lego !== 'false'` where it means noinfo: `noinfo&lego=false` keeps info."""
    assert "info" in client.get(results=1, seed="n", noinfo="", lego="false").json()
    assert "info" not in client.get(results=1, seed="n", noinfo="").json()


def test_lego_country_is_javascripts_undefined_in_each_format(client: Client) -> None:
    """randomuser has no country name for LEGO (`undefined`): JSON drops the key, yamljs writes null,
    js2xmlparser an empty element, json-2-csv the word `undefined`."""
    query = {"results": 1, "seed": "bricks", "lego": "", "inc": "location"}
    assert "\n            country: null\n" in client.get(format="yaml", **query).text
    assert "\t\t\t<state>" in (xml := client.get(format="xml", **query).text) and "<country></country>" in xml
    header, row = client.get(format="csv", **query).text.split("\n")
    assert dict(zip(header.split(","), row.split(","), strict=False))["location.country"] == "undefined"


def test_compression_can_be_turned_off() -> None:
    """`LocalApi(compress=False)`: our option for local pipelines, where gzip only costs CPU."""
    with LocalApi(compress=False) as api:
        response = requests.get(api.url, params={"results": 20, "seed": "gz"},
                                headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.json()["info"]["seed"] == "gz"
