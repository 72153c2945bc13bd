-- The sessions table: shape, constraints, indexes, RLS and the updated_at trigger. A stored
-- sid is a session's key, the hex SHA-256 of its cookie's session id, never the id itself;
-- pg_temp.key derives one from a readable name as the store derives it from an id.
begin;
select plan(51);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

select has_table('public', 'sessions', 'public.sessions exists');
select columns_are('public', 'sessions',
  array['sid', 'data', 'expires_at', 'created_at', 'updated_at', 'destroyed_at', 'expires_hour'],
  'sessions has exactly the documented columns');

select col_type_is('public', 'sessions', 'sid', 'text', 'sid is text');
select col_type_is('public', 'sessions', 'data', 'jsonb', 'data is jsonb');
select col_type_is('public', 'sessions', 'expires_at', 'timestamp with time zone', 'expires_at is timestamptz');
select col_type_is('public', 'sessions', 'created_at', 'timestamp with time zone', 'created_at is timestamptz');
select col_type_is('public', 'sessions', 'updated_at', 'timestamp with time zone', 'updated_at is timestamptz');
select col_type_is('public', 'sessions', 'destroyed_at', 'timestamp with time zone', 'destroyed_at is timestamptz');

select col_not_null('public', 'sessions', 'sid', 'sid is not null');
select col_not_null('public', 'sessions', 'data', 'data is not null');
select col_not_null('public', 'sessions', 'expires_at', 'expires_at is not null');
select col_not_null('public', 'sessions', 'created_at', 'created_at is not null');
select col_not_null('public', 'sessions', 'updated_at', 'updated_at is not null');
select col_is_null('public', 'sessions', 'destroyed_at', 'destroyed_at is nullable (live sessions)');

select col_default_is('public', 'sessions', 'created_at', 'now()', 'created_at defaults to now()');
select col_default_is('public', 'sessions', 'updated_at', 'now()', 'updated_at defaults to now()');
select col_hasnt_default('public', 'sessions', 'expires_at', 'expires_at has no default: the store always decides');

select col_is_pk('public', 'sessions', 'sid', 'sid is the primary key');
select has_index('public', 'sessions', 'idx_sessions_expires_hour', 'expires_hour',
  'idx_sessions_expires_hour indexes the hour of the expiry (what cleanup and counting read)');
select hasnt_index('public', 'sessions', 'idx_sessions_expires_at',
  'no index reads expires_at itself: a touch, which changes it, stays a HOT update');
select is_empty($$
  select i.indexrelid::regclass::text
    from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attname in ('expires_at', 'updated_at')
   where i.indrelid = 'public.sessions'::regclass
     and (a.attnum = any (i.indkey)
          or pg_get_expr(i.indexprs, i.indrelid) ~ a.attname
          or pg_get_expr(i.indpred, i.indrelid) ~ a.attname)
$$, 'no index, key, expression or predicate, involves a column a touch writes');
select ok(exists (select from pg_class where oid = 'public.sessions'::regclass and 'fillfactor=80' = any (reloptions)),
  'the table keeps a fifth of each page free for the new versions of touched rows (fillfactor 80)');
select has_index('public', 'sessions', 'idx_sessions_passport_user', 'idx_sessions_passport_user exists');

-- Constraints reject what the store must never write.
select ok(exists (select from pg_constraint where conrelid = 'public.sessions'::regclass and conname = 'sessions_sid_is_key'),
  'the check sessions_sid_is_key exists');
select ok(not exists (select from pg_constraint where conrelid = 'public.sessions'::regclass and conname = 'sessions_sid_length'),
  'the check it replaced, sessions_sid_length, is gone');
select lives_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '{}', now() + interval '1 hour') $$,
                       pg_temp.key('s-key')),
  'a key of 64 lowercase hex digits is accepted');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '{}', now()) $$,
                        upper(pg_temp.key('s-upper'))),
  '23514', null, 'a key in uppercase hex is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '{}', now()) $$,
                        left(pg_temp.key('s-short'), 63)),
  '23514', null, 'a key of 63 hex digits is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '{}', now()) $$,
                        pg_temp.key('s-long') || '0'),
  '23514', null, 'a key of 65 hex digits is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '{}', now()) $$, repeat('g', 64)),
  '23514', null, 'a string of 64 characters that are not hex digits is rejected');
