-- The read-only role Grafana connects as: it may read marts.*, ops.* and public.incoming_users, nothing else.
-- Idempotent. Run it as a superuser (event triggers need one). The warehouse objects are those of the
-- database's owner when the running role may act as it (a superuser may), else of the running role: marts and
-- ops are created for that role and the default privileges below cover its future tables (userpipe's embedded
-- server: applied by its superuser, the objects are those of the owner `userpipe`).
-- Applied by the compose postgres init (/docker-entrypoint-initdb.d) and by tests/grafana. The password is
-- set separately (grafana/postgres-init/20-grafana-reader-password.sh): none is stored here.

do $$
begin
    if not exists (select from pg_roles where rolname = 'grafana_reader') then
        create role grafana_reader login;
    end if;
end
$$;

-- Role-level defaults: every session starts read-only and with a 10 s statement timeout. They are defaults, not
-- limits: PostgreSQL lets any role SET its own statement_timeout, work_mem, default_transaction_read_only and
-- the like (see README, Security). Writes are refused by the missing privileges, not by these settings.
alter role grafana_reader set default_transaction_read_only = on;
alter role grafana_reader set statement_timeout = '10s';

-- No TEMP tables: PUBLIC holds TEMPORARY on every database by default. It is taken from PUBLIC and given back to
-- the role running this script (the one dbt and dlt connect as; a superuser needs no grant, another owner does).
do $$
begin
    execute format('revoke temporary on database %I from public', current_database());
    execute format('grant temporary on database %I to %I', current_database(), current_user);
end
$$;

-- marts and ops: every table, now and later.
do $$
declare
    database_owner constant name := (select pg_get_userbyid(datdba) from pg_database
                                     where datname = current_database());
    objects_owner constant name := case when pg_has_role(database_owner, 'MEMBER') then database_owner
                                        else current_user end;
begin
    execute format('create schema if not exists marts authorization %I', objects_owner);
    execute format('create schema if not exists ops authorization %I', objects_owner);
    execute format('alter default privileges for role %I in schema marts grant select on tables to grafana_reader',
                   objects_owner);
    execute format('alter default privileges for role %I in schema ops grant select on tables to grafana_reader',
                   objects_owner);
    if objects_owner <> current_user then  -- and the running role's own tables, as before
        alter default privileges in schema marts grant select on tables to grafana_reader;
        alter default privileges in schema ops grant select on tables to grafana_reader;
    end if;
end
$$;
grant usage on schema marts, ops to grafana_reader;
grant select on all tables in schema marts, ops to grafana_reader;

-- public: incoming_users only. dbt may (re)create it after this runs (first build, full refresh: create
-- incoming_users__dbt_tmp, then rename it), so an event trigger grants it again when a DDL command leaves a
-- table of that name without the grant. It acts only on that table: dbt runs models in parallel, and
-- granting on every DDL would make concurrent GRANTs collide ("tuple concurrently updated").
grant usage on schema public to grafana_reader;

create or replace function public.grant_incoming_users_to_grafana_reader()
returns event_trigger
language plpgsql
as $$
begin
    if exists (
        select from pg_event_trigger_ddl_commands()
        where object_type = 'table' and object_identity = 'public.incoming_users'
    ) and not has_table_privilege('grafana_reader', 'public.incoming_users', 'select') then
        grant select on public.incoming_users to grafana_reader;
    end if;
exception when insufficient_privilege then
    raise warning 'could not grant public.incoming_users to grafana_reader: %', sqlerrm;
end
$$;

drop event trigger if exists grant_incoming_users_to_grafana_reader;
create event trigger grant_incoming_users_to_grafana_reader
    on ddl_command_end
    when tag in ('CREATE TABLE', 'CREATE TABLE AS', 'ALTER TABLE')
    execute function public.grant_incoming_users_to_grafana_reader();

do $$
begin
    if to_regclass('public.incoming_users') is not null then
        grant select on public.incoming_users to grafana_reader;
    end if;
end
$$;
