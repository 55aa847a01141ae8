-- One row per user: the original system's public.incoming_users (29 columns, contract enforced).
-- Incremental: reads only raw rows fetched since the newest user held (minus late_arrival_window, through
-- raw.users' fetched_at index) and inserts the users it does not hold yet (primary-key lookups).

{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='user_id',
        pre_hook=["{{ lock_incremental_chain('writer') }}"],
        post_hook=[
            "{{ ensure_named_index(this, 'idx_incoming_users_created_at', 'created_at desc') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_created_at_user_id', 'created_at desc, user_id') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_country', 'country') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_gender', 'gender') }}",
            "{{ ensure_named_index(this, 'idx_incoming_users_synced_at', 'synced_at') }}",
            "{{ analyze_if_never_analyzed(this.schema ~ '.' ~ this.identifier) }}",
        ],
    )
}}

with

{% if is_incremental() %}
new_user_ids as (

    -- The raw rows of the window (an index range scan; its bound a literal, so the planner knows how few
    -- rows it holds) whose user is not held yet (primary-key probes). Keys only: no JSON is read here.
    select user_id from {{ ref('stg_randomuser__users') }} as staged
    where fetched_at >= (
            {{ timestamp_literal(query_value('select max(created_at) from ' ~ this)) }} at time zone 'UTC'
        ) - interval '{{ var("late_arrival_window") }}'
        and not exists (
            select 1 from {{ this }} as held
            where held.user_id = staged.user_id
        )

),
{% endif %}

staged as (

    -- Incremental: only the new users are flattened, fetched by raw.users' unique index on uuid (an array
    -- of keys, not a join, so the planner cannot choose to flatten the whole table and hash it).
    select * from {{ ref('stg_randomuser__users') }}
    where user_id is not null
    {% if is_incremental() %}
        and user_id = any(array(select user_id from new_user_ids))
    {% endif %}

),

renamed as (

    select {{ incoming_users_columns() }}
    from staged

),

not_yet_held as (

    -- One row per user_id (ids longer than 100 characters are cut, so two could meet): the first landed.
    select distinct on (user_id) *
    from renamed
    order by user_id, created_at

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
        {{ batch_timestamp() }} as synced_at

    from not_yet_held

)

select * from final
