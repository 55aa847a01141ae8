{#-
    The typed, cut columns of public.incoming_users but synced_at, from a relation shaped like
    stg_randomuser__users: the one definition of that step of the flattening, used by incoming_users and by
    int_incoming_users_pending (the users landed since its last build, which the live views add).
-#}
{% macro incoming_users_columns() -%}
    {{ truncate_varchar('user_id', 100) }} as user_id,
    {{ truncate_varchar('gender', 20) }} as gender,
    {{ truncate_varchar('title', 20) }} as title,
    {{ truncate_varchar('first_name', 100) }} as first_name,
    {{ truncate_varchar('last_name', 100) }} as last_name,
    {{ truncate_varchar('email', 255) }} as email,
    {{ truncate_varchar('username', 100) }} as username,
    cast(date_of_birth as timestamp) as date_of_birth,
    cast(age as integer) as age,
    {{ truncate_varchar('phone', 50) }} as phone,
    {{ truncate_varchar('cell', 50) }} as cell,
    {{ truncate_varchar('street_number', 20) }} as street_number,
    {{ truncate_varchar('street_name', 255) }} as street_name,
    {{ truncate_varchar('city', 100) }} as city,
    {{ truncate_varchar('state', 100) }} as state,
    {{ truncate_varchar('country', 100) }} as country,
    {{ truncate_varchar('postcode', 20) }} as postcode,
    {{ truncate_varchar('latitude', 50) }} as latitude,
    {{ truncate_varchar('longitude', 50) }} as longitude,
    {{ truncate_varchar('timezone_offset', 20) }} as timezone_offset,
    {{ truncate_varchar('timezone_description', 255) }} as timezone_description,
    {{ truncate_varchar('nationality', 10) }} as nationality,
    cast(picture_large as text) as picture_large,
    cast(picture_medium as text) as picture_medium,
    cast(picture_thumbnail as text) as picture_thumbnail,
    cast(registered_date as timestamp) as registered_date,
    cast(registered_age as integer) as registered_age,
    cast(fetched_at_utc as timestamp) as created_at
{%- endmacro %}

{#- incoming_users' column names, comma-separated, in its order (read from the table at execution time). -#}
{% macro incoming_users_column_names() -%}
    {%- for column in adapter.get_columns_in_relation(ref('incoming_users')) -%}
        {{ adapter.quote(column.name) }}{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
