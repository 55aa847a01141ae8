-- One row per minute in which users landed, counting the users not built into incoming_users yet too:
-- ingestion_per_minute plus int_incoming_users_pending per minute (minute = date_trunc('minute', created_at)).

{{ config(materialized='view') }}

{{ ingestion_counts_per_live('minute', ref('ingestion_per_minute')) }}
