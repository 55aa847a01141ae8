"""The committed lists (data/locales.json, data/upstream.json), loaded once into per-nationality tuples.

`upstream.json` holds the lists taken from randomuser's own data (see `data/build_upstream.py`); where it
has a list, it replaces ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "locales.json"
UPSTREAM_FILE = DATA_FILE.with_name("upstream.json")
_MAIL_UNSAFE = re.compile(r"[^a-z0-9'-]")


@dataclass(frozen=True)
class NatLists:
    """Everything drawn per nationality; `*_mail` are the email spellings of the matching names."""

    male_first: tuple[str, ...]
    female_first: tuple[str, ...]
    last: tuple[str, ...]
    male_first_mail: tuple[str, ...]
    female_first_mail: tuple[str, ...]
    last_mail: tuple[str, ...]
    cities: tuple[str, ...]
    states: tuple[str, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class CommonLists:
    user1: tuple[str, ...]
    user2: tuple[str, ...]
    passwords: tuple[str, ...]
    timezones: tuple[dict[str, str], ...]


def _mail(names: list[str], ascii_names: dict[str, str]) -> tuple[str, ...]:
    """randomuser's email spelling: transliterated, lower case, spaces (and other non-word marks) removed."""
    return tuple(_MAIL_UNSAFE.sub("", ascii_names.get(n, n).lower()) for n in names)


@lru_cache(maxsize=1)
def load() -> tuple[dict[str, NatLists], CommonLists]:
    doc = json.loads(DATA_FILE.read_text("utf-8"))
    upstream = json.loads(UPSTREAM_FILE.read_text("utf-8"))
    ascii_names: dict[str, str] = doc["ascii"]
    for nat, lists in upstream["nationalities"].items():
        doc["nationalities"].setdefault(nat, {}).update(lists)
    doc["common"].update(upstream["common"])
    nats = {
        nat: NatLists(
            male_first=tuple(d["male_first"]),
            female_first=tuple(d["female_first"]),
            last=tuple(d["last"]),
            male_first_mail=_mail(d["male_first"], ascii_names),
            female_first_mail=_mail(d["female_first"], ascii_names),
            last_mail=_mail(d["last"], ascii_names),
            cities=tuple(d["cities"]),
            states=tuple(d["states"]),
            streets=tuple(d["streets"]),
        )
        for nat, d in doc["nationalities"].items()
    }
    c = doc["common"]
    common = CommonLists(
        user1=tuple(c["user1"]),
        user2=tuple(c["user2"]),
        passwords=tuple(c["passwords"]),
        timezones=tuple({"offset": o, "description": desc} for o, desc in c["timezones"]),
    )
    return nats, common
