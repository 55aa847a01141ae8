-- One row per second in which users landed (second = date_trunc('second', created_at)): how many.
-- Additive: the users synced since the last build are counted per second and added to the seconds held.
-- What the "Users per Second" panel reads (through ingestion_per_second_live): a row per second of its range,
-- not every user of it (at 100,000 users a minute, 5 minutes were 500,000 rows to count per refresh).

{{
    config(
        unique_key='second',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[
            {'columns': ['second'], 'unique': True},
            {'columns': ['updated_at']},
        ],
    )
}}

{{ ingestion_counts_per('second') }}
