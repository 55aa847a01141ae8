-- Every user of raw.users is held by incoming_users or listed in ops.quarantined_users: returns a row when the
-- counts differ (e.g. rows of a load that did not complete, unseen by staging until it completes or the next
-- ingest takes them back; or rows landed after the build's landing mark, such as a stream's).
-- Index-only counts (the quarantine is small). A warning: the marts still build.

{{ config(severity='warn') }}

with

raw_users as (

    select count(*) as user_count from {{ source('randomuser', 'users') }}

),

held_users as (

    select count(*) as user_count from {{ ref('incoming_users') }}

),

quarantined_users as (

    select count(distinct user_id) as user_count from {{ ref('quarantined_users') }}

),

final as (

    select
        raw_users.user_count as raw_users,
        held_users.user_count as incoming_users,
        quarantined_users.user_count as quarantined_users

    from raw_users
    cross join held_users
    cross join quarantined_users
    where raw_users.user_count <> held_users.user_count + quarantined_users.user_count

)

select * from final
