-- One row: the headline numbers. A view, so "last minute" and freshness are live at every read; it reads
-- the small marts plus an index range scan of incoming_users (newest created_at, users of the last minute).

{{ config(materialized='view') }}

with

totals as (

    select
        sum(user_count) as total_users,
        sum(age_sum) / nullif(sum(aged_user_count), 0)::numeric as average_age

    from {{ ref('int_nationality_age_totals') }}

),

countries as (

    select count(*) as unique_countries
    from {{ ref('users_by_country') }}
    where country <> 'unknown' and user_count > 0

),

clock as (

    select cast(now() at time zone 'UTC' as timestamp) as computed_at

),

latest as (

    select
        (select max(created_at) from {{ ref('incoming_users') }}) as last_landed_at,
        (
            -- now() is known when planning (unlike a subquery): an index range scan of the last minute
            select count(*) from {{ ref('incoming_users') }}
            where created_at > (now() at time zone 'UTC') - interval '1 minute'
        ) as users_last_minute

),

final as (

    select
        coalesce(totals.total_users, 0) as total_users,
        latest.users_last_minute,
        countries.unique_countries,
        round(totals.average_age, 2) as average_age,
        latest.last_landed_at,
        extract(epoch from clock.computed_at - latest.last_landed_at) as freshness_lag_seconds,
        clock.computed_at

    from totals
    cross join countries
    cross join clock
    cross join latest

)

select * from final
