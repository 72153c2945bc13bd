-- The database is laid out as a hosted Supabase project's: migrations and these tests run
-- as `postgres`, who is not a superuser, and the API roles have hosted settings.
begin;
select plan(11);

select is(current_user::text, 'postgres', 'the suite runs as postgres, the role migrations are pushed as');
select ok(not (select rolsuper from pg_roles where rolname = 'postgres'), 'postgres is not a superuser');
select ok((select rolcreaterole and rolcreatedb and rolbypassrls from pg_roles where rolname = 'postgres'),
  'postgres has what hosted Supabase leaves it: createrole, createdb, bypassrls');
select ok((select rolsuper from pg_roles where rolname = 'supabase_admin'), 'a separate superuser (supabase_admin) exists');
select ok((select d.datdba = 'postgres'::regrole from pg_database d where d.datname = current_database()),
  'postgres owns the database, so it owns schema public');
select ok(has_schema_privilege('postgres', 'cron', 'usage'), 'postgres may use schema cron (to schedule jobs)');
select ok(not has_table_privilege('postgres', 'cron.job', 'insert'), 'postgres cannot write cron.job directly, as on hosted Supabase');
select is((select s.setting from pg_roles r, lateral (select split_part(c, '=', 2) as setting from unnest(
            (select setconfig from pg_db_role_setting where setrole = r.oid and setdatabase = 0)) c
            where c like 'statement_timeout=%') s where r.rolname = 'anon'), '3s', 'anon: statement_timeout 3s');
select is((select s.setting from pg_roles r, lateral (select split_part(c, '=', 2) as setting from unnest(
            (select setconfig from pg_db_role_setting where setrole = r.oid and setdatabase = 0)) c
            where c like 'statement_timeout=%') s where r.rolname = 'authenticated'), '8s', 'authenticated: statement_timeout 8s');
select is((select s.setting from pg_roles r, lateral (select split_part(c, '=', 2) as setting from unnest(
            (select setconfig from pg_db_role_setting where setrole = r.oid and setdatabase = 0)) c
            where c like 'statement_timeout=%') s where r.rolname = 'authenticator'), '8s',
  'authenticator: statement_timeout 8s (what service_role calls through the API run under)');
select throws_ok($$create extension file_fdw with schema extensions$$, '42501', null,
  'postgres cannot create an untrusted extension itself');

select * from finish();
rollback;
