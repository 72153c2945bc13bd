-- The store's writers set updated_at in their own statement (migrations
-- 20261201000000_sessions_table and 20261201000100_store_functions), so the updated_at trigger's function is not
-- called for them; any other update still gets updated_at = now() from the trigger.
-- To see whether the trigger's function runs, this file replaces it (inside the
-- transaction, rolled back at the end) with one that counts its calls.
-- Stored sids are keys (hex SHA-256 of a cookie's id): pg_temp.key('ua-1') is the key of the
-- session named ua-1; sid order is the keys' order.
begin;
select plan(12);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

create temp table trigger_calls (n integer not null) on commit drop;
insert into trigger_calls values (0);
grant select, update on trigger_calls to service_role;
create or replace function public.sessions_set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update pg_temp.trigger_calls set n = n + 1;
  new.updated_at := now();
  return new;
end;
$$;

-- Six live sessions last written two hours ago; an expiry far enough out that every touch writes.
insert into public.sessions (sid, data, expires_at, created_at, updated_at)
select pg_temp.key('ua-' || i), '{"v": "old"}', now() + interval '1 hour', now() - interval '2 hours', now() - interval '2 hours'
  from generate_series(1, 6) i;

set local role service_role;
select is(public.session_touch_one(pg_temp.key('ua-1'), now() + interval '3 hours', 60, null, true), true, 'session_touch_one writes');
select results_eq($$ select sid from public.session_touch(array[pg_temp.key('ua-2')], array[now() + interval '3 hours'], 60, null, true) $$,
  array[pg_temp.key('ua-2')], 'session_touch writes');
select is(public.session_save_one(pg_temp.key('ua-3'), '{"v": "new"}', now() + interval '3 hours', null, true), 'stored',
  'session_save_one stores');
select results_eq($$ select outcome from public.session_save(array[pg_temp.key('ua-4')], '[{"v": "new"}]', array[now() + interval '3 hours'], null, true) $$,
  array['stored'], 'session_save stores');
select results_eq($$ select s.sid, s.outcome from public.session_write(array[pg_temp.key('ua-5')], '[{"v": "new"}]', array[now() + interval '3 hours'],
                                                                array[pg_temp.key('ua-6')], array[now() + interval '3 hours'], 60, null, true) s order by s.sid $$,
  $$ select * from (values (pg_temp.key('ua-5'), 'stored'), (pg_temp.key('ua-6'), 'touched')) e order by 1 $$,
  'session_write stores and touches');
reset role;

select is((select count(*)::integer from public.sessions where sid in (select pg_temp.key('ua-' || i) from generate_series(1, 6) i) and updated_at = now()), 6,
  'every store writer moved updated_at to now()');
select is((select n from trigger_calls), 0, 'the store writers set updated_at themselves: the trigger function never ran');
select is((select count(*)::integer from public.sessions where sid in (select pg_temp.key('ua-' || i) from generate_series(1, 6) i) and created_at = now() - interval '2 hours'), 6,
  'created_at did not move');

-- Any other update: the trigger still owns updated_at.
update public.sessions set updated_at = now() - interval '1 day' where sid = pg_temp.key('ua-1');
update public.sessions set data = '{"v": "operator"}' where sid = pg_temp.key('ua-1');
select is((select updated_at from public.sessions where sid = pg_temp.key('ua-1')), now(),
  'an update setting updated_at back ends with updated_at = now()');
insert into public.sessions (sid, data, expires_at, updated_at) values (pg_temp.key('ua-other'), '{}', now() + interval '1 hour', now() - interval '1 hour');
update public.sessions set data = '{"v": "operator"}' where sid = pg_temp.key('ua-other');
select is((select updated_at from public.sessions where sid = pg_temp.key('ua-other')), now(),
  'an update that does not set updated_at gets now() from the trigger');
select is((select n from trigger_calls), 2, 'the trigger function ran for the update setting updated_at back and the one leaving it old, not for one where it was already now()');

select is((select array_agg(attname::text order by attnum) from pg_attribute
            where attrelid = 'public.live_sessions'::regclass and attnum > 0 and not attisdropped),
  array['sid', 'data', 'expires_at', 'updated_at'], 'live_sessions: sid, data, expires_at, then updated_at');

select * from finish();
rollback;
