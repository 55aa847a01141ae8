"""The expectations, as data: suite name -> checks. GX objects are built from them in `quality.context`.

Each check has a stable name (`<suite>.<check>` is its `check_name` in ops.check_results), the GX 1.x
expectation class that implements it, that class's arguments, and a one-line note shown in the data docs.
Derived columns (`latitude_value`, `age_minus_dob_years`, `credential_keys`, `unique_key`...) are computed by
the SQL in `quality.batch`, which reads only the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from randomuser_api.nationalities import NATIONALITIES  # randomuser 1.4's `nat` codes: one list, the API's

GENDERS = ("male", "female")
CREDENTIAL_PATTERN = r"(?i)(?:password|salt|md5|sha1|sha256)"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
NUMBER_PATTERN = r"^\s*[-+]?[0-9]+(?:\.[0-9]+)?\s*$"
HTTP_URL_PATTERN = r"^https?://[^\s/]+\S*$"
AGE_TOLERANCE_YEARS = 1

INCOMING_USERS_BATCH = "incoming_users_batch"
RAW_USERS_BATCH = "raw_users_batch"
INGESTION_COUNT = "ingestion_count"
WAREHOUSE_CATALOG = "warehouse_catalog"
QUARANTINE = "quarantine"  # the prefix of the quarantine checks (quality.quarantine), not a GX suite

# Expectation parameters filled in per run (GX `{"$PARAMETER": name}`).
EXPECTED_ROWS = "expected_rows"
LANDED_ROWS = "landed_rows"


@dataclass(frozen=True)
class Check:
    """One expectation: `expectation` is a class in `great_expectations.expectations`."""

    name: str
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


# The quarantine rules of dbt_project/macros/quarantine_rules.sql, in its order (tests/quality keeps both equal):
# rule -> what a user breaking it sent. A user breaking any is kept out of incoming_users and the marts and listed
# in ops.quarantined_users; check `quarantine.<rule>` (quality.quarantine) fails with the count of the batch's
# users breaking it.
QUARANTINE_RULES: dict[str, str] = {
    "user_id_not_uuid": "login.uuid is not a UUID",
    "gender_invalid": 'gender is not "male" or "female"',
    "name_missing": "name.title, name.first or name.last is missing or not a string",
    "email_missing": "email is missing or not a string",
    "email_invalid": "email does not look like local@domain.tld",
    "username_missing": "login.username is missing or not a string",
    "date_of_birth_not_date": "dob.date is missing or not an ISO-8601 date",
    "age_not_integer": "dob.age is missing or not a JSON integer",
    "age_out_of_range": "dob.age is outside 0..120",
    "phone_missing": "phone is missing or not a string",
    "cell_missing": "cell is missing or not a string",
    "location_missing": "location is missing or not an object",
    "street_missing": "location.street.number (number or string) or .name (string) is missing",
    "city_missing": "location.city is missing or not a string",
    "state_missing": "location.state is missing or not a string",
    "country_missing": "location.country is missing or not a string",
    "postcode_not_scalar": "location.postcode is missing or not a string or number",
    "latitude_invalid": "location.coordinates.latitude is not a number in -90..90",
    "longitude_invalid": "location.coordinates.longitude is not a number in -180..180",
    "timezone_missing": "location.timezone.offset or .description is missing or not a string",
    "nationality_invalid": "nat is not one of randomuser's 21 codes",
    "picture_missing": "picture.large, .medium or .thumbnail is missing or not a string",
    "picture_not_url": "a picture is not an http(s) URL",
    "registered_date_not_date": "registered.date is missing or not an ISO-8601 date",
    "registered_age_not_integer": "registered.age is missing or not a JSON integer",
}


def _url_check(size: str) -> Check:
    column = f"picture_{size}"
    return Check(f"{column}_is_http_url", "ExpectColumnValuesToMatchRegex",
                 {"column": column, "regex": HTTP_URL_PATTERN}, f"{column} is an http(s) URL.")


SUITES: dict[str, tuple[Check, ...]] = {
    # public.incoming_users rows of the batch: the users this load added to raw.users.
    INCOMING_USERS_BATCH: (
        Check("all_landed_users_modelled", "ExpectTableRowCountToEqual", {"value": {"$PARAMETER": LANDED_ROWS}},
              "Every user the load added to raw.users is in incoming_users, but those quarantined."),
        Check("user_id_not_null", "ExpectColumnValuesToNotBeNull", {"column": "user_id"}, "user_id is set."),
        Check("user_id_is_uuid", "ExpectColumnValuesToMatchRegex", {"column": "user_id", "regex": UUID_PATTERN},
              "user_id is a UUID (login.uuid)."),
        Check("user_id_unique", "ExpectColumnValuesToBeUnique", {"column": "user_id"},
              "No user twice in the batch."),
        Check("email_well_formed", "ExpectColumnValuesToMatchRegex", {"column": "email", "regex": EMAIL_PATTERN},
              "email looks like local@domain.tld."),
        Check("gender_known", "ExpectColumnValuesToBeInSet", {"column": "gender", "value_set": list(GENDERS)},
              "gender is male or female."),
        Check("nationality_known", "ExpectColumnValuesToBeInSet",
              {"column": "nationality", "value_set": list(NATIONALITIES)},
              "nationality is one of the 21 randomuser codes."),
        Check("date_of_birth_not_null", "ExpectColumnValuesToNotBeNull", {"column": "date_of_birth"},
              "date_of_birth is set."),
        Check("age_in_range", "ExpectColumnValuesToBeBetween", {"column": "age", "min_value": 0, "max_value": 120},
              "age is 0..120."),
        Check("age_matches_date_of_birth", "ExpectColumnValuesToBeBetween",
              {"column": "age_minus_dob_years", "min_value": -AGE_TOLERANCE_YEARS, "max_value": AGE_TOLERANCE_YEARS},
              "age is the years from date_of_birth to created_at, give or take one."),
        Check("registered_after_birth", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "registered_date", "column_B": "date_of_birth", "or_equal": False},
              "registered_date is after date_of_birth."),
        Check("latitude_is_number", "ExpectColumnValuesToMatchRegex",
              {"column": "latitude", "regex": NUMBER_PATTERN}, "latitude text parses as a number."),
        Check("latitude_in_range", "ExpectColumnValuesToBeBetween",
              {"column": "latitude_value", "min_value": -90, "max_value": 90}, "latitude is -90..90."),
        Check("longitude_is_number", "ExpectColumnValuesToMatchRegex",
              {"column": "longitude", "regex": NUMBER_PATTERN}, "longitude text parses as a number."),
        Check("longitude_in_range", "ExpectColumnValuesToBeBetween",
              {"column": "longitude_value", "min_value": -180, "max_value": 180}, "longitude is -180..180."),
        _url_check("large"),
        _url_check("medium"),
        _url_check("thumbnail"),
    ),
    # raw.users rows of the batch (`_dlt_load_id` = the load).
    RAW_USERS_BATCH: (
        Check("uuid_unique", "ExpectColumnValuesToBeUnique", {"column": "uuid"}, "No uuid twice in the load."),
        Check("no_credentials_in_payload", "ExpectColumnValuesToBeNull", {"column": "credential_keys"},
              "No payload key, at any depth, looks like a credential (password, salt, md5, sha1, sha256)."),
    ),
    # Only when the caller says how many users ingestion added.
    INGESTION_COUNT: (
        Check("batch_rows_match_ingestion", "ExpectTableRowCountToEqual", {"value": {"$PARAMETER": EXPECTED_ROWS}},
              "raw.users holds as many rows of the load as ingestion reported new."),
    ),
    # Catalog facts about the whole tables (cheap: no table scan).
    WAREHOUSE_CATALOG: (
        Check("no_credential_columns", "ExpectColumnValuesToNotMatchRegex",
              {"column": "column_name", "regex": CREDENTIAL_PATTERN},
              "No column of incoming_users or raw.users looks like a credential."),
        Check("incoming_users_user_id_unique_key", "ExpectColumnDistinctValuesToContainSet",
              {"column": "unique_key", "value_set": ["public.incoming_users.user_id"]},
              "A unique index on incoming_users.user_id keeps user_id unique across the whole table."),
    ),
}