select throws_ok($$ insert into public.sessions (sid, data, expires_at) values ('Zx3vQ9_kL2mN8pR4tY6wA1bC5dE7fG0h', '{}', now()) $$,
  '23514', null, 'a plain session id like express-session''s (32 base64url characters) is rejected: only its key is stored');
select throws_ok($$ insert into public.sessions (sid, data, expires_at) values ('', '{}', now()) $$,
  '23514', null, 'an empty sid is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, '[]', now()) $$, pg_temp.key('s-array')),
  '23514', null, 'data that is not a JSON object is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data, expires_at) values (%L, null, now()) $$, pg_temp.key('s-null')),
  '23502', null, 'null data is rejected');
select throws_ok(format($$ insert into public.sessions (sid, data) values (%L, '{}') $$, pg_temp.key('s-noexp')),
  '23502', null, 'a missing expiry is rejected');

-- RLS is on, and nothing but the owner and service_role (bypassrls) sees rows.
select ok((select relrowsecurity from pg_class where oid = 'public.sessions'::regclass), 'row level security is enabled');
select is((select count(*)::int from pg_policies where schemaname = 'public' and tablename = 'sessions'), 0,
  'no policy: RLS denies every role that does not bypass it');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok(not (select rolbypassrls from pg_roles where rolname = 'anon'), 'anon does not bypass RLS');

-- updated_at follows updates; created_at never moves.
insert into public.sessions (sid, data, expires_at, created_at, updated_at)
values (pg_temp.key('s-trigger'), '{"n": 1}', now() + interval '1 hour', now() - interval '2 hours', now() - interval '2 hours');
update public.sessions set data = '{"n": 2}' where sid = pg_temp.key('s-trigger');
select is((select updated_at from public.sessions where sid = pg_temp.key('s-trigger')), now(), 'updated_at moves to now() on update');
select is((select created_at from public.sessions where sid = pg_temp.key('s-trigger')), now() - interval '2 hours',
  'created_at does not move on update');
update public.sessions set updated_at = now() - interval '1 day', expires_at = now() + interval '2 hours' where sid = pg_temp.key('s-trigger');
select is((select updated_at from public.sessions where sid = pg_temp.key('s-trigger')), now(),
  'updated_at cannot be set back by an update: the trigger wins');
select has_trigger('public', 'sessions', 'sessions_set_updated_at', 'the updated_at trigger exists');
select trigger_is('public', 'sessions', 'sessions_set_updated_at', 'public', 'sessions_set_updated_at',
  'the trigger calls sessions_set_updated_at()');

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

select is((select count(*)::int from package_functions), 20, 'every function of the package exists, once');
-- Each of them pins its search_path, none is SECURITY DEFINER, and each has a comment.
select is_empty($$
  select p.oid::regprocedure::text
    from pg_proc p join package_functions f on f.oid = p.oid
   where not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')
$$, 'every function of the package pins search_path');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join package_functions f on f.oid = p.oid where p.prosecdef
$$, 'no function of the package is SECURITY DEFINER');
select is_empty($$
  select p.oid::regprocedure::text
    from pg_proc p join package_functions f on f.oid = p.oid
   where obj_description(p.oid, 'pg_proc') is null
$$, 'every function of the package says what it does in a comment');
select is_empty($$
  select p.proname
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and p.proname in ('session_get', 'session_get_one', 'session_save', 'session_save_one',
                                                            'session_touch', 'session_touch_one', 'session_write')
     and not 'plan_cache_mode=force_generic_plan' = any (coalesce(p.proconfig, '{}'))
$$, 'the per-request functions plan once per connection (generic plans), not on every call');
select function_returns('public', 'cleanup_expired_sessions', array['integer'], 'integer',
  'cleanup_expired_sessions(batch_size) returns the deleted count');
select is((select pg_get_function_arguments('public.cleanup_expired_sessions(integer)'::regprocedure)),
  'batch_size integer DEFAULT 10000', 'the batch size is optional (default 10000)');

select * from finish();
rollback;
