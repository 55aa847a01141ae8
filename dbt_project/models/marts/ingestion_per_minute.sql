-- One row per minute in which users landed (minute = date_trunc('minute', created_at)): how many.
-- Additive: the users synced since the last build are counted per minute and added to the minutes held.

{{
    config(
        unique_key='minute',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[
            {'columns': ['minute'], 'unique': True},
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
        date_trunc('minute', created_at) as minute,
        count(*) as users_ingested

    from new_users
    group by 1

),

final as (

    select
        batch_counts.minute,
        batch_counts.users_ingested
        {% if is_incremental() %} + coalesce(held.users_ingested, 0) {% endif %} as users_ingested,
        {{ batch_timestamp() }} as updated_at

    from batch_counts
    {% if is_incremental() %}
        left join {{ this }} as held on held.minute = batch_counts.minute
    {% endif %}

)

select * from final
