-- One row per user: the original system's public.incoming_users (29 columns, contract enforced).
-- Incremental by a landing mark: reads only the raw rows landed (raw.users.landing_seq) after the mark of its last
-- build and up to the mark taken at the start of this run, in chunks of at most var backlog_chunk_rows rows, plus
-- the rows of loads that completed after the mark passed them (macros/landing_marks.sql).

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ lock_incremental_chain('writer') }}",
            "{{ plan_landing_chunks(full_refresh=not is_incremental()) }}",
        ],
        post_hook=[
            "{{ build_later_landing_chunks(sql) }}",
            "{{ finish_landing_chunks() }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_created_at', 'created_at desc') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_created_at_user_id', 'created_at desc, user_id') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_country', 'country') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_gender', 'gender') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_synced_at', 'synced_at') }}",
            "{{ analyze_if_never_analyzed(this.schema ~ '.' ~ this.identifier) }}",
            "{{ analyze_after_backlog(this) }}",
        ],
    )
}}

{%- set landed_after = built_through_literal() if is_incremental() else 0 %}

with

new_rows as (

    -- The rows of the current chunk (a range of raw.users' landing_seq index; its lower bound also a literal,
    -- so the planner knows how few rows it holds), not the whole window of a time mark: each row is read once.
    select * from {{ ref('stg_randomuser__users') }} as staged
    where {{ landing_chunk_filter(landed_after) }}

),

completed_late as (

    -- Chunk 1 also reads the rows of pending loads that have completed since (few loads, each an index range).
    {{ rows_of_listed_loads('staging.landing_pending_loads') }}
    where loads.reading and (select current_chunk from staging.landing_marks) = 1

),

staged as (

    select * from (
        select * from new_rows
        union all
        select * from completed_late
    ) as landed
    where user_id is not null
        and cardinality(failed_rules) = 0  -- a user breaking a rule is listed in ops.quarantined_users instead

),

renamed as not materialized (

    -- Not materialized: each use below reads the chunk itself (its filter pushed down), so the chunk is never
    -- held in a tuplestore that could spill to disk; only the rare cut ids are flattened by the second one.
    select
        {{ incoming_users_columns() }},
        length(user_id) > 100 as cut_id

    from staged

),

not_yet_held as (

    -- One row per user_id. raw.users' uuid is unique and each raw row is read once, so only ids longer than 100
    -- characters (cut) can meet: of those the first landed is kept, unless (incremental) one is held already.
    -- No sort of the other rows, so a chunk never spills to disk. (Two cut ids meeting in different chunks of a
    -- first build or full refresh fail it on the primary key rather than lose a user silently.)
    select * from renamed where not cut_id
    union all
    select * from (
        select distinct on (user_id) * from renamed
        where cut_id
        order by user_id, created_at
    ) as first_of_cut
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as held
        where held.user_id = first_of_cut.user_id
    )
    {% endif %}

),

final as (

    select
        user_id,
        gender,
        title,
        first_name,
        last_name,
        email,
        username,
        date_of_birth,
        age,
        phone,
        cell,
        street_number,
        street_name,
        city,
        state,
        country,
        postcode,
        latitude,
        longitude,
        timezone_offset,
        timezone_description,
        nationality,
        picture_large,
        picture_medium,
        picture_thumbnail,
        registered_date,
        registered_age,
        created_at,
        (select build_stamp from staging.landing_marks) as synced_at

    from not_yet_held

)

select * from final
