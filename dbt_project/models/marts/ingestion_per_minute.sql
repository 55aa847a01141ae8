-- One row per minute in which users landed (minute = date_trunc('minute', created_at)): how many.
-- Additive: the users synced since the last build are counted per minute and added to the minutes held.

{{
    config(
        unique_key='minute',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[
            {'columns': ['minute'], 'unique': True},
            {'columns': ['updated_at']},
        ],
    )
}}

{{ ingestion_counts_per('minute') }}
