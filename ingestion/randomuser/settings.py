"""Constants of the randomuser source: limits, nationalities, retry policy, table and column names."""

from __future__ import annotations

# randomuser 1.4's `nat` codes, upper case: one list, the API's (re-exported)
from randomuser_api.nationalities import NATIONALITIES as NATIONALITIES

SOURCE_NAME = "randomuser"
TABLE_NAME = "users"
PIPELINE_NAME = "userpipe_randomuser"
DATASET_NAME = "raw"

MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 100_000
MAX_PAGE_SIZE = 5000  # randomuser answers at most 5000 results per request
MAX_PAGE = 10_000  # randomuser's highest page number

# Size limits (bytes; `limits.Limits`, set by USERPIPE_MAX_USER_BYTES / USERPIPE_MAX_PAGE_BYTES). A randomuser 1.4
# user is ~1-2 KB of JSON and a 5000-user page ~5-6 MB: 64 KiB a user and 64 MiB a page leave 30x and 10x margin,
# while keeping a page's bytes and their copies while parsing (~3x) far below the memory of a small worker.
MAX_USER_BYTES = 64 * 1024
MAX_PAGE_BYTES = 64 * 1024 * 1024


# login.* fields that never land anywhere (payload, columns, dlt's files)
CREDENTIAL_FIELDS: tuple[str, ...] = ("password", "salt", "md5", "sha1", "sha256")

SEED_ALPHABET = "abcdef0123456789"
SEED_LENGTH = 16

# HTTP: bounded retries, so a failing API ends in an error within seconds
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 20.0  # a 5000-user page of the public API can take a few seconds
MAX_ATTEMPTS = 4  # first try + 3 retries on 429, 5xx, connection errors and timeouts
BACKOFF_FACTOR = 0.5  # waits 0.5, 1, 2 s (or Retry-After)
MAX_RETRY_DELAY_SECONDS = 5.0  # Retry-After is honoured up to this many seconds
# a batch's pages must be fetched within this many seconds, retries included (`userpipe ingest`'s default;
# `userpipe run` derives its own from the cron interval)
BATCH_TIME_LIMIT_SECONDS = 300.0

# pages fetched, parsed and written at once, in worker processes (1 = inline)
FETCH_WORKERS = 2
# temporary folder (under dlt's pipelines dir) of a batch's page files; a killed run's is removed at the next start
PAGE_FOLDER_PREFIX = "randomuser-pages-"
# files per batch handed to dlt: enough to COPY in parallel, few enough to keep dlt's per-file work small
LOAD_FILES = 2

# dlt state key (source state) remembering where the stream of users continues
STREAM_STATE_KEY = "stream"

# loaded load packages kept in dlt's working dir (older ones are deleted after each successful batch)
LOADED_PACKAGES_KEPT = 20
