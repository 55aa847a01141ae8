-- One row: kpis' headline numbers counting the users not built into incoming_users yet too (streamed users
-- within a second of their commit). Reads the small marts, int_incoming_users_pending, and the newest minute
-- of incoming_users_live.

{{ config(materialized='view') }}

with

pending as (

    -- One pass over the users not built yet.
    select
        count(*) as user_count,
        count(age) as aged_user_count,
        coalesce(sum(age), 0) as age_sum,
        max(created_at) as last_landed_at,
        count(*) filter (where created_at > (now() at time zone 'UTC') - interval '1 minute') as last_minute,
        array_agg(distinct country) filter (where country <> 'unknown') as countries

    from {{ ref('int_incoming_users_pending') }}

),

totals as (

    select
        sum(user_count) as user_count,
        sum(aged_user_count) as aged_user_count,
        sum(age_sum) as age_sum

    from {{ ref('int_nationality_age_totals') }}

),

countries as (

    select count(*) as unique_countries
    from (
        select country from {{ ref('users_by_country') }}
        where country <> 'unknown' and user_count > 0
        union
        select unnest(pending.countries) from pending
    ) as known

),

clock as (

    select cast(now() at time zone 'UTC' as timestamp) as computed_at

),

held as (

    select
        (select max(created_at) from {{ ref('incoming_users') }}) as last_landed_at,
        (
            -- now() is known when planning (unlike a subquery): an index range scan of the last minute
            select count(*) from {{ ref('incoming_users') }}
            where created_at > (now() at time zone 'UTC') - interval '1 minute'
        ) as last_minute

),

final as (

    select
        coalesce(totals.user_count, 0) + pending.user_count as total_users,
        held.last_minute + pending.last_minute as users_last_minute,
        countries.unique_countries,
        round(
            (coalesce(totals.age_sum, 0) + pending.age_sum)
            / nullif(coalesce(totals.aged_user_count, 0) + pending.aged_user_count, 0)::numeric, 2
        ) as average_age,
        greatest(held.last_landed_at, pending.last_landed_at) as last_landed_at,
        extract(epoch from clock.computed_at - greatest(held.last_landed_at, pending.last_landed_at))
            as freshness_lag_seconds,
        clock.computed_at

    from totals
    cross join pending
    cross join countries
    cross join clock
    cross join held

)

select * from final
