{#- The body of the additive per-`grain` ingestion marts (ingestion_per_minute, ingestion_per_second): one row
    per `grain` ('minute' or 'second', also the column's name) in which users landed, with how many. The users
    synced since the last build are counted per `grain` and added to the rows held. -#}
{% macro ingestion_counts_per(grain) -%}

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
        date_trunc('{{ grain }}', created_at) as {{ grain }},
        count(*) as users_ingested

    from new_users
    group by 1

),

final as (

    select
        batch_counts.{{ grain }},
        batch_counts.users_ingested
        {% if is_incremental() %} + coalesce(held.users_ingested, 0) {% endif %} as users_ingested,
        {{ batch_timestamp() }} as updated_at

    from batch_counts
    {% if is_incremental() %}
        left join {{ this }} as held on held.{{ grain }} = batch_counts.{{ grain }}
    {% endif %}

)

select * from final

{%- endmacro %}


{#- The body of the live per-`grain` views (ingestion_per_minute_live, ingestion_per_second_live): the mart
    `built` plus the users not built into incoming_users yet (int_incoming_users_pending), per `grain`. -#}
{% macro ingestion_counts_per_live(grain, built) -%}

with

per_{{ grain }} as (

    select {{ grain }}, users_ingested from {{ built }}
    union all
    select date_trunc('{{ grain }}', created_at) as {{ grain }}, count(*) as users_ingested
    from {{ ref('int_incoming_users_pending') }}
    group by 1

),

final as (

    select
        {{ grain }},
        sum(users_ingested) as users_ingested

    from per_{{ grain }}
    group by {{ grain }}

)

select * from final

{%- endmacro %}
