{#- Text cleaning and safe casts for JSON fields: garbage becomes null, never an error. -#}

{#- Trimmed text, null when empty or blank. -#}
{% macro clean_text(expression) -%}
    nullif(btrim({{ expression }}, E' \t\r\n'), '')
{%- endmacro %}

{#- The text cut to `length` characters and typed varchar(length): longer values are truncated on purpose. -#}
{% macro truncate_varchar(expression, length) -%}
    cast(left({{ expression }}, {{ length }}) as varchar({{ length }}))
{%- endmacro %}

{#- An integer from text like "42", " 42 " or "42.0"; null for anything else or out of int range. -#}
{% macro safe_cast_int(expression) -%}
    case
        when {{ expression }} ~ '^\s*[+-]?\d{1,9}(\.0*)?\s*$'
            then cast(cast(btrim({{ expression }}) as numeric) as integer)
    end
{%- endmacro %}

{#-
    A UTC `timestamp` from ISO-8601 text ("1993-07-20T09:44:18.674Z", "2004-01-31 12:00:00+05:45",
    "2004-01-31"); null for garbage. Without plpgsql: a regex checks the shape and field ranges, then a
    nested case checks the day against the month's length (the only invalid dates the regex lets through),
    and only then casts. Nested cases because PostgreSQL does not promise the order of `and` operands.
    Text without an offset is taken as UTC.
-#}
{% macro safe_cast_timestamp(expression) -%}
    case
        when {{ expression }} ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?)?$'
            then case
                when substr({{ expression }}, 1, 4) <> '0000'
                    and cast(substr({{ expression }}, 9, 2) as integer) <= extract(
                        day from date_trunc(
                            'month',
                            make_date(
                                cast(substr({{ expression }}, 1, 4) as integer),
                                cast(substr({{ expression }}, 6, 2) as integer),
                                1
                            )
                        ) + interval '1 month - 1 day'
                    )
                    then case
                        when {{ expression }} ~ ':\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)$'
                            then cast({{ expression }} as timestamptz) at time zone 'UTC'
                        else cast({{ expression }} as timestamp)
                    end
            end
    end
{%- endmacro %}
