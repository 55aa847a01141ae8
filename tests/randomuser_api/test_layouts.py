"""Body layouts byte for byte as randomuser 1.4's libraries write them.

The expected texts were produced by the libraries randomuser.me runs (yamljs 0.2.10 `YAML.stringify(doc, 4)`,
js2xmlparser 1.0.0 `js2xmlparser("user", doc)`, json-2-csv 3.17.1 `json2csv(results)`) from the document
below, which holds the awkward cases: quotes, leading `-`/`@`, number-like and date-like strings, `null`,
empty values, trailing spaces, line breaks, `NO` (left bare by yamljs).
"""

from __future__ import annotations

from typing import Any

from randomuser_api.formats import to_csv, to_xml
from randomuser_api.yaml_layout import dump

DOC: dict[str, Any] = {
    "results": [{
        "gender": "female", "name": {"title": "Madame", "first": "Zoé", "last": "O'Neil"},
        "location": {"street": {"number": 12, "name": "Rua Paraná "}, "city": "Aalborg S.Ø.", "state": "-West",
                     "country": "NO", "postcode": "0123", "coordinates": {"latitude": "-1.5000", "longitude": "1e3"},
                     "timezone": {"offset": "+5:45", "description": "a, b & <c>"}},
        "email": "@x",
        "login": {"password": "", "salt": "null", "md5": "True", "sha1": "0x1F",
                  "sha256": "2022-05-23T10:00:00.000Z"},
        "phone": "079 999 99 99", "cell": 'say "hi"', "id": {"name": "", "value": None}, "nat": "NO", "extra": {},
        "list": [], "neg": -5, "multi": "line\nbreak", "hash": "a#b", "q": "why?",
    }],
    "info": {"seed": "abc-1", "results": 1, "page": 1, "version": "1.4"},
}
# json-2-csv with a second record lacking most keys: a missing top-level key is `undefined`, a key under a
# missing object `null`.
SPARSE = {"gender": "male", "nat": "US", "id": {"name": "SSN", "value": "1"}}

YAMLJS = "".join(
    "results:\n"
    "    -\n"
    "        gender: female\n"
    "        name:\n"
    "            title: Madame\n"
    "            first: Zoé\n"
    "            last: 'O''Neil'\n"
    "        location:\n"
    "            street: {number: 12, name: 'Rua Paraná '}\n"
    "            city: 'Aalborg S.Ø.'\n"
    "            state: '-West'\n"
    "            country: NO\n"
    "            postcode: '0123'\n"
    "            coordinates: {latitude: '-1.5000', longitude: '1e3'}\n"
    "            timezone: {offset: '+5:45', description: 'a, b & <c>'}\n"
    "        email: '@x'\n"
    "        login:\n"
    "            password: \"\"\n"
    "            salt: 'null'\n"
    "            md5: 'True'\n"
    "            sha1: '0x1F'\n"
    "            sha256: '2022-05-23T10:00:00.000Z'\n"
    "        phone: '079 999 99 99'\n"
    "        cell: 'say \"hi\"'\n"
    "        id:\n"
    "            name: \"\"\n"
    "            value: null\n"
    "        nat: NO\n"
    "        extra: {}\n"
    "        list: []\n"
    "        neg: -5\n"
    "        multi: \"line\\nbreak\"\n"
    "        hash: 'a#b'\n"
    "        q: 'why?'\n"
    "info:\n"
    "    seed: abc-1\n"
    "    results: 1\n"
    "    page: 1\n"
    "    version: '1.4'\n"
    ""
)

JS2XMLPARSER = "".join(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<user>\n"
    "\t<results>\n"
    "\t\t<gender>female</gender>\n"
    "\t\t<name>\n"
    "\t\t\t<title>Madame</title>\n"
    "\t\t\t<first>Zoé</first>\n"
    "\t\t\t<last>O&apos;Neil</last>\n"
    "\t\t</name>\n"
    "\t\t<location>\n"
    "\t\t\t<street>\n"
    "\t\t\t\t<number>12</number>\n"
    "\t\t\t\t<name>Rua Paraná </name>\n"
    "\t\t\t</street>\n"
    "\t\t\t<city>Aalborg S.Ø.</city>\n"
    "\t\t\t<state>-West</state>\n"
    "\t\t\t<country>NO</country>\n"
    "\t\t\t<postcode>0123</postcode>\n"
    "\t\t\t<coordinates>\n"
    "\t\t\t\t<latitude>-1.5000</latitude>\n"
    "\t\t\t\t<longitude>1e3</longitude>\n"
    "\t\t\t</coordinates>\n"
    "\t\t\t<timezone>\n"
    "\t\t\t\t<offset>+5:45</offset>\n"
    "\t\t\t\t<description>a, b &amp; &lt;c&gt;</description>\n"
    "\t\t\t</timezone>\n"
    "\t\t</location>\n"
    "\t\t<email>@x</email>\n"
    "\t\t<login>\n"
    "\t\t\t<password></password>\n"
    "\t\t\t<salt>null</salt>\n"
    "\t\t\t<md5>True</md5>\n"
    "\t\t\t<sha1>0x1F</sha1>\n"
    "\t\t\t<sha256>2022-05-23T10:00:00.000Z</sha256>\n"
    "\t\t</login>\n"
    "\t\t<phone>079 999 99 99</phone>\n"
    "\t\t<cell>say &quot;hi&quot;</cell>\n"
    "\t\t<id>\n"
    "\t\t\t<name></name>\n"
    "\t\t\t<value></value>\n"
    "\t\t</id>\n"
    "\t\t<nat>NO</nat>\n"
    "\t\t<extra/>\n"
    "\t\t<neg>-5</neg>\n"
    "\t\t<multi>line\n"
    "break</multi>\n"
    "\t\t<hash>a#b</hash>\n"
    "\t\t<q>why?</q>\n"
    "\t</results>\n"
    "\t<info>\n"
    "\t\t<seed>abc-1</seed>\n"
    "\t\t<results>1</results>\n"
    "\t\t<page>1</page>\n"
    "\t\t<version>1.4</version>\n"
    "\t</info>\n"
    "</user>"
)

JSON_2_CSV = (
    "gender,name.title,name.first,name.last,location.street.number,location.street.name,locatio"
    "n.city,location.state,location.country,location.postcode,location.coordinates.latitude,loc"
    "ation.coordinates.longitude,location.timezone.offset,location.timezone.description,email,l"
    "ogin.password,login.salt,login.md5,login.sha1,login.sha256,phone,cell,id.name,id.value,nat"
    ",extra,list,neg,multi,hash,q\nfemale,Madame,Zoé,O'Neil,12,Rua Paraná ,Aalborg S.Ø.,-West,NO"
    ",0123,-1.5000,1e3,+5:45,\"a, b & <c>\",@x,,null,True,0x1F,2022-05-23T10:00:00.000Z,079 999 9"
    "9 99,\"say \"\"hi\"\"\",,null,NO,{},[],-5,\"line\nbreak\",a#b,why?\nmale,null,null,null,null,null,nu"
    "ll,null,null,null,null,null,null,null,undefined,null,null,null,null,null,undefined,undefin"
    "ed,SSN,1,US,undefined,undefined,undefined,undefined,undefined,undefined"
)


def test_yaml_is_yamljs_layout() -> None:
    assert dump(DOC) == YAMLJS


def test_xml_is_js2xmlparser_layout() -> None:
    assert to_xml(DOC).decode() == JS2XMLPARSER


def test_csv_is_json_2_csv_layout() -> None:
    assert to_csv([*DOC["results"], SPARSE]).decode() == JSON_2_CSV
