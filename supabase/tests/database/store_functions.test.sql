-- The contract of each function the store calls (migration 20261201000100_store_functions),
-- in SQL: what it returns, expiry and tombstones, its argument errors (SQLSTATE and message),
-- its batch semantics (a sid given twice, ordering) and its plan settings. The one-session
-- functions' outcomes are in single_session_calls.test.sql, paging in paged_listing.test.sql,
-- a user's own sessions in user_sessions.test.sql. One transaction: now() is one instant
-- throughout, so an expiry of now() is already past. The sids passed and stored are keys
-- (hex SHA-256 of a cookie's id), pg_temp.key('sf-live-a') the key of a session named
-- sf-live-a; sid order is the keys' order, not the names'.
begin;
select plan(74);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

-- Start from a known table inside this transaction: the listing and clearing tests below
-- see every row (keys have no common prefix to page from).
delete from public.sessions;

insert into public.sessions (sid, data, expires_at) values
  (pg_temp.key('sf-live-a'), '{"cookie": {}, "n": "a"}', now() + interval '1 hour'),
  (pg_temp.key('sf-live-b'), '{"cookie": {}, "n": "b"}', now() + interval '1 hour'),
  (pg_temp.key('sf-expired'), '{"cookie": {}}', now()),
  (pg_temp.key('sf-u1-live'), '{"cookie": {}, "passport": {"user": "sf-user"}}', now() + interval '1 hour'),
  (pg_temp.key('sf-u1-live2'), '{"cookie": {}, "passport": {"user": "sf-user"}}', now() + interval '2 hours'),
  (pg_temp.key('sf-u1-expired'), '{"cookie": {}, "passport": {"user": "sf-user"}}', now() - interval '1 minute'),
  (pg_temp.key('sf-u2-live'), '{"cookie": {}, "passport": {"user": "sf-other"}}', now() + interval '1 hour'),
  (pg_temp.key('sf-num-live'), '{"cookie": {}, "passport": {"user": 42}}', now() + interval '1 hour');
select public.session_destroy(pg_temp.key('sf-tombstone'));

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

-- Plan settings and volatility: what the planner and PostgREST see.
select set_eq($$
  select f.name from pg_proc p join package_functions f on f.oid = p.oid
   where 'plan_cache_mode=force_generic_plan' = any (coalesce(p.proconfig, '{}')) $$,
  array['session_get', 'session_get_one', 'session_save', 'session_save_one', 'session_touch', 'session_touch_one', 'session_write'],
  'exactly the per-request functions plan once per connection (force_generic_plan)');
select set_eq($$
  select f.name from pg_proc p join package_functions f on f.oid = p.oid
   where f.name like 'session\_%' and p.provolatile = 's' $$,
  array['session_get', 'session_get_one', 'session_count', 'session_all_page', 'session_ids_page', 'session_list_user'],
  'the reading functions are stable (PostgREST may call them with GET, read only); every writer is volatile');
select is((select p.provolatile::text from pg_proc p where p.oid = 'public.session_handle(text)'::regprocedure), 'i',
  'session_handle is immutable');

-- session_get: the live sessions among several ids.
select results_eq($$ select sid, data->>'n' from public.session_get(array[pg_temp.key('sf-live-b'), pg_temp.key('sf-expired'), pg_temp.key('sf-tombstone'),
    pg_temp.key('sf-unknown'), pg_temp.key('sf-live-a'), pg_temp.key('sf-live-a')]) order by sid $$,
  $$ select * from (values (pg_temp.key('sf-live-a'), 'a'), (pg_temp.key('sf-live-b'), 'b')) e order by 1 $$,
  'session_get returns each live session once, and nothing for an expired, destroyed or unknown id');
select results_eq($$ select expires_at from public.session_get(array[pg_temp.key('sf-live-a')]) $$,
  $$ select now() + interval '1 hour' $$, 'session_get returns the stored expiry');
select is_empty($$ select * from public.session_get('{}') $$, 'session_get of no ids returns nothing');
select is_empty($$ select * from public.session_get(null) $$, 'session_get of a null array returns nothing');
select is((select count(*)::int from public.session_get(array(select pg_temp.key('sf-' || i) from generate_series(1, 1000) i))), 0,
  'session_get takes 1000 ids');
select throws_ok($$ select * from public.session_get(array(select pg_temp.key('sf-' || i) from generate_series(1, 1001) i)) $$,
  '22023', 'at most 1000 session ids per call, got 1001', 'session_get refuses 1001 ids');

-- session_get_one: a null id.
select is_empty($$ select * from public.session_get_one(null) $$, 'session_get_one of a null id returns no row');

-- session_save_one: argument errors and the table's constraints.
select throws_ok($$ select public.session_save_one('', '{}', now() + interval '1 hour') $$,
  '22023', 'session id must be a non-empty string', 'session_save_one refuses an empty id');
select throws_ok($$ select public.session_save_one(null, '{}', now() + interval '1 hour') $$,
  '22023', 'session id must be a non-empty string', 'session_save_one refuses a null id');
select throws_ok($$ select public.session_save_one(pg_temp.key('sf-x'), '{}', null) $$,
  '22023', 'session expiry must not be null', 'session_save_one refuses no expiry without a ttl');
select throws_ok($$ select public.session_save_one('sf-plain-id', '{}', now() + interval '1 hour') $$,
  '23514', null, 'session_save_one refuses a sid that is not a key (a plain id)');
select is(public.session_save_one(pg_temp.key('sf-stored'), '{"cookie": {}}', now() + interval '1 hour'), 'stored',
  'session_save_one stores a key (64 lowercase hex digits)');
select throws_ok($$ select public.session_save_one(pg_temp.key('sf-x'), '[1]', now() + interval '1 hour') $$,
  '23514', null, 'session_save_one refuses data that is not a JSON object');
select throws_ok($$ select public.session_save_one(pg_temp.key('sf-x'), null, now() + interval '1 hour') $$,
  '23502', null, 'session_save_one refuses null data');
select is(public.session_save_one(pg_temp.key('sf-tombstone'), '{"cookie": {}}', now() - interval '1 second'), 'expired',
  'an already expired save of a tombstone reports expired');
select isnt_empty($$ select 1 from public.sessions where sid = pg_temp.key('sf-tombstone') and destroyed_at is not null $$,
  '…and leaves the tombstone in place (a later save still finds it destroyed)');

-- session_save: argument errors (moved here from the Node contract test).
select throws_ok($$ select * from public.session_save(array[pg_temp.key('a'), pg_temp.key('b')], '[{}, {}]', array[now()]) $$,
  '22023', 'p_sids, p_data (a JSON array) and p_expires_at must have the same length',
  'session_save refuses fewer expiries than ids');
select throws_ok($$ select * from public.session_save(array[pg_temp.key('a')], '[{}, {}]', array[now()]) $$,
  '22023', 'p_sids, p_data (a JSON array) and p_expires_at must have the same length',
  'session_save refuses more data than ids');
select throws_ok($$ select * from public.session_save(array[pg_temp.key('a')], '{"a": {}}', array[now()]) $$,
  '22023', 'p_sids, p_data (a JSON array) and p_expires_at must have the same length',
  'session_save refuses data that is not a JSON array');
select throws_ok($$ select * from public.session_save(array[pg_temp.key('a')], null, array[now()]) $$,
  '22023', 'p_sids, p_data (a JSON array) and p_expires_at must have the same length',
  'session_save refuses null data');
select throws_ok($$ select * from public.session_save(array(select pg_temp.key('sf-' || i) from generate_series(1, 1001) i),
    (select jsonb_agg('{}'::jsonb) from generate_series(1, 1001)),
    array(select now() + interval '1 hour' from generate_series(1, 1001))) $$,
  '22023', 'at most 1000 session ids per call, got 1001', 'session_save refuses 1001 sessions');
select throws_ok($$ select * from public.session_save(array[''], '[{}]', array[now() + interval '1 hour']) $$,
  '22023', 'session id must be a non-empty string', 'session_save refuses an empty id');
select throws_ok($$ select * from public.session_save(array[null], '[{}]', array[now() + interval '1 hour']) $$,
  '22023', 'session id must be a non-empty string', 'session_save refuses a null id');
select throws_ok($$ select * from public.session_save(array[pg_temp.key('a')], '[{}]', array[null]::timestamptz[]) $$,
  '22023', 'session expiry must not be null', 'session_save refuses a null expiry without a ttl');
select throws_ok($$ select * from public.session_save(array[pg_temp.key('sf-x')], '[[1]]', array[now() + interval '1 hour']) $$,
  '23514', null, 'session_save refuses data that is not a JSON object');
select is_empty($$ select * from public.session_save('{}', '[]', '{}') $$, 'session_save of nothing returns nothing');

-- session_save: batch semantics.
select results_eq($$ select sid, outcome from public.session_save(
    array[pg_temp.key('sf-s3'), pg_temp.key('sf-s1'), pg_temp.key('sf-tombstone'), pg_temp.key('sf-s2'), pg_temp.key('sf-s1')],
    '[{"cookie": {}, "v": 3}, {"cookie": {}, "v": "first"}, {"cookie": {}}, {"cookie": {}, "v": 2}, {"cookie": {}, "v": "last"}]',
    array[now() + interval '1 hour', now() + interval '1 hour', now() + interval '1 hour', now(), null],
    900) $$,
  $$ select * from (values (pg_temp.key('sf-s1'), 'stored'), (pg_temp.key('sf-s2'), 'expired'), (pg_temp.key('sf-s3'), 'stored'),
                           (pg_temp.key('sf-tombstone'), 'destroyed')) e order by 1 $$,
  'session_save returns one outcome per distinct sid, in sid order, whatever the order given');
select results_eq($$ select data->>'v', expires_at from public.sessions where sid = pg_temp.key('sf-s1') $$,
  $$ values ('last', now() + interval '900 seconds') $$,
  'a sid given twice takes its last entry, and a null expiry takes now() + p_ttl_seconds');
select is_empty($$ select 1 from public.sessions where sid = pg_temp.key('sf-s2') $$, 'an entry already expired is not stored');

-- session_touch_one: what it writes and what it leaves alone.
select is(public.session_touch_one(pg_temp.key('sf-unknown'), now() + interval '2 hours'), false, 'session_touch_one of an unknown id writes nothing');
select throws_ok($$ select public.session_touch_one(pg_temp.key('sf-live-a'), null) $$,
  '22023', 'session expiry must not be null', 'session_touch_one refuses no expiry without a ttl');
select is(public.session_touch_one(pg_temp.key('sf-live-a'), null, 0, 7200), true, 'session_touch_one with a ttl writes');
select results_eq($$ select data->>'n', expires_at from public.sessions where sid = pg_temp.key('sf-live-a') $$,
  $$ values ('a', now() + interval '7200 seconds') $$,
  '…the expiry now() + ttl, and the data unchanged');
create temporary table row_version on commit drop as select ctid as version from public.sessions where sid = pg_temp.key('sf-live-a');
select is(public.session_touch_one(pg_temp.key('sf-live-a'), now() + interval '7200 seconds' - interval '30 seconds', 60), false,
  'a move shorter than p_touch_after, even backwards, writes nothing');
select is((select s.ctid from public.sessions s where s.sid = pg_temp.key('sf-live-a')), (select version from row_version),
  '…not even a new row version');
select is(public.session_touch_one(pg_temp.key('sf-live-a'), now() + interval '1 hour', 60), true,
  'a move backwards by more than p_touch_after writes');

-- session_touch: argument errors (moved here from the Node contract test) and batch semantics.
select throws_ok($$ select * from public.session_touch(array[pg_temp.key('a'), pg_temp.key('b')], array[now()]) $$,
  '22023', 'p_sids and p_expires_at must have the same length, got 2 and 1', 'session_touch refuses arrays of different lengths');
select throws_ok($$ select * from public.session_touch(array[pg_temp.key('a')], null) $$,
  '22023', 'p_sids and p_expires_at must have the same length, got 1 and 0', 'session_touch counts a null array as empty');
select throws_ok($$ select * from public.session_touch(array(select pg_temp.key('sf-' || i) from generate_series(1, 1001) i),
    array(select now() + interval '1 hour' from generate_series(1, 1001))) $$,
  '22023', 'at most 1000 session ids per call, got 1001', 'session_touch refuses 1001 ids');
select throws_ok($$ select * from public.session_touch(array[pg_temp.key('a')], array[null]::timestamptz[]) $$,
  '22023', 'session expiry must not be null', 'session_touch refuses a null expiry without a ttl');
select is_empty($$ select * from public.session_touch('{}', '{}') $$, 'session_touch of nothing returns nothing');
select results_eq($$ select sid from public.session_touch(
    array[pg_temp.key('sf-live-b'), pg_temp.key('sf-expired'), pg_temp.key('sf-live-a'), pg_temp.key('sf-tombstone'), null, pg_temp.key('sf-live-b'), pg_temp.key('sf-unknown'), pg_temp.key('sf-live-a')],
    array[now() + interval '5 hours', now() + interval '5 hours', now() + interval '1 hour' + interval '10 seconds',
          now() + interval '5 hours', now() + interval '5 hours', now() + interval '3 hours', now() + interval '5 hours',
          null],
    60, 1800) $$,
  $$ select * from (values (pg_temp.key('sf-live-a')), (pg_temp.key('sf-live-b'))) e order by 1 $$,
  'session_touch returns the ids it wrote, once each, in sid order; no expired, destroyed, unknown or null id');
select results_eq($$ select sid, expires_at from public.sessions where sid in (pg_temp.key('sf-live-a'), pg_temp.key('sf-live-b')) order by sid $$,
  $$ select * from (values (pg_temp.key('sf-live-a'), now() + interval '1800 seconds'),
                           (pg_temp.key('sf-live-b'), now() + interval '3 hours')) e order by 1 $$,
  'a sid given twice takes its last expiry (a null one: now() + p_ttl_seconds)');
select results_eq($$ select sid from public.session_touch(array[pg_temp.key('sf-live-a'), pg_temp.key('sf-live-b')],
    array[now() + interval '1800 seconds' + interval '59 seconds', now() + interval '4 hours'], 60) $$,
  $$ values (pg_temp.key('sf-live-b')) $$, 'the threshold applies to each sid of a batch on its own');
select is((select expires_at from public.sessions where sid = pg_temp.key('sf-expired')), now(), 'the expired session kept its expiry');

-- session_destroy: a tombstone, whatever was there.
select is(public.session_destroy(pg_temp.key('sf-live-b'))::text, '', 'session_destroy returns nothing (void)');
select results_eq($$ select data, expires_at <= now(), destroyed_at from public.sessions where sid = pg_temp.key('sf-live-b') $$,
  $$ values ('{}'::jsonb, true, now()) $$, 'a destroyed session keeps no data, is expired and marked destroyed');
select lives_ok($$ select public.session_destroy(pg_temp.key('sf-never-seen')) $$, 'session_destroy of an unknown id succeeds');
select is(public.session_save_one(pg_temp.key('sf-never-seen'), '{"cookie": {}}', now() + interval '1 hour'), 'destroyed',
  '…and leaves a tombstone, so a late save of that id stores nothing');
update public.sessions set destroyed_at = now() - interval '3 hours', expires_at = now() - interval '3 hours'
 where sid = pg_temp.key('sf-tombstone');
select public.session_destroy(pg_temp.key('sf-tombstone'));
select results_eq($$ select expires_at, destroyed_at from public.sessions where sid = pg_temp.key('sf-tombstone') $$,
  $$ values (now() - interval '3 hours', now() - interval '3 hours') $$,
  'destroying a tombstone again keeps its first destruction time, and so its place in cleanup''s 24 h window');
select throws_ok($$ select public.session_destroy(null) $$, '23502', null, 'session_destroy refuses a null id');

-- session_destroy_user: log out everywhere.
select throws_ok($$ select public.session_destroy_user('') $$,
  '22023', 'user id must be a non-empty string', 'session_destroy_user refuses an empty user id');
select throws_ok($$ select public.session_destroy_user(null) $$,
  '22023', 'user id must be a non-empty string', 'session_destroy_user refuses a null user id');
select is(public.session_destroy_user('sf-user'), 2, 'session_destroy_user counts the live sessions it ended');
select is((select count(*)::int from public.sessions where sid in (pg_temp.key('sf-u1-live'), pg_temp.key('sf-u1-live2'), pg_temp.key('sf-u1-expired'))
                                                          and destroyed_at is not null and data = '{}'), 3,
  '…and tombstones the user''s expired session too');
select is((select data->'passport'->>'user' from public.session_get_one(pg_temp.key('sf-u2-live'))), 'sf-other',
  'another user''s session is left alone');
select is(public.session_destroy_user('sf-user'), 0, 'a second call ends nothing');
select is(public.session_destroy_user('42'), 1, 'a numeric Passport id is matched by its decimal text');

-- session_count: live sessions only.
select is(public.session_count(), (select count(*) from public.sessions where expires_at > now()),
  'session_count counts the live sessions');
select ok(public.session_count() < (select count(*) from public.sessions),
  'expired sessions and tombstones are not counted');

-- session_all_page / session_ids_page: only live sessions, and their argument errors.
select results_eq($$ select sid from public.session_ids_page(null, 1000) $$,
  $$ select sid from public.sessions where expires_at > now() order by sid $$,
  'session_ids_page lists live sessions only, in sid order');
select results_eq($$ select sid, data, expires_at from public.session_all_page(null, 1000) $$,
  $$ select sid, data, expires_at from public.sessions where expires_at > now() order by sid $$,
  'session_all_page returns each live session with its data and expiry');
select throws_ok($$ select * from public.session_all_page(null, null) $$,
  '22023', 'p_limit must be between 1 and 1000, got null', 'session_all_page refuses a null limit');
select throws_ok($$ select * from public.session_ids_page(null, 1001) $$,
  '22023', 'p_limit must be between 1 and 1000, got 1001', 'session_ids_page refuses a page of 1001 rows');

-- session_clear_batch: counts and arguments.
-- Not destroyed yet, in key order: sf-s3 (live), sf-expired, sf-live-a, sf-u2-live, sf-stored, sf-s1.
select results_eq($$ select ended, tombstoned, last_sid from public.session_clear_batch(null, 2) $$,
  $$ values (1, 2, pg_temp.key('sf-expired')) $$,
  'session_clear_batch takes the next undestroyed sessions in sid order; only live ones count as ended');
select throws_ok($$ select * from public.session_clear_batch(null, 0) $$,
  '22023', 'p_limit must be between 1 and 10000, got 0', 'session_clear_batch refuses an empty batch');
select throws_ok($$ select * from public.session_clear_batch(null, null) $$,
  '22023', 'p_limit must be between 1 and 10000, got null', 'session_clear_batch refuses a null limit');
select results_eq($$ select ended, tombstoned, last_sid from public.session_clear_batch(repeat('f', 64), 10) $$,
  $$ values (0, 0, null::text) $$, 'past the last possible key it tombstones nothing and says so');

-- p_durable: synchronous_commit off for the calling transaction only (last: it stays off until rollback).
select is(current_setting('synchronous_commit'), 'on', 'durable writes leave synchronous_commit on');
select is(public.session_touch_one(pg_temp.key('sf-s1'), now() + interval '5 hours', 0, null, false), true, 'a relaxed touch writes');
select is(current_setting('synchronous_commit'), 'off', '…with synchronous_commit off for its transaction');

select * from finish();
rollback;
