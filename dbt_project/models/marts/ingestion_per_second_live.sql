-- One row per second in which users landed, counting the users not built into incoming_users yet too:
-- ingestion_per_second plus int_incoming_users_pending per second (second = date_trunc('second', created_at)).
-- A filter on second (the panel's range) reaches both sides: the mart's unique index range, and the pending
-- users, at most the batch landed since the last build.

{{ config(materialized='view') }}

with

per_second as (

    select second, users_ingested from {{ ref('ingestion_per_second') }}
    union all
    select date_trunc('second', created_at) as second, count(*) as users_ingested
    from {{ ref('int_incoming_users_pending') }}
    group by 1

),

final as (

    select
        second,
        sum(users_ingested) as users_ingested

    from per_second
    group by second

)

select * from final
