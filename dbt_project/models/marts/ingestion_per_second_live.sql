-- One row per second in which users landed, counting the users not built into incoming_users yet too:
-- ingestion_per_second plus int_incoming_users_pending per second (second = date_trunc('second', created_at)).
-- A filter on second (the panel's range) reaches both sides: the mart's unique index range, and the pending
-- users, at most the batch landed since the last build.

{{ config(materialized='view') }}

{{ ingestion_counts_per_live('second', ref('ingestion_per_second')) }}
