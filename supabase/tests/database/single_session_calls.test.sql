-- The one-session functions and the live_sessions view (migration 20261201000100_store_functions), and the
-- batch functions defined through them.
-- Stored sids are keys (hex SHA-256 of a cookie's id): pg_temp.key('one-live') is the key of the
-- session named one-live; sid order is the keys' order.
begin;
select plan(20);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

insert into public.sessions (sid, data, expires_at) values
  (pg_temp.key('one-live'), '{"cookie": {}, "n": 1}', now() + interval '1 hour'),
  (pg_temp.key('one-expired'), '{"cookie": {}}', now() - interval '1 second');
select public.session_destroy(pg_temp.key('one-destroyed'));

-- live_sessions: what "live" means, once.
select ok((select c.reloptions @> array['security_invoker=true'] from pg_class c
            where c.oid = 'public.live_sessions'::regclass), 'live_sessions is a security_invoker view');
select results_eq($$ select sid from public.live_sessions where sid in (pg_temp.key('one-live'), pg_temp.key('one-expired'), pg_temp.key('one-destroyed')) $$,
  array[pg_temp.key('one-live')],
  'live_sessions holds the live session only (no expired row, no tombstone)');

-- session_get_one
select results_eq($$ select sid, data->>'n' from public.session_get_one(pg_temp.key('one-live')) $$,
  $$ values (pg_temp.key('one-live'), '1') $$, 'session_get_one returns the live session');
select is_empty($$ select * from public.session_get_one(pg_temp.key('one-expired')) $$, 'session_get_one: nothing for an expired one');
select is_empty($$ select * from public.session_get_one(pg_temp.key('one-destroyed')) $$, 'session_get_one: nothing for a tombstone');
select is_empty($$ select * from public.session_get_one(pg_temp.key('one-unknown')) $$, 'session_get_one: nothing for an unknown sid');

-- session_save_one: its three outcomes.
select is(public.session_save_one(pg_temp.key('one-new'), '{"cookie": {}, "v": "a"}', now() + interval '1 hour'), 'stored',
  'a new session is stored');
select is(public.session_save_one(pg_temp.key('one-live'), '{"cookie": {}, "n": 2}', null, 600), 'stored',
  'an existing one is updated, with now() + ttl when there is no expiry');
select is((select (data->>'n', extract(epoch from expires_at - now())::int)::text from public.sessions where sid = pg_temp.key('one-live')),
  '(2,600)', '…with the new data and expiry');
select is(public.session_save_one(pg_temp.key('one-destroyed'), '{"cookie": {}, "late": true}', now() + interval '1 hour'), 'destroyed',
  'a tombstone is reported, not revived');
select is((select data from public.sessions where sid = pg_temp.key('one-destroyed')), '{}'::jsonb, '…its data stays wiped');
select is(public.session_save_one(pg_temp.key('one-new'), '{"cookie": {}}', now() - interval '1 second'), 'expired',
  'an expiry already past reports expired');
select is_empty($$ select 1 from public.sessions where sid = pg_temp.key('one-new') $$, '…and deletes the session');
select throws_ok($$ select public.session_save_one(pg_temp.key('one-x'), '{}', null, null) $$, '22023', null,
  'no expiry and no ttl is refused');

-- session_touch_one: the threshold and the tombstone.
select ok(not public.session_touch_one(pg_temp.key('one-live'), now() + interval '600 seconds' + interval '5 seconds', 60),
  'a touch within p_touch_after writes nothing');
select ok(public.session_touch_one(pg_temp.key('one-live'), now() + interval '2 hours', 60), 'a touch past it writes');
select ok(not public.session_touch_one(pg_temp.key('one-destroyed'), now() + interval '2 hours'), 'a tombstone is not touched');
select ok(not public.session_touch_one(pg_temp.key('one-expired'), now() + interval '2 hours'), 'an expired session is not touched');

-- The batch forms go through the same definitions.
select results_eq($$ select sid, outcome from public.session_save(array[pg_temp.key('one-b'), pg_temp.key('one-destroyed'), pg_temp.key('one-b')],
    '[{"cookie": {}, "v": 1}, {"cookie": {}}, {"cookie": {}, "v": 2}]', array[now() + interval '1 hour',
    now() + interval '1 hour', now() + interval '2 hours']::timestamptz[]) $$,
  $$ select * from (values (pg_temp.key('one-b'), 'stored'), (pg_temp.key('one-destroyed'), 'destroyed')) e order by 1 $$,
  'session_save: one outcome per distinct sid, in sid order');
select is((select data->>'v' from public.sessions where sid = pg_temp.key('one-b')), '2', '…a sid given twice takes its last entry');

select * from finish();
rollback;
