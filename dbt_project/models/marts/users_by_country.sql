-- One row per country: how many users live there. Additive: the users synced since the last build are
-- counted and added to the counts held.

{{
    config(
        unique_key='country',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[{'columns': ['country'], 'unique': True}],
    )
}}

{{ assert_upstream_not_rebuilt(ref('incoming_users')) }}

with

new_users as (

    select country from {{ ref('incoming_users') }}
    {% if is_incremental() %}
        where {{ synced_since_last_build() }}
    {% endif %}

),

batch_counts as (

    select
        coalesce(country, 'unknown') as country,
        count(*) as user_count

    from new_users
    group by 1

),

final as (

    select
        batch_counts.country,
        batch_counts.user_count
        {% if is_incremental() %} + coalesce(held.user_count, 0) {% endif %} as user_count,
        {{ batch_timestamp() }} as updated_at

    from batch_counts
    {% if is_incremental() %}
        left join {{ this }} as held on held.country = batch_counts.country
    {% endif %}

)

select * from final
