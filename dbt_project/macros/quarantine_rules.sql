{#-
    The quarantine rules: what a raw user's JSON (randomuser API 1.4) must hold for incoming_users' 29 columns
    to mean what the marts expect. A user breaking any rule stays in raw.users, is listed in
    ops.quarantined_users (one row per rule it breaks) and is kept out of incoming_users, the marts and the live
    views. Evaluated on the raw JSON (jsonb_typeof, the text the column would get), never on the flattened
    value, where a missing field and a null look alike.

    Each rule: `name` (stable: ops.quarantined_users.rule, and the gate's check `quarantine.<name>`, whose list
    is quality/suite.py QUARANTINE_RULES; a test keeps both equal), `path` (what `detail` shows), `ok` (a SQL
    condition on `payload`, never null, true when the user keeps the rule). Rules under `location` hold only
    when location is an object, so a missing location is one rule, not nine.
-#}
{% macro quarantine_rules(p='payload') %}
    {%- set location = "coalesce(jsonb_typeof(" ~ p ~ " -> 'location') = 'object', false)" -%}
    {%- set rules = [
        {'name': 'user_id_not_uuid', 'path': 'login,uuid', 'ok': _q_uuid(p, 'login,uuid')},
        {'name': 'gender_invalid', 'path': 'gender',
         'ok': _q_string_in(p, 'gender', "lower", ['male', 'female'])},
        {'name': 'name_missing', 'path': 'name',
         'ok': _q_all_of_type(p, ['name,title', 'name,first', 'name,last'], ['string'])},
        {'name': 'email_missing', 'path': 'email',
         'ok': _q_all_of_type(p, ['email'], ['string'])},
        {'name': 'email_invalid', 'path': 'email',
         'ok': "(not " ~ _q_all_of_type(p, ['email'], ['string']) ~ " or coalesce(lower(" ~ clean_text(p ~ " ->> 'email'") ~ ") ~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$', false))"},
        {'name': 'username_missing', 'path': 'login,username',
         'ok': _q_all_of_type(p, ['login,username'], ['string'])},
        {'name': 'date_of_birth_not_date', 'path': 'dob,date', 'ok': _q_date(p, 'dob,date')},
        {'name': 'age_not_integer', 'path': 'dob,age', 'ok': _q_integer(p, 'dob,age')},
        {'name': 'age_out_of_range', 'path': 'dob,age', 'ok': _q_integer_between(p, 'dob,age', 0, 120)},
        {'name': 'phone_missing', 'path': 'phone', 'ok': _q_all_of_type(p, ['phone'], ['string'])},
        {'name': 'cell_missing', 'path': 'cell', 'ok': _q_all_of_type(p, ['cell'], ['string'])},
        {'name': 'location_missing', 'path': 'location', 'ok': location},
        {'name': 'street_missing', 'path': 'location,street',
         'ok': _q_under(location, _q_all_of_type(p, ['location,street,number'], ['number', 'string'])
                                  ~ " and " ~ _q_all_of_type(p, ['location,street,name'], ['string']))},
        {'name': 'city_missing', 'path': 'location,city',
         'ok': _q_under(location, _q_all_of_type(p, ['location,city'], ['string']))},
        {'name': 'state_missing', 'path': 'location,state',
         'ok': _q_under(location, _q_all_of_type(p, ['location,state'], ['string']))},
        {'name': 'country_missing', 'path': 'location,country',
         'ok': _q_under(location, _q_all_of_type(p, ['location,country'], ['string']))},
        {'name': 'postcode_not_scalar', 'path': 'location,postcode',
         'ok': _q_under(location, _q_all_of_type(p, ['location,postcode'], ['string', 'number']))},
        {'name': 'latitude_invalid', 'path': 'location,coordinates,latitude',
         'ok': _q_under(location, _q_number_between(p, 'location,coordinates,latitude', -90, 90))},
        {'name': 'longitude_invalid', 'path': 'location,coordinates,longitude',
         'ok': _q_under(location, _q_number_between(p, 'location,coordinates,longitude', -180, 180))},
        {'name': 'timezone_missing', 'path': 'location,timezone',
         'ok': _q_under(location, _q_all_of_type(p, ['location,timezone,offset', 'location,timezone,description'], ['string']))},
        {'name': 'nationality_invalid', 'path': 'nat',
         'ok': _q_string_in(p, 'nat', "upper", var('nationalities'))},
        {'name': 'picture_missing', 'path': 'picture',
         'ok': _q_all_of_type(p, ['picture,large', 'picture,medium', 'picture,thumbnail'], ['string'])},
        {'name': 'picture_not_url', 'path': 'picture',
         'ok': _q_urls(p, ['picture,large', 'picture,medium', 'picture,thumbnail'])},
        {'name': 'registered_date_not_date', 'path': 'registered,date', 'ok': _q_date(p, 'registered,date')},
        {'name': 'registered_age_not_integer', 'path': 'registered,age', 'ok': _q_integer(p, 'registered,age')},
    ] -%}
    {%- do return(rules) -%}
{% endmacro %}

{#- The names of the rules `payload` breaks, in rule order (an empty array for a clean user). -#}
{% macro quarantine_failed_rules(p='payload') -%}
    array_remove(array[
        {%- for rule in quarantine_rules(p) %}
        case when not ({{ rule.ok }}) then '{{ rule.name }}' end{{ "," if not loop.last }}
        {%- endfor %}
    ]::text[], null)
{%- endmacro %}

{#- What the user holds where rule `rule_column` looks: "<path>: <JSON value, cut>" or "<path>: absent". -#}
{% macro quarantine_rule_detail(rule_column, p='payload') -%}
    case {{ rule_column }}
        {%- for rule in quarantine_rules(p) %}
        when '{{ rule.name }}' then '{{ rule.path | replace(",", ".") }}: '
            || coalesce(left(cast({{ p }} #> '{ {{- rule.path -}} }' as text), 200), 'absent')
        {%- endfor %}
    end
{%- endmacro %}

{#- helpers: each gives a condition that is never null -#}

{% macro _q_all_of_type(p, paths, types) -%}
    {%- set checks = [] -%}
    {%- for path in paths -%}
        {%- do checks.append("coalesce(jsonb_typeof(" ~ p ~ " #> '{" ~ path ~ "}') in ('" ~ types | join("', '") ~ "'), false)") -%}
    {%- endfor -%}
    {%- do return("(" ~ checks | join(" and ") ~ ")") -%}
{%- endmacro %}

{% macro _q_under(parent, condition) -%}
    {%- do return("(not " ~ parent ~ " or (" ~ condition ~ "))") -%}
{%- endmacro %}

{#-
    a string in the standard 8-4-4-4-12 hex form: 36 characters, hyphens at those places, and PostgreSQL's uuid
    input reads it (pg_input_is_valid, PostgreSQL 16+: ~5x cheaper than the equivalent regex)
-#}
{% macro _q_uuid(p, path) -%}
    {%- set value = "(" ~ p ~ " #>> '{" ~ path ~ "}')" -%}
    {%- do return("(" ~ _q_all_of_type(p, [path], ['string']) ~ " and coalesce(length(" ~ value ~ ") = 36 and "
        ~ "substr(" ~ value ~ ", 9, 1) || substr(" ~ value ~ ", 14, 1) || substr(" ~ value ~ ", 19, 1) || substr("
        ~ value ~ ", 24, 1) = '----' and pg_input_is_valid(" ~ value ~ ", 'uuid'), false))") -%}
{%- endmacro %}

{#- a string whose cleaned value (trimmed, then lower- or upper-cased as staging does) is one of `values` -#}
{% macro _q_string_in(p, path, case_function, values) -%}
    {%- set cleaned = case_function ~ "(" ~ clean_text(p ~ " #>> '{" ~ path ~ "}'") ~ ")" -%}
    {%- do return("(" ~ _q_all_of_type(p, [path], ['string']) ~ " and coalesce(" ~ cleaned ~ " in ('" ~ values | join("', '") ~ "'), false))") -%}
{%- endmacro %}

{#- a JSON number holding a whole value that fits an integer column (what safe_cast_int reads) -#}
{% macro _q_integer(p, path) -%}
    {%- do return("(" ~ _q_all_of_type(p, [path], ['number']) ~ " and coalesce((" ~ p ~ " #>> '{" ~ path ~ "}') ~ '^-?\\d{1,9}(\\.0*)?$', false))") -%}
{%- endmacro %}

{#- not an integer (another rule says so), or an integer within low..high -#}
{% macro _q_integer_between(p, path, low, high) -%}
    {%- do return("(case when " ~ _q_integer(p, path) ~ " then cast(" ~ p ~ " #>> '{" ~ path ~ "}' as numeric) between " ~ low ~ " and " ~ high ~ " else true end)") -%}
{%- endmacro %}

{#- a string or number whose text is a number within low..high (coordinates: the API sends strings) -#}
{% macro _q_number_between(p, path, low, high) -%}
    {%- set value = "btrim(" ~ p ~ " #>> '{" ~ path ~ "}')" -%}
    {%- do return("(case when " ~ _q_all_of_type(p, [path], ['string', 'number']) ~ " and " ~ value ~ " ~ '^[-+]?\\d{1,3}(\\.\\d+)?$' then cast(" ~ value ~ " as numeric) between " ~ low ~ " and " ~ high ~ " else false end)") -%}
{%- endmacro %}

{#- a string that safe_cast_timestamp reads as a date -#}
{% macro _q_date(p, path) -%}
    {%- do return("(" ~ _q_all_of_type(p, [path], ['string']) ~ " and " ~ safe_cast_timestamp(clean_text(p ~ " #>> '{" ~ path ~ "}'")) ~ " is not null)") -%}
{%- endmacro %}

{#-
    each of `paths` that is a string is an http(s) URL (a missing one is picture_missing): the scheme, a first
    character neither blank nor "/", then no blank. (Was `[^\s/]+\S*`, the same strings, as [^\s/] is within \S;
    one class repeated instead of two: ~10-20% cheaper on 100,000 API users.)
-#}
{% macro _q_urls(p, paths) -%}
    {%- set checks = [] -%}
    {%- for path in paths -%}
        {%- do checks.append("(not " ~ _q_all_of_type(p, [path], ['string']) ~ " or coalesce((" ~ p ~ " #>> '{" ~ path ~ "}') ~ '^https?://[^\\s/]\\S*$', false))") -%}
    {%- endfor -%}
    {%- do return("(" ~ checks | join(" and ") ~ ")") -%}
{%- endmacro %}
