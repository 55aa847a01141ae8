{#-
    on-run-start: the index on raw.users(fetched_at) that incoming_users' incremental filter and source
    freshness use. Created once, only when raw.users exists and has no such index yet (checked in the
    catalog first, so a normal run takes no lock on raw.users).
-#}
{% macro ensure_raw_users_index() %}
    do $ensure$
    begin
        if to_regclass('raw.users') is not null and not exists (
            select 1
            from pg_index as i
            join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
            where i.indrelid = 'raw.users'::regclass and a.attname = 'fetched_at'
        ) then
            create index if not exists users_fetched_at_idx on raw.users (fetched_at);
        end if;
    end
    $ensure$
{% endmacro %}
