{#-
    post_hook: create `index_name` on `relation` (`columns` as SQL, e.g. "created_at desc") unless that
    relation already has it. On a full refresh dbt swaps in a new table while the old one (renamed to a
    backup, dropped after commit) still owns the name: that stale index is dropped first so the new table
    gets the name.
-#}
{% macro ensure_named_index(relation, index_name, columns) %}
    do $ensure$
    begin
        if exists (
            select 1 from pg_indexes
            where schemaname = '{{ relation.schema }}'
                and indexname = '{{ index_name }}'
                and tablename <> '{{ relation.identifier }}'
        ) then
            drop index "{{ relation.schema }}"."{{ index_name }}";
        end if;
    end
    $ensure$;
    create index if not exists "{{ index_name }}" on {{ relation }} ({{ columns }})
{% endmacro %}
