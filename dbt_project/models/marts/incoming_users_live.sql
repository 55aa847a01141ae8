-- One row per user landed so far: public.incoming_users plus the users landed since its last build
-- (int_incoming_users_pending), same 29 columns. What the live panels read: a streamed user is here as soon as
-- its row is committed in raw.users, while the flattening stays the one of incoming_users (a shared macro).

{{ config(materialized='view') }}

with

held as (

    select * from {{ ref('incoming_users') }}

),

pending as (

    select {{ incoming_users_column_names() }}
    from {{ ref('int_incoming_users_pending') }}

),

final as (

    select * from held
    union all
    select * from pending

)

select * from final
