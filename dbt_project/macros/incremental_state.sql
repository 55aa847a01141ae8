{#-
    Helpers for the incremental chain incoming_users -> marts (see models/marts/_marts.yml, "how the marts
    stay cheap").
-#}

{#-
    pre_hook of incoming_users (the writer) and of every mart (a reader): transaction-level advisory locks,
    held until commit. The writer excludes the readers, so a mart sees a whole incoming_users batch or none of
    it, and the timestamps taken after the lock (batch_timestamp) order writer and readers correctly even when
    two builds overlap. Readers share the chain lock (the marts build in parallel) and each also holds its own
    lock, so two builds never add the same batch to one mart.
-#}
{% macro lock_incremental_chain(role='reader') -%}
    {%- if role == 'writer' -%}
        select pg_advisory_xact_lock(hashtext('userpipe.incremental_chain'))
    {%- else -%}
        select
            pg_advisory_xact_lock_shared(hashtext('userpipe.incremental_chain')),
            pg_advisory_xact_lock(hashtext('{{ this }}'))
    {%- endif -%}
{%- endmacro %}

{#- The UTC timestamp of the statement building the batch (taken after lock_incremental_chain). -#}
{% macro batch_timestamp() -%}
    cast(statement_timestamp() at time zone 'UTC' as timestamp)
{%- endmacro %}

{#-
    The first value of a query run at execution time (none while parsing or when there is no row). Used to
    put high-water marks into the SQL as literals: against a subquery the planner must guess a third of the
    table and scans it; against a literal it reads the statistics and takes the index range.
-#}
{% macro query_value(sql) %}
    {% if execute %}
        {% set rows = run_query(sql).rows %}
        {% if rows | length > 0 %}
            {% do return(rows[0][0]) %}
        {% endif %}
    {% endif %}
    {% do return(none) %}
{% endmacro %}

{#- A timestamp literal for a value from query_value (none -> -infinity). -#}
{% macro timestamp_literal(value) -%}
    {%- if value is none -%}
        '-infinity'::timestamp
    {%- else -%}
        '{{ value }}'::timestamp
    {%- endif -%}
{%- endmacro %}

{#-
    Filter for the incoming_users rows a mart has not counted yet: synced after the mart's last batch. The
    literal (read when the model compiles) gives the planner the index range; the subquery (read under the
    lock) keeps the filter exact should another build have moved the mark in between.
-#}
{% macro synced_since_last_build(high_water_column='updated_at') -%}
    {%- set high_water = query_value('select max(' ~ high_water_column ~ ') from ' ~ this) -%}
    synced_at > {{ timestamp_literal(high_water) }}
    and synced_at > (select coalesce(max({{ high_water_column }}), '-infinity'::timestamp) from {{ this }})
{%- endmacro %}

{#-
    Stop a mart's incremental run when incoming_users was rebuilt after the mart's last batch (every row
    synced later than it): adding deltas then would count every user twice. A full refresh of both fixes it.
-#}
{% macro assert_upstream_not_rebuilt(upstream, high_water_column='updated_at') %}
    {% if execute and is_incremental() %}
        {% set check %}
            select
                (select min(synced_at) from {{ upstream }})
                > (select max({{ high_water_column }}) from {{ this }}) as rebuilt
        {% endset %}
        {% set rebuilt = run_query(check).columns[0].values()[0] %}
        {% if rebuilt %}
            {{ exceptions.raise_compiler_error(
                this ~ " is older than every row of " ~ upstream ~ ", which was rebuilt: "
                ~ "run a full refresh of the marts (userpipe transform --full-refresh)"
            ) }}
        {% endif %}
    {% endif %}
{% endmacro %}

{#- Age band label and its sort order. -#}
{% macro age_band(age) -%}
    case
        when {{ age }} is null then 'unknown'
        when {{ age }} < 18 then 'under 18'
        when {{ age }} < 25 then '18-24'
        when {{ age }} < 35 then '25-34'
        when {{ age }} < 45 then '35-44'
        when {{ age }} < 55 then '45-54'
        when {{ age }} < 65 then '55-64'
        else '65+'
    end
{%- endmacro %}

{% macro age_band_order(age) -%}
    case
        when {{ age }} is null then 7
        when {{ age }} < 18 then 0
        when {{ age }} < 25 then 1
        when {{ age }} < 35 then 2
        when {{ age }} < 45 then 3
        when {{ age }} < 55 then 4
        when {{ age }} < 65 then 5
        else 6
    end
{%- endmacro %}

{#-
    Test scope: the rows written by the latest build, and within var test_window before it (an index range on
    synced_at, its bound a literal). Singular tests call it; generic tests get it from `where: __latest_build__`.
-#}
{% macro recent_users_only(relation) -%}
    {%- set latest = query_value('select max(synced_at) from ' ~ relation) -%}
    synced_at >= {{ timestamp_literal(latest) }} - interval '{{ var("test_window") }}'
{%- endmacro %}

{#- dbt's hook for a test's `where` config, extended with the placeholder `__latest_build__`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__latest_build__' in where -%}
            {%- set where = where | replace('__latest_build__', recent_users_only(relation)) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
