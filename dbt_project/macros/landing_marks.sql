{#-
    How incoming_users finds the raw rows it has not built yet: a landing mark (dbt_project/README.md, "New rows").

    raw.users.landing_seq: a bigint identity PostgreSQL draws when a row is inserted (dlt's COPY and the stream's
    INSERT name their columns, so this one keeps its default), indexed (raw.users_landing_seq_idx).
    staging.landing_marks (one row):
      taken_through  every raw row with a lower or equal landing_seq had committed (or rolled back) when it was
                     taken, at the start of the run (take_landing_mark), so no row below it can appear later;
      built_through  incoming_users holds every row of a completed load up to it, but the pending loads;
      build_stamp    synced_at of the rows the latest build of incoming_users wrote (one value for all its chunks);
      current_chunk  the chunk of the plan incoming_users' SQL reads (set before each chunk).
    staging.landing_pending_loads: loads that had rows below built_through but had not completed when they were
      passed (dlt commits a load's files before its row in _dlt_loads): read once they complete.
    staging.landing_chunks: the plan of the current build, (low, high] ranges of at most var backlog_chunk_rows rows.
    staging.landing_read_loads: pending loads incoming_users has read, until ops.quarantined_users has read them.
    staging.quarantine_marks (one row): evaluated_through, the built_through up to which quarantined_users has
      evaluated its rules (models/quarantine/quarantined_users.sql).
-#}

{#- on-run-start: the mark tables, and raw.users' landing_seq column and index (catalog checked first: a normal
    run takes no lock on raw.users here). Adding the column to a table that has rows writes each row again. -#}
{% macro ensure_landing_mark() %}
    do $ensure$
    begin
        if to_regclass('staging.landing_marks') is null then
            create schema if not exists staging;
            create table staging.landing_marks (
                taken_through bigint not null,
                built_through bigint not null,
                build_stamp timestamp,
                current_chunk integer not null,
                taken_at timestamptz
            );
            insert into staging.landing_marks values (0, 0, null, 0, null);
            create table staging.landing_pending_loads (
                load_id text primary key,
                first_seq bigint not null,
                last_seq bigint not null,
                reading boolean not null default false
            );
            create table staging.landing_chunks (
                chunk integer primary key,
                low bigint not null,
                high bigint not null
            );
        end if;
        -- loads read late (pending, then completed), kept until ops.quarantined_users has read them too; and
        -- the mark through which quarantined_users has evaluated its rules
        create table if not exists staging.landing_read_loads (
            load_id text primary key,
            first_seq bigint not null,
            last_seq bigint not null
        );
        if to_regclass('staging.quarantine_marks') is null then
            create table staging.quarantine_marks (evaluated_through bigint not null);
            insert into staging.quarantine_marks values (0);
        end if;
        if to_regclass('raw.users') is not null and not exists (
            select 1 from pg_attribute
            where attrelid = 'raw.users'::regclass and attname = 'landing_seq' and not attisdropped
        ) then
            alter table raw.users add column landing_seq bigint generated always as identity;
        end if;
        if to_regclass('raw.users') is not null and to_regclass('raw.users_landing_seq_idx') is null then
            create index users_landing_seq_idx on raw.users (landing_seq);
        end if;
    end
    $ensure$
{% endmacro %}

{#- on-run-start (last): take the mark in a short transaction of its own. SHARE mode waits for every transaction
    writing raw.users (they hold ROW EXCLUSIVE from before they draw landing_seq values) and holds new ones back
    for the instant of the max(): every row below the mark has committed or is gone, every later row draws more. -#}
{% macro take_landing_mark() %}
    begin;
    set local lock_timeout = '{{ var("landing_mark_lock_timeout") }}';
    do $take$
    begin
        if to_regclass('raw.users') is not null then
            lock table raw.users in share mode;
            update staging.landing_marks set
                taken_through = greatest(taken_through, coalesce((select max(landing_seq) from raw.users), 0)),
                taken_at = now();
        end if;
    end
    $take$;
    commit
{% endmacro %}

{#- pre_hook of incoming_users, after its writer lock: the build's stamp and plan. `full_refresh`: from the start,
    pending loads forgotten. Loads with rows in the range that have not completed are recorded as pending before
    any row is read, so a load completing meanwhile is read by the next build, not lost. Pending loads that have
    completed are marked `reading` (chunk 1 reads them). -#}
{% macro plan_landing_chunks(full_refresh) %}
    {%- set low = '0' if full_refresh else '(select built_through from staging.landing_marks)' -%}
    {%- if full_refresh %}
    delete from staging.landing_pending_loads;
    {%- endif %}
    update staging.landing_marks set
        build_stamp = {{ batch_timestamp() }},
        current_chunk = 1{% if full_refresh %},
        built_through = 0{% endif %};
    update staging.landing_pending_loads as pending set reading = true
    where exists (
        select 1 from raw._dlt_loads as loads
        where loads.load_id = pending.load_id and loads.status = 0
    );
    insert into staging.landing_pending_loads as pending (load_id, first_seq, last_seq)
    select users._dlt_load_id, min(users.landing_seq), max(users.landing_seq)
    from raw.users as users
    where users.landing_seq > {{ low }}
        and users.landing_seq <= (select taken_through from staging.landing_marks)
        and not exists (
            select 1 from raw._dlt_loads as loads
            where loads.load_id = users._dlt_load_id and loads.status = 0
        )
    group by users._dlt_load_id
    on conflict (load_id) do update set
        first_seq = least(pending.first_seq, excluded.first_seq),
        last_seq = greatest(pending.last_seq, excluded.last_seq);
    delete from staging.landing_chunks;
    insert into staging.landing_chunks (chunk, low, high)
    with
    marks as (
        select {{ low }} as low, greatest(taken_through, {{ low }}) as high from staging.landing_marks
    ),
    -- every var backlog_chunk_rows-th row of the range (the landing_seq index read in order, keys only)
    cuts as (
        select numbered.landing_seq as high
        from (
            select users.landing_seq, row_number() over (order by users.landing_seq) as n
            from raw.users as users
            where users.landing_seq > (select low from marks) and users.landing_seq <= (select high from marks)
        ) as numbered
        where numbered.n % {{ var('backlog_chunk_rows') }} = 0 and numbered.landing_seq < (select high from marks)
        union all
        select high from marks
    )
    select
        row_number() over (order by high) as chunk,
        coalesce(lag(high) over (order by high), (select low from marks)) as low,
        high
    from cuts
{% endmacro %}

{#- post_hook of incoming_users (before its indexes): the plan's chunks after the first, each one statement of the
    model's own compiled SQL (`sql`), so the memory and temporary space of each stay bounded by the chunk. -#}
{% macro build_later_landing_chunks(model_sql) %}
    {%- set chunks = query_value('select count(*) from staging.landing_chunks') or 1 -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- do names.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- set columns = names | join(', ') -%}
    {%- for chunk in range(2, chunks + 1) %}
    update staging.landing_marks set current_chunk = {{ chunk }};
    insert into {{ this }} ({{ columns }})
    select {{ columns }} from (
        {{ model_sql }}
    ) as landing_chunk;
    {%- endfor %}
    select 1
{% endmacro %}

{#- post_hook of incoming_users: the mark moves to the end of the plan; the pending loads read are forgotten, and
    so are those whose rows are gone (taken back by the ingest's recovery). One transaction with the rows: a
    failed build moves nothing. -#}
{% macro finish_landing_chunks() %}
    update staging.landing_marks set
        built_through = greatest(built_through, (select max(high) from staging.landing_chunks)),
        current_chunk = 0;
    insert into staging.landing_read_loads (load_id, first_seq, last_seq)
    select load_id, first_seq, last_seq from staging.landing_pending_loads where reading
    on conflict (load_id) do nothing;
    delete from staging.landing_pending_loads as pending
    where pending.reading or not exists (
        select 1 from raw.users as users
        where users.landing_seq between pending.first_seq and pending.last_seq
            and users._dlt_load_id = pending.load_id
    )
{% endmacro %}

{#- The raw rows of the current chunk but those of loads pending, from a relation shaped like
    stg_randomuser__users (alias `staged`). `landed_after`: a literal at or below the
    chunk (the mark at compile time), so the planner sees the index range; the exact bounds are read from the
    plan. -#}
{% macro landing_chunk_filter(landed_after) -%}
    (
        staged.landing_seq > {{ landed_after }}
        and staged.landing_seq > (
            select low from staging.landing_chunks
            where chunk = (select current_chunk from staging.landing_marks)
        )
        and staged.landing_seq <= (
            select high from staging.landing_chunks
            where chunk = (select current_chunk from staging.landing_marks)
        )
        and not exists (
            select 1 from staging.landing_pending_loads as pending
            where pending.load_id = staged.dlt_load_id and not pending.reading
        )
    )
{%- endmacro %}

{#- The mark incoming_users was built through, read when a model compiles (0 before any build). -#}
{% macro built_through_literal() -%}
    {%- set built = query_value(
        "select case when to_regclass('staging.landing_marks') is not null then 1 end"
    ) -%}
    {%- if built -%}
        {{ query_value('select built_through from staging.landing_marks') or 0 }}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{#- post_hook of incoming_users (last): ANALYZE it when this build added more than a tenth of what its statistics
    counted (a first build, a backlog): the marts then plan their aggregation over the new rows with the right
    row count (a hash on a few keys, not a sort of every row, which spilled to disk after a 1M-row backlog). -#}
{% macro analyze_after_backlog(relation) %}
    do $analyze$
    begin
        if (select coalesce(max(high) - min(low), 0) from staging.landing_chunks) > 0.1 * greatest(
            (select reltuples from pg_class where oid = '{{ relation }}'::regclass), 1000
        ) then
            analyze {{ relation }};
        end if;
    end
    $analyze$
{% endmacro %}

{#- The rows of the loads listed in `loads` (a table of load_id, first_seq, last_seq; alias `loads`), from
    stg_randomuser__users: few loads, each an index range of landing_seq (a lateral sub-select kept apart by
    `offset 0`, so the planner cannot turn it into a scan of raw.users joined to them). -#}
{% macro rows_of_listed_loads(loads) -%}
    select staged.* from {{ loads }} as loads
    cross join lateral (
        select * from {{ ref('stg_randomuser__users') }} as rows_of_load
        where rows_of_load.landing_seq between loads.first_seq and loads.last_seq
            and rows_of_load.dlt_load_id = loads.load_id
        offset 0
    ) as staged
{%- endmacro %}
