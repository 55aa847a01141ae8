-- One row per user landed in raw.users but not built into incoming_users yet (streamed since the last build,
-- or a batch not built yet), in incoming_users' columns (synced_at null) plus landed_at (raw fetched_at, whose
-- index gives the newest first cheaply): what the live views add.
-- A view rebuilt by every dbt build, its landing mark a literal taken then (the mark incoming_users was built
-- through), so the planner reads only raw.users' landing_seq index range since that build, and probes
-- incoming_users' primary key (rows a later build of incoming_users alone holds already).

{{ config(materialized='view') }}

{%- set built_through = built_through_literal() %}

with

staged as (

    -- The raw rows landed after the mark (an index range scan) that incoming_users does not hold (primary-key
    -- probes). A plain projection of raw.users: a query reading a few columns flattens only those.
    select * from {{ ref('stg_randomuser__users') }} as staged
    where landing_seq > {{ built_through }}
        and user_id is not null
        and cardinality(failed_rules) = 0  -- quarantined users are not shown (ops.quarantined_users)
        and not exists (
            select 1 from {{ ref('incoming_users') }} as held
            where held.user_id = staged.user_id
        )

),

renamed as (

    select
        {{ incoming_users_columns() }},
        fetched_at as landed_at

    from staged

),

final as (

    -- raw.users' uuid is unique, so is user_id here (incoming_users also cuts ids to 100 characters and keeps
    -- the first of two that would then meet; uuids are 36).
    select
        *,
        cast(null as timestamp) as synced_at

    from renamed

)

select * from final
