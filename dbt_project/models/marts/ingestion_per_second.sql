-- One row per second in which users landed (second = date_trunc('second', created_at)): how many.
-- Additive: the users synced since the last build are counted per second and added to the seconds held.
-- What the "Users per Second" panel reads (through ingestion_per_second_live): a row per second of its range,
-- not every user of it (at 100,000 users a minute, 5 minutes were 500,000 rows to count per refresh).

{{
    config(
        unique_key='second',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[
            {'columns': ['second'], 'unique': True},
            {'columns': ['updated_at']},
        ],
    )
}}

{{ assert_upstream_not_rebuilt(ref('incoming_users')) }}

with

new_users as (

    select created_at from {{ ref('incoming_users') }}
    {% if is_incremental() %}
        where {{ synced_since_last_build() }}
    {% endif %}

),

batch_counts as (

    select
        date_trunc('second', created_at) as second,
        count(*) as users_ingested

    from new_users
    group by 1

),

final as (

    select
        batch_counts.second,
        batch_counts.users_ingested
        {% if is_incremental() %} + coalesce(held.users_ingested, 0) {% endif %} as users_ingested,
        {{ batch_timestamp() }} as updated_at

    from batch_counts
    {% if is_incremental() %}
        left join {{ this }} as held on held.second = batch_counts.second
    {% endif %}

)

select * from final
