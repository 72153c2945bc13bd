-- Sessions are bearer credentials: anon and authenticated reach nothing session
-- related by any path; service_role can do what the store and the cleanup need.
-- Stored sids are keys (hex SHA-256 of a cookie's id): pg_temp.key('priv-live') is the key of
-- the session named priv-live.
begin;
select plan(71);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

insert into public.sessions (sid, data, expires_at)
values (pg_temp.key('priv-live'), '{"cookie": {}, "passport": {"user": "u1"}}', now() + interval '1 hour');

-- The functions this package installs, and only those: a project's own functions in public
-- are its own business, and these tests run in users' projects (supabase test db).
-- tests/unit/pgtap-scope.test.mjs keeps this list equal to the migrations' functions.
create temporary table package_functions on commit drop as
  select p.oid, p.proname::text as name
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and p.proname = any (
    array['sessions_set_updated_at', 'session_get_one', 'session_get', 'session_save_one', 'session_save',
          'session_touch_one', 'session_touch', 'session_write', 'session_destroy', 'session_destroy_user',
          'session_count', 'session_all_page', 'session_ids_page', 'session_clear_batch', 'session_handle',
          'session_list_user', 'session_destroy_user_session', 'cleanup_expired_sessions',
          'count_expired_sessions', 'dispatch_session_cleanup']);

-- Package-wide: no table, view or function of the package is reachable by the API roles.
select is_empty($$
  select c.oid::regclass::text || ' ' || r.role
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   cross join (values ('anon'), ('authenticated')) r(role)
   where n.nspname = 'public' and c.relname in ('sessions', 'live_sessions')
     and (has_table_privilege(r.role, c.oid, 'select') or has_table_privilege(r.role, c.oid, 'insert')
       or has_table_privilege(r.role, c.oid, 'update') or has_table_privilege(r.role, c.oid, 'delete')
       or has_table_privilege(r.role, c.oid, 'truncate') or has_table_privilege(r.role, c.oid, 'references')
       or has_table_privilege(r.role, c.oid, 'trigger'))
$$, 'anon and authenticated hold no privilege on the sessions table or the live_sessions view');
select is_empty($$
  select p.oid::regprocedure::text || ' ' || r.role
    from pg_proc p join package_functions f on f.oid = p.oid
   cross join (values ('anon'), ('authenticated'), ('public')) r(role)
   where (case when r.role = 'public'
               then exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a where a.grantee = 0)
               else has_function_privilege(r.role, p.oid, 'execute') end)
$$, 'neither PUBLIC, anon nor authenticated can execute any function of the package');
select ok(has_function_privilege('service_role', 'public.cleanup_expired_sessions(integer)', 'execute'),
  'service_role can execute cleanup_expired_sessions');
select ok(not has_function_privilege('service_role', 'public.sessions_set_updated_at()', 'execute'),
  'nobody but the owner can call the trigger function directly');

-- The same, by trying: every path fails with 42501 for anon and authenticated.
create temporary table probes (label text, sql text) on commit drop;
insert into probes values
  ('select the table', $$select * from public.sessions$$),
  ('insert into the table', $$insert into public.sessions (sid, data, expires_at) values (pg_temp.key('x-insert'), '{}', now() + interval '1 hour')$$),
  ('update the table', $$update public.sessions set data = '{}'$$),
  ('delete from the table', $$delete from public.sessions$$),
  ('execute cleanup_expired_sessions', $$select public.cleanup_expired_sessions()$$),
  ('execute count_expired_sessions', $$select public.count_expired_sessions()$$),
  ('execute session_get', $$select * from public.session_get(array[pg_temp.key('priv-live')])$$),
  ('execute session_touch', $$select * from public.session_touch(array[pg_temp.key('priv-live')], array[now() + interval '2 hours'])$$),
  ('execute session_destroy', $$select public.session_destroy(pg_temp.key('priv-live'))$$),
  ('execute session_destroy_user', $$select public.session_destroy_user('u1')$$),
  ('execute session_count', $$select public.session_count()$$),
  ('execute session_handle', $$select public.session_handle(pg_temp.key('priv-live'))$$),
  ('execute session_list_user', $$select * from public.session_list_user('u1')$$),
  ('execute session_destroy_user_session', $$select public.session_destroy_user_session('u1', repeat('0', 64))$$),
  ('execute session_get_one', $$select * from public.session_get_one(pg_temp.key('priv-live'))$$),
  ('execute session_touch_one', $$select public.session_touch_one(pg_temp.key('priv-live'), now() + interval '2 hours')$$),
  ('execute session_save_one', $$select public.session_save_one(pg_temp.key('x-one'), '{}', now() + interval '1 hour')$$),
  ('execute session_save', $$select * from public.session_save(array[pg_temp.key('x-many')], '[{}]', array[now() + interval '1 hour'])$$),
  ('select the live_sessions view', $$select * from public.live_sessions$$),
  ('execute session_all_page', $$select * from public.session_all_page()$$),
  ('execute session_ids_page', $$select * from public.session_ids_page()$$),
  ('execute session_clear_batch', $$select * from public.session_clear_batch()$$);
grant select on probes to anon, authenticated, service_role;

set local role anon;
select throws_ok(sql, '42501', null, 'anon cannot ' || label) from probes order by label;
reset role;

set local role authenticated;
select throws_ok(sql, '42501', null, 'authenticated cannot ' || label) from probes order by label;
reset role;

-- service_role can do everything the store and the cleanup need.
set local role service_role;
select lives_ok(sql, 'service_role can ' || label) from probes
 where label not in ('delete from the table', 'execute session_clear_batch', 'update the table')
 order by label;
select is((select count(*)::int from public.sessions where sid = pg_temp.key('priv-live')), 1, 'service_role sees rows despite RLS (bypassrls)');
select lives_ok($$update public.sessions set data = '{"a": 1}' where sid = pg_temp.key('x')$$, 'service_role can update the table');
select lives_ok($$select * from public.session_clear_batch()$$, 'service_role can execute session_clear_batch');
select lives_ok($$delete from public.sessions where sid = pg_temp.key('x')$$, 'service_role can delete from the table');
reset role;

select * from finish();
rollback;
