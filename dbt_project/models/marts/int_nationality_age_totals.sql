-- One row per nationality: users, users with a known age and the sum of their ages, the additive state
-- behind users_by_nationality.average_age and kpis.average_age (an average cannot be added to; a sum and a
-- count can). The users synced since the last build are counted and added to the totals held.

{{
    config(
        unique_key='nationality',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[{'columns': ['nationality'], 'unique': True}],
    )
}}

{{ assert_upstream_not_rebuilt(ref('incoming_users')) }}

with

new_users as (

    select nationality, age from {{ ref('incoming_users') }}
    {% if is_incremental() %}
        where {{ synced_since_last_build() }}
    {% endif %}

),

batch_totals as (

    select
        coalesce(nationality, 'unknown') as nationality,
        count(*) as user_count,
        count(age) as aged_user_count,
        coalesce(sum(age), 0) as age_sum

    from new_users
    group by 1

),

final as (

    select
        batch_totals.nationality,
        batch_totals.user_count
        {% if is_incremental() %} + coalesce(held.user_count, 0) {% endif %} as user_count,
        batch_totals.aged_user_count
        {% if is_incremental() %} + coalesce(held.aged_user_count, 0) {% endif %} as aged_user_count,
        batch_totals.age_sum
        {% if is_incremental() %} + coalesce(held.age_sum, 0) {% endif %} as age_sum,
        {{ batch_timestamp() }} as updated_at

    from batch_totals
    {% if is_incremental() %}
        left join {{ this }} as held on held.nationality = batch_totals.nationality
    {% endif %}

)

select * from final
