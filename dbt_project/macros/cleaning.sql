{#- Text cleaning and safe casts for JSON fields: garbage becomes null, never an error. -#}

{#- Trimmed text, null when empty or blank. -#}
{% macro clean_text(expression) -%}
    nullif(btrim({{ expression }}, E' \t\r\n'), '')
{%- endmacro %}

{#- The text cut to `length` characters and typed varchar(length): longer values are truncated on purpose. -#}
{% macro truncate_varchar(expression, length) -%}
    cast(left({{ expression }}, {{ length }}) as varchar({{ length }}))
{%- endmacro %}

{#- An integer from text like "42", " 42 " or "42.0"; null for anything else or out of int range. The text is
    computed once (a sub-select kept apart by `offset 0`), not once per use. -#}
{% macro safe_cast_int(expression) -%}
    (
        select case
            when safe_cast_input.v ~ '^\s*[+-]?\d{1,9}(\.0*)?\s*$'
                then cast(cast(btrim(safe_cast_input.v) as numeric) as integer)
        end
        from (select {{ expression }} as v offset 0) as safe_cast_input
    )
{%- endmacro %}

{#-
    A UTC `timestamp` from ISO-8601 text ("1993-07-20T09:44:18.674Z", "2004-01-31 12:00:00+05:45",
    "2004-01-31"); null for garbage. Without plpgsql: a regex checks the shape and field ranges, then a
    nested case checks the day against the month's length (the only invalid dates the regex lets through),
    and only then casts. Nested cases because PostgreSQL does not promise the order of `and` operands.
    Text without an offset is taken as UTC (an offset is a Z, + or - after the hour and minute, which the
    regex allows only there). The text is computed once (a sub-select kept apart by `offset 0`): the JSON
    field is read and trimmed once, not once per use (two thirds of the flattening's time before).
-#}
{% macro safe_cast_timestamp(expression) -%}
    (
        select case
            when safe_cast_input.v ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?)?$'
                then case
                    when substr(safe_cast_input.v, 1, 4) <> '0000'
                        and cast(substr(safe_cast_input.v, 9, 2) as integer) <= {{ days_in_month(
                            'cast(substr(safe_cast_input.v, 1, 4) as integer)', 'cast(substr(safe_cast_input.v, 6, 2) as integer)') }}
                        then case
                            when strpos(substr(safe_cast_input.v, 17), 'Z') > 0 or strpos(substr(safe_cast_input.v, 17), '+') > 0
                                or strpos(substr(safe_cast_input.v, 17), '-') > 0
                                then cast(safe_cast_input.v as timestamptz) at time zone 'UTC'
                            else cast(safe_cast_input.v as timestamp)
                        end
                end
        end
        from (select {{ expression }} as v offset 0) as safe_cast_input
    )
{%- endmacro %}

{#- The number of days in month `month` (1-12) of year `year` (integer SQL expressions), Gregorian. -#}
{% macro days_in_month(year, month) -%}
    case
        when {{ month }} = 2 then
            case
                when {{ year }} % 4 = 0 and ({{ year }} % 100 <> 0 or {{ year }} % 400 = 0) then 29
                else 28
            end
        when {{ month }} in (4, 6, 9, 11) then 30
        else 31
    end
{%- endmacro %}
