-- One row per minute in which users landed, counting the users not built into incoming_users yet too:
-- ingestion_per_minute plus int_incoming_users_pending per minute (minute = date_trunc('minute', created_at)).

{{ config(materialized='view') }}

with

per_minute as (

    select minute, users_ingested from {{ ref('ingestion_per_minute') }}
    union all
    select date_trunc('minute', created_at) as minute, count(*) as users_ingested
    from {{ ref('int_incoming_users_pending') }}
    group by 1

),

final as (

    select
        minute,
        sum(users_ingested) as users_ingested

    from per_minute
    group by minute

)

select * from final
