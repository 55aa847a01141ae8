-- One row per raw user and quarantine rule it breaks (macros/quarantine_rules.sql): the users kept out of
-- incoming_users, the marts and the live views, with what the rule saw. They stay in raw.users.
-- Incremental, as incoming_users: reads only the raw rows fetched since the newest user held or quarantined
-- (minus late_arrival_window, through raw.users' fetched_at index), skips those held or already quarantined
-- (index probes), and evaluates the rules on the rest: per build, the cost of the batch.
-- depends_on: {{ ref('incoming_users') }}

{{
    config(
        incremental_strategy='append',
        pre_hook=["{{ lock_incremental_chain('reader') }}"],
        post_hook=[
            "{{ ensure_named_index(this, 'idx_quarantined_users_user_id', 'user_id') }}",
            "{{ ensure_named_index(this, 'idx_quarantined_users_load_id', '_dlt_load_id') }}",
            "{{ ensure_named_index(this, 'idx_quarantined_users_landed_at', 'landed_at') }}",
        ],
    )
}}

with

{% if is_incremental() %}
{%- set newest_seen = query_value(
    'select greatest((select max(created_at) from ' ~ ref('incoming_users') ~ '), '
    ~ '(select max(landed_at) from ' ~ this ~ '))'
) %}
{% endif %}

candidates as (

    -- Incremental: the window's raw rows (an index range scan, its bound a literal) neither held nor
    -- quarantined yet; only these have their rules evaluated.
    select user_id, payload, failed_rules, fetched_at, dlt_load_id
    from {{ ref('stg_randomuser__users') }} as staged
    where user_id is not null
    {% if is_incremental() %}
        and fetched_at >= ({{ timestamp_literal(newest_seen) }} at time zone 'UTC')
            - interval '{{ var("late_arrival_window") }}'
        and not exists (
            select 1 from {{ ref('incoming_users') }} as held
            where held.user_id = staged.user_id
        )
        and not exists (
            select 1 from {{ this }} as quarantined
            where quarantined.user_id = staged.user_id
        )
    {% endif %}

),

broken as (

    select candidates.*, failed.rule
    from candidates
    cross join lateral unnest(candidates.failed_rules) as failed(rule)

),

final as (

    select
        cast(user_id as text) as user_id,
        cast(rule as text) as rule,
        cast({{ quarantine_rule_detail('rule') }} as text) as detail,
        cast(dlt_load_id as text) as _dlt_load_id,
        cast(fetched_at at time zone 'UTC' as timestamp) as landed_at,
        {{ batch_timestamp() }} as quarantined_at

    from broken

)

select * from final
