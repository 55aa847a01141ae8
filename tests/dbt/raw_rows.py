"""Hand-made raw.users rows for the edge cases the API's generator may not produce (written like dlt does)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

BASE_USER: dict[str, Any] = {
    "gender": "female",
    "name": {"title": "Ms", "first": "Kari", "last": "Nordmann"},
    "location": {
        "street": {"number": 12, "name": "Karl Johans gate"},
        "city": "Oslo",
        "state": "Oslo",
        "country": "Norway",
        "postcode": "0150",
        "coordinates": {"latitude": "59.9127", "longitude": "10.7461"},
        "timezone": {"offset": "+1:00", "description": "Brussels, Copenhagen, Madrid, Paris"},
    },
    "email": "kari.nordmann@example.com",
    "login": {"uuid": "", "username": "bluebird123"},
    "dob": {"date": "1990-04-01T10:00:00.000Z", "age": 36},
    "registered": {"date": "2015-06-01T08:30:00.000Z", "age": 11},
    "phone": "22 00 00 00",
    "cell": "900 00 000",
    "id": {"name": "FN", "value": None},
    "picture": {
        "large": "https://randomuser.me/api/portraits/women/1.jpg",
        "medium": "https://randomuser.me/api/portraits/med/women/1.jpg",
        "thumbnail": "https://randomuser.me/api/portraits/thumb/women/1.jpg",
    },
    "nat": "NO",
}


def user(changes: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of BASE_USER with a fresh uuid, `changes` merged in (dotted keys), `drop` (dotted keys) removed."""
    payload = copy.deepcopy(BASE_USER)
    payload["login"]["uuid"] = str(uuid.uuid4())
    for dotted, value in (changes or {}).items():
        *path, last = dotted.split(".")
        target = payload
        for key in path:
            target = target[key]
        target[last] = value
    for dotted in drop:
        *path, last = dotted.split(".")
        target = payload
        for key in path:
            target = target[key]
        target.pop(last, None)
    return payload


def land(url: str, payloads: list[dict[str, Any]], fetched_at: datetime | None = None) -> list[str]:
    """Insert the users into raw.users (which ingestion created) as one load; returns their uuids."""
    load_id = f"{datetime.now(UTC).timestamp():.6f}"
    when = fetched_at or datetime.now(UTC)
    rows = [
        (p["login"]["uuid"], Jsonb(p), when, "hand-made", 1, "1.4", load_id, uuid.uuid4().hex)
        for p in payloads
    ]
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version,"
            " _dlt_load_id, _dlt_id) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
        # a completed load, as dlt records it (staging reads only rows of completed loads)
        conn.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at)"
                     " values (%s, 'randomuser', 0, now())", (load_id,))
    return [row[0] for row in rows]
