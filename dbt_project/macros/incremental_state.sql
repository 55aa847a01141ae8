{#-
    Helpers for the incremental chain incoming_users -> marts (see models/marts/_marts.yml, "how the marts
    stay cheap").
-#}

{#-
    pre_hook of incoming_users and of every mart: one writer or reader of that chain at a time. Held until
    commit, so a mart either sees a whole incoming_users batch or none of it, and the timestamps taken after
    it (batch_timestamp) order the batches correctly even when two builds overlap.
-#}
{% macro lock_incremental_chain() -%}
    select pg_advisory_xact_lock(hashtext('userpipe.incremental_chain'))
{%- endmacro %}

{#- The UTC timestamp of the statement building the batch (taken after lock_incremental_chain). -#}
{% macro batch_timestamp() -%}
    cast(statement_timestamp() at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Filter for the incoming_users rows a mart has not counted yet: synced after the mart's last batch. -#}
{% macro synced_since_last_build(high_water_column='updated_at') -%}
    synced_at > (select coalesce(max({{ high_water_column }}), '-infinity'::timestamp) from {{ this }})
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

{#- Test scope: the users landed within var test_window of the newest one (an index range scan). -#}
{% macro recent_users_only(relation) -%}
    created_at >= (select max(created_at) from {{ relation }}) - interval '{{ var("test_window") }}'
{%- endmacro %}
