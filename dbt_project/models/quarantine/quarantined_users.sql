-- One row per raw user and quarantine rule it breaks (macros/quarantine_rules.sql): the users kept out of
-- incoming_users, the marts and the live views, with what the rule saw. They stay in raw.users.
-- Incremental by the landing mark, after incoming_users: reads the raw rows incoming_users has passed since this
-- model's own mark (staging.quarantine_marks, through raw.users' landing_seq index) but those of loads still
-- pending, plus the pending loads incoming_users has read since (staging.landing_read_loads); skips the users
-- incoming_users holds and those already quarantined (index probes) and evaluates the rules on the rest only.
-- depends_on: {{ ref('incoming_users') }}

{{
    config(
        incremental_strategy='append',
        pre_hook=["{{ lock_incremental_chain('reader') }}"],
        post_hook=[
            "update staging.quarantine_marks set evaluated_through = (select built_through from staging.landing_marks)",
            "delete from staging.landing_read_loads",
            "{{ ensure_named_index(this, 'idx_quarantined_users_user_id', 'user_id') }}",
            "{{ ensure_named_index(this, 'idx_quarantined_users_load_id', '_dlt_load_id') }}",
            "{{ ensure_named_index(this, 'idx_quarantined_users_landed_at', 'landed_at') }}",
        ],
    )
}}

with

{%- set evaluated_after = query_value('select evaluated_through from staging.quarantine_marks')
    if is_incremental() else 0 %}

passed as (

    -- The rows incoming_users has passed since this model's mark (a landing_seq index range; its lower bound a
    -- literal, so the planner knows how few rows it holds), but those of loads still pending.
    select * from {{ ref('stg_randomuser__users') }} as staged
    where staged.landing_seq > {{ evaluated_after or 0 }}
        and staged.landing_seq <= (select built_through from staging.landing_marks)
        and not exists (
            select 1 from staging.landing_pending_loads as pending
            where pending.load_id = staged.dlt_load_id
        )

),

read_late as (

    -- The rows of pending loads incoming_users has read since (few loads, each an index range).
    {{ rows_of_listed_loads('staging.landing_read_loads') }}

),

candidates as (

    -- Only these have their rules evaluated; a user already quarantined is not listed again. Incremental: nor is
    -- a raw row incoming_users holds. Its user_id is this raw row's uuid when shorter than 100 characters (longer
    -- ones are cut to 100, so they are evaluated), and raw.users' uuid is unique: the held row is this one, which
    -- passed the rules when it was built (a full refresh evaluates every row, as a changed rule needs). The probe
    -- is a primary-key lookup per row (`offset 0` keeps it one: never a hash of all of incoming_users) instead of
    -- the 25 rules. The rules are evaluated last, on what is left (not in the union's projection).
    select user_id, payload, fetched_at, dlt_load_id
    from (
        select user_id, payload, fetched_at, dlt_load_id from passed
        union all
        select user_id, payload, fetched_at, dlt_load_id from read_late
    ) as staged
    where user_id is not null
    {% if is_incremental() %}
        and not exists (
            select 1 from {{ ref('incoming_users') }} as held
            where held.user_id = staged.user_id and length(staged.user_id) < 100
            offset 0
        )
        and not exists (
            select 1 from {{ this }} as quarantined
            where quarantined.user_id = staged.user_id
        )
    {% endif %}

),

broken as (

    -- the rules of stg_randomuser__users.failed_rules (the same macro on the same raw JSON)
    select candidates.*, failed.rule
    from candidates
    cross join lateral unnest({{ quarantine_failed_rules('candidates.payload') }}) as failed(rule)

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
