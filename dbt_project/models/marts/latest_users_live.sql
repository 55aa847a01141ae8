-- The newest users landed (var latest_users_live of them), the ones not built into incoming_users yet
-- included: what the live "latest users" panel reads. Each side gives only its newest (incoming_users through
-- its created_at index; the pending users by key first), so only those few users are flattened.

{{ config(materialized='view') }}

with

held as (

    select * from {{ ref('incoming_users') }}
    order by created_at desc
    limit {{ var('latest_users_live') }}

),

newest_pending as (

    -- Keys first (sorting flattened rows would flatten every pending user to keep a few): landed_at is
    -- raw.users' fetched_at.
    select user_id from {{ ref('int_incoming_users_pending') }}
    order by landed_at desc
    limit {{ var('latest_users_live') }}

),

pending as (

    select {{ incoming_users_column_names() }}
    from {{ ref('int_incoming_users_pending') }}
    where user_id = any(array(select user_id from newest_pending))

),

final as (

    select * from held
    union all
    select * from pending
    order by created_at desc
    limit {{ var('latest_users_live') }}

)

select * from final
