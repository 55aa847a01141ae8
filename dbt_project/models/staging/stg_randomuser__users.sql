-- One row per landed user: the JSON payload flattened into typed, trimmed columns.
-- Every field is read with ->>/#>> and cast safely, so a missing, extra or malformed field yields null,
-- never an error. Kept a projection of raw.users (rows of completed loads) so filters on landing_seq or fetched_at
-- reach their indexes. failed_rules names the quarantine rules the raw JSON breaks (macros/quarantine_rules.sql):
-- a view, so they are evaluated only for the rows a model reads (the new ones).

with

source as (

    -- Rows of completed loads only: a load killed or failed half way leaves rows under a load id that never
    -- reaches _dlt_loads (until the next ingest takes them back). A semi-join on the small loads table, after
    -- any filter on fetched_at or uuid has used raw.users' indexes.
    select * from {{ source('randomuser', 'users') }} as users
    where exists (
        select 1 from {{ source('randomuser', '_dlt_loads') }} as loads
        where loads.load_id = users._dlt_load_id and loads.status = 0
    )
    and pg_column_size(users.payload) <= {{ env_var('USERPIPE_MAX_USER_BYTES', '65536') | int(65536) }}  -- oversized (#13.4)

),

renamed as (

    select
        uuid,
        landing_seq,
        fetched_at,
        request_seed,
        request_page,
        api_version,
        _dlt_load_id,
        payload,
        {{ quarantine_failed_rules('payload') }} as failed_rules,
        payload ->> 'gender' as gender,
        payload #>> '{name,title}' as title,
        payload #>> '{name,first}' as first_name,
        payload #>> '{name,last}' as last_name,
        payload ->> 'email' as email,
        payload #>> '{login,username}' as username,
        payload #>> '{dob,date}' as date_of_birth,
        payload #>> '{dob,age}' as age,
        payload ->> 'phone' as phone,
        payload ->> 'cell' as cell,
        payload #>> '{location,street,number}' as street_number,
        payload #>> '{location,street,name}' as street_name,
        payload #>> '{location,city}' as city,
        payload #>> '{location,state}' as state,
        payload #>> '{location,country}' as country,
        payload #>> '{location,postcode}' as postcode,
        payload #>> '{location,coordinates,latitude}' as latitude,
        payload #>> '{location,coordinates,longitude}' as longitude,
        payload #>> '{location,timezone,offset}' as timezone_offset,
        payload #>> '{location,timezone,description}' as timezone_description,
        payload ->> 'nat' as nationality,
        payload #>> '{picture,large}' as picture_large,
        payload #>> '{picture,medium}' as picture_medium,
        payload #>> '{picture,thumbnail}' as picture_thumbnail,
        payload #>> '{registered,date}' as registered_date,
        payload #>> '{registered,age}' as registered_age,
        payload #>> '{id,name}' as id_name,
        payload #>> '{id,value}' as id_value

    from source

),

final as (

    select
        uuid as user_id,
        lower({{ clean_text('gender') }}) as gender,
        {{ clean_text('title') }} as title,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('username') }} as username,
        {{ safe_cast_timestamp(clean_text('date_of_birth')) }} as date_of_birth,
        {{ safe_cast_int(clean_text('age')) }} as age,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('cell') }} as cell,
        {{ clean_text('street_number') }} as street_number,
        {{ clean_text('street_name') }} as street_name,
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('country') }} as country,
        {{ clean_text('postcode') }} as postcode,
        {{ clean_text('latitude') }} as latitude,
        {{ clean_text('longitude') }} as longitude,
        {{ clean_text('timezone_offset') }} as timezone_offset,
        {{ clean_text('timezone_description') }} as timezone_description,
        upper({{ clean_text('nationality') }}) as nationality,
        {{ clean_text('picture_large') }} as picture_large,
        {{ clean_text('picture_medium') }} as picture_medium,
        {{ clean_text('picture_thumbnail') }} as picture_thumbnail,
        {{ safe_cast_timestamp(clean_text('registered_date')) }} as registered_date,
        {{ safe_cast_int(clean_text('registered_age')) }} as registered_age,
        {{ clean_text('id_name') }} as id_name,
        {{ clean_text('id_value') }} as id_value,
        landing_seq,
        fetched_at,
        fetched_at at time zone 'UTC' as fetched_at_utc,
        request_seed,
        request_page,
        api_version,
        _dlt_load_id as dlt_load_id,
        payload,
        failed_rules

    from renamed

)

select * from final
