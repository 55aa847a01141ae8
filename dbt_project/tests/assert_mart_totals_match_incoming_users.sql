-- Every additive mart must count every user of incoming_users exactly once: returns the marts whose total
-- differs from the table's row count. Incremental drift (a batch skipped or counted twice) fails here.

with

users as (

    select count(*) as user_count from {{ ref('incoming_users') }}

),

mart_totals as (

    select 'users_by_country' as mart, coalesce(sum(user_count), 0) as user_count
    from {{ ref('users_by_country') }}
    union all
    select 'users_by_gender', coalesce(sum(user_count), 0)
    from {{ ref('users_by_gender') }}
    union all
    select 'users_by_age_band', coalesce(sum(user_count), 0)
    from {{ ref('users_by_age_band') }}
    union all
    select 'users_by_nationality', coalesce(sum(user_count), 0)
    from {{ ref('users_by_nationality') }}
    union all
    select 'ingestion_per_minute', coalesce(sum(users_ingested), 0)
    from {{ ref('ingestion_per_minute') }}
    union all
    select 'ingestion_per_second', coalesce(sum(users_ingested), 0)
    from {{ ref('ingestion_per_second') }}
    union all
    select 'kpis', total_users
    from {{ ref('kpis') }}

),

final as (

    select
        mart_totals.mart,
        mart_totals.user_count as mart_total,
        users.user_count as incoming_users_total

    from mart_totals
    cross join users
    where mart_totals.user_count is distinct from users.user_count

)

select * from final
