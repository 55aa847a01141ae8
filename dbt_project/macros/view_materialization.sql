{#-
    Every view of the project (materialized='view'), replaced in place instead of dbt's stock way (create
    x__dbt_tmp, rename x to x__dbt_backup, rename x__dbt_tmp to x, then `drop view x__dbt_backup cascade`). The
    stock way drops, with the backup, every view built on it: each build of the staging view dropped
    int_incoming_users_pending and the live views the dashboard reads, which failed ("relation does not exist")
    until dbt had made them again, or queued behind the renames' locks (issue #14).

    Here a view keeps its relation (its oid, its grants, the views built on it):
    - unchanged: the view's comment holds the md5 of the SQL it was made from; the same SQL again leaves it
      untouched (no statement takes a lock on it);
    - changed: `create or replace view` in a short transaction (readers wait for that instant, none fails), the
      new md5 as its comment; when the columns changed so that PostgreSQL cannot replace it (a column renamed,
      retyped, removed or moved: invalid_table_definition), it is dropped (cascade: the views built on it are
      downstream, made again by this same build) and made again;
    - a table of that name (a model that was a table): dropped, then the view made.
    The comment is this materialization's: persist_docs' relation comments do not apply to views.
    The root project's materialization overrides dbt's of the same name (dbt-core's
    find_materialization_macro_by_name: Root before Core).
-#}
{% materialization view, adapter='postgres' %}

    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set fingerprint = 'userpipe view sql md5 ' ~ local_md5(sql) -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set found = run_query(view_state_sql(target_relation)) -%}
    {%- set kind = found.rows[0][0] if found.rows | length > 0 else none -%}
    {%- set comment = found.rows[0][1] if found.rows | length > 0 else none -%}

    {%- if kind == 'v' and comment == fingerprint -%}

        {% call statement('main') -%}
            select 'view unchanged'
        {%- endcall %}

    {%- else -%}

        {%- if kind is not none and kind != 'v' -%}
            {%- set other_type = 'materialized_view' if kind == 'm' else 'table' -%}
            {% do adapter.drop_relation(target_relation.incorporate(type=other_type)) %}
        {%- endif -%}

        {% call statement('main') -%}
            {{ replace_view_sql(target_relation, sql) }};
            comment on view {{ target_relation }} is '{{ fingerprint }}'
        {%- endcall %}

    {%- endif -%}

    {% do apply_grants(target_relation, grant_config, should_revoke=True) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {{ adapter.commit() }}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{#- The relation's kind (pg_class.relkind: 'v' a view) and comment, no row when there is none by that name. -#}
{% macro view_state_sql(relation) -%}
    select relation.relkind, obj_description(relation.oid, 'pg_class')
    from pg_class as relation
    join pg_namespace as namespace on namespace.oid = relation.relnamespace
    where namespace.nspname = '{{ relation.schema }}' and relation.relname = '{{ relation.identifier }}'
{%- endmacro %}


{#- `create or replace view`, or drop and create when PostgreSQL refuses the new columns (one statement). -#}
{% macro replace_view_sql(relation, sql) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    do $userpipe_view$
    begin
        execute $userpipe_sql$ create or replace view {{ relation }} as (
            {{ sql }}
        ) $userpipe_sql$;
    exception when invalid_table_definition then
        -- columns renamed, retyped, removed or moved: the view is made again
        drop view {{ relation }} cascade;
        execute $userpipe_sql$ create view {{ relation }} as (
            {{ sql }}
        ) $userpipe_sql$;
    end
    $userpipe_view$
{%- endmacro %}
