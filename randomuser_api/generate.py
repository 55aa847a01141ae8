"""Deterministic users and response bodies: same seed + page + parameters -> the same bytes."""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from randomuser_api.dates import DOB_RANGE, REGISTERED_RANGE, Stamper
from randomuser_api.draw import ALNUM, Draw, rng_for
from randomuser_api.formats import serialize
from randomuser_api.locales import load
from randomuser_api.nationalities import COUNTRIES, EXTRAS, TITLES, VALID_EXTRAS
from randomuser_api.params import FIELDS, LEGO, ApiRequest, Query, parse_query

FEMALE_TITLES = ("Miss", "Mrs", "Ms")
_TITLES = ("Mr", FEMALE_TITLES)
PICTURE_BASE = "https://randomuser.me/api/portraits/"
_PICTURES = {
    g: tuple((f"{PICTURE_BASE}{g}/{i}.jpg", f"{PICTURE_BASE}med/{g}/{i}.jpg", f"{PICTURE_BASE}thumb/{g}/{i}.jpg")
             for i in range(n))
    for g, n in (("men", 100), ("women", 97), ("lego", 10))
}


def generate_users(req: ApiRequest) -> list[dict[str, Any]]:
    """The users of one page, every field in randomuser's order, then narrowed to `req.fields`."""
    nats_data, common = load()
    draw = Draw(rng_for(req.seed[:16] if len(req.seed) == 18 else req.seed, req.page))
    stamper = Stamper()
    between, pick, digits_from = draw.between, draw.pick, draw.digits_from
    rand = draw.rng.random  # inlined `index`/`pick` below: the hot loop avoids method calls
    coordinate, uuid4, stamp = draw.coordinate, draw.uuid4, stamper.stamp
    md5, sha1, sha256 = hashlib.md5, hashlib.sha1, hashlib.sha256
    user1, user2, passwords, timezones = common.user1, common.user2, common.passwords, common.timezones
    n_user1, n_user2, n_timezones = len(user1), len(user2), len(timezones)
    nats, fixed_gender, spec = req.nats, req.gender, req.password
    men, women, lego = _PICTURES["men"], _PICTURES["women"], _PICTURES["lego"]
    extras = VALID_EXTRAS if req.valid_ids else EXTRAS
    dob_low, dob_high = DOB_RANGE
    reg_low, reg_high = REGISTERED_RANGE
    users = []
    for _ in range(req.results):
        nat = nats[int(rand() * len(nats))] if len(nats) > 1 else nats[0]
        data = nats_data[nat]
        gender = fixed_gender or ("male" if rand() >= 0.5 else "female")
        male_title, female_titles = TITLES.get(nat, _TITLES)
        if gender == "male":
            i = int(rand() * len(data.male_first))
            first, first_mail, title = data.male_first[i], data.male_first_mail[i], male_title
        else:
            i = int(rand() * len(data.female_first))
            first, first_mail, title = data.female_first[i], data.female_first_mail[i], pick(female_titles)
        j = int(rand() * len(data.last))
        last = data.last[j]
        timezone = timezones[int(rand() * n_timezones)]
        street = {"number": between(1, 9999), "name": pick(data.streets)}
        city, state, postcode = pick(data.cities), pick(data.states), between(10000, 99999)
        coordinates = {"latitude": coordinate(90), "longitude": coordinate(180)}
        salt = digits_from(ALNUM, 8)
        if spec is None:
            password = pick(passwords)
        else:
            password = digits_from(spec.charset, between(spec.min_length, spec.max_length))
        salted = (password + salt).encode()
        login = {
            "uuid": uuid4(),
            "username": f"{user1[int(rand() * n_user1)]}{user2[int(rand() * n_user2)]}{100 + int(rand() * 900)}",
            "password": password,
            "salt": salt,
            "md5": md5(salted).hexdigest(),
            "sha1": sha1(salted).hexdigest(),
            "sha256": sha256(salted).hexdigest(),
        }
        dob, dob_ymd = stamp(between(dob_low, dob_high))
        registered, _ = stamp(between(reg_low, reg_high))
        if nat == LEGO:
            pic = lego[int(rand() * 10)]
        else:
            pic = men[int(rand() * 100)] if gender == "male" else women[int(rand() * 97)]
        phone, cell, id_, nat_postcode = extras[nat](draw, gender, last, dob_ymd)
        location = {
            "street": street,
            "city": city,
            "state": state,
            "country": COUNTRIES.get(nat),
            "postcode": postcode if nat_postcode is None else nat_postcode,
            "coordinates": coordinates,
            "timezone": timezone,
        }
        if nat == LEGO:  # randomuser has no country name for LEGO: JSON.stringify drops the undefined
            del location["country"]
        users.append({
            "gender": gender,
            "name": {"title": title, "first": first, "last": last},
            "location": location,
            "email": f"{first_mail}.{data.last_mail[j]}@example.com",
            "login": login,
            "dob": dob,
            "registered": registered,
            "phone": phone,
            "cell": cell,
            "id": id_,
            "picture": {"large": pic[0], "medium": pic[1], "thumbnail": pic[2]},
            "nat": nat,
        })
    if len(req.fields) < len(FIELDS):
        keep = req.fields
        users = [{k: v for k, v in u.items() if k in keep} for u in users]
    return users


def build_response(params: Query | ApiRequest | None = None) -> bytes:
    """The response body for a query (e.g. `{"results": "10", "seed": "abc"}`) or a parsed ApiRequest."""
    req = params if isinstance(params, ApiRequest) else parse_query(params or {})
    return serialize(build_document(req), req.format)


def build_document(req: ApiRequest) -> dict[str, Any]:
    """`{"results": [...], "info": {...}}` (no `info` with noinfo)."""
    with _gc_paused():
        users = generate_users(req)
    doc: dict[str, Any] = {"results": users}
    if not req.noinfo:
        doc["info"] = {"seed": req.info_seed or req.seed, "results": len(users), "page": req.page,
                       "version": req.version}
    return doc


_gc_lock = threading.Lock()
_gc_state = {"pausers": 0, "was_enabled": False}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building thousands of acyclic dicts (it would rescan them repeatedly).

    Counted under a lock, so concurrent server threads restore the GC only when the last one is done.
    """
    with _gc_lock:
        if _gc_state["pausers"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["pausers"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pausers"] -= 1
            if _gc_state["pausers"] == 0 and _gc_state["was_enabled"]:
                gc.enable()
