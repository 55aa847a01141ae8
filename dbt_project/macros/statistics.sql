{#-
    ANALYZE `table_name` ("schema.table") when PostgreSQL holds no statistics for it yet: a table dbt just
    created (first build, full refresh) or raw.users before autovacuum got to it. Without statistics the
    planner cannot tell that a high-water-mark range holds a few rows and scans the whole table; with them
    (even stale: beyond the histogram it asks the index) it takes the index range.
-#}
{% macro analyze_if_never_analyzed(table_name) %}
    do $analyze$
    begin
        if to_regclass('{{ table_name }}') is not null and not exists (
            select 1 from pg_stat_user_tables
            where relid = to_regclass('{{ table_name }}')
                and coalesce(last_analyze, last_autoanalyze) is not null
        ) then
            analyze {{ table_name }};
        end if;
    end
    $analyze$
{% endmacro %}
