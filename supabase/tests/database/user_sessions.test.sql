-- A user's own sessions: session_list_user lists a Passport user's live sessions by
-- handle; session_destroy_user_session ends one of them, only the user's own, for good.
-- Stored sids are keys (hex SHA-256 of a cookie's id), and a session's handle is its key:
-- pg_temp.key('us-bob-1') is the key, and the handle, of the session whose id is us-bob-1.
begin;
select plan(39);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

-- Enough other users' sessions, and fresh statistics, for the planner to choose as it
-- would on a real table.
insert into public.sessions (sid, data, expires_at)
select pg_temp.key('us-filler-' || g), jsonb_build_object('cookie', '{}'::jsonb, 'passport', jsonb_build_object('user', 'filler-' || g % 500)),
       now() + interval '1 hour'
  from generate_series(1, 5000) g;

insert into public.sessions (sid, data, expires_at, created_at, updated_at, destroyed_at) values
  (pg_temp.key('us-alice-1'), '{"cookie": {}, "passport": {"user": "alice"}, "device": {"userAgent": "Firefox"}}',
   now() + interval '1 hour', now() - interval '3 days', now() - interval '1 hour', null),
  (pg_temp.key('us-alice-2'), '{"cookie": {}, "passport": {"user": "alice"}}',
   now() + interval '2 hours', now() - interval '1 day', now() - interval '5 minutes', null),
  (pg_temp.key('us-alice-expired'), '{"cookie": {}, "passport": {"user": "alice"}}',
   now() - interval '1 second', now() - interval '2 days', now() - interval '2 days', null),
  (pg_temp.key('us-alice-destroyed'), '{}', now() - interval '1 minute', now() - interval '2 days', now() - interval '1 minute',
   now() - interval '1 minute'),
  (pg_temp.key('us-number-42'), '{"cookie": {}, "passport": {"user": 42}}', now() + interval '1 hour', now(), now(), null),
  (pg_temp.key('us-bob-1'), '{"cookie": {}, "passport": {"user": "bob"}}', now() + interval '1 hour', now(), now(), null),
  (pg_temp.key('us-anonymous'), '{"cookie": {}}', now() + interval '1 hour', now(), now(), null);
analyze public.sessions;

-- The handle of an id (its key): hex SHA-256 of its UTF-8 bytes, as Node's crypto computes it.
select is(public.session_handle('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  'the handle of id abc is its SHA-256 (the FIPS 180-2 test vector)');
select is(public.session_handle(E'\\x41'), '1896ffde59d289c620736dfe59b6cd146ab433b57ef92479bd77bdd57fcc3e27',
  'a backslash in an id is hashed as itself, not read as a bytea escape');
select is(public.session_handle('é🔐'), 'c83a144fa23ddf3059a1aa1ddb100a3083a6b22be8ed302820b64cab41971a0a',
  'a non-ASCII id is hashed as its UTF-8 bytes');

-- Listing.
select set_eq($$ select handle from public.session_list_user('alice') $$,
  array[pg_temp.key('us-alice-1'), pg_temp.key('us-alice-2')],
  'alice''s live sessions are listed, and only they: not her expired or destroyed ones, not bob''s');
select is((select count(*)::int from public.session_list_user('bob')), 1, 'bob sees his one session');
select set_eq($$ select handle from public.session_list_user('42') $$,
  array[pg_temp.key('us-number-42')], 'a numeric Passport id is listed by its decimal text');
select is_empty($$ select * from public.session_list_user('nobody') $$, 'an unknown user has no sessions');
select is_empty($$ select * from public.session_list_user('ALICE') $$, 'user ids are compared exactly');
select results_eq(
  $$ select l.data, l.created_at, l.updated_at, l.expires_at from public.session_list_user('alice') l
      where l.handle = pg_temp.key('us-alice-1') $$,
  $$ select s.data, s.created_at, s.updated_at, s.expires_at from public.sessions s where s.sid = pg_temp.key('us-alice-1') $$,
  'a listed session carries its data, created_at, updated_at (last active) and expires_at');
select is((select sid from public.sessions where sid = (select min(handle) from public.session_list_user('alice'))),
  (select min(handle) from public.session_list_user('alice')), 'a listed handle is the stored key of its session');
select ok(pg_stat_get_xact_numscans('public.idx_sessions_passport_user'::regclass) > 0
      and pg_stat_get_xact_numscans('public.sessions'::regclass) = 0,
  'listing is a lookup in idx_sessions_passport_user, never a scan of the table');

-- Paging: keyset on the handle, has_more on each row.
select results_eq($$ select handle, has_more from public.session_list_user('alice', null, 1) $$,
  $$ select min(h), true from unnest(array[pg_temp.key('us-alice-1'), pg_temp.key('us-alice-2')]) h $$,
  'a page of one starts at the smallest handle and says more follow');
select results_eq(
  $$ select handle, has_more from public.session_list_user('alice',
       (select handle from public.session_list_user('alice', null, 1)), 1) $$,
  $$ select max(h), false from unnest(array[pg_temp.key('us-alice-1'), pg_temp.key('us-alice-2')]) h $$,
  'the next page starts after the given handle and says nothing follows');
select results_eq($$ select bool_and(has_more = (handle <> (select max(handle) from public.session_list_user('alice'))))
                       from public.session_list_user('alice') $$,
  $$ values (true) $$, 'in a full listing only the last row says nothing follows');
select is_empty($$ select * from public.session_list_user('alice', repeat('f', 64)) $$,
  'nothing comes after the largest handle');
select throws_ok($$ select * from public.session_list_user('alice', null, 1001) $$, '22023', null,
  'a page of more than 1000 rows is refused');
select throws_ok($$ select * from public.session_list_user('alice', null, 0) $$, '22023', null,
  'a page of no rows is refused');
select throws_ok($$ select * from public.session_list_user('') $$, '22023', null, 'an empty user id is refused');
select throws_ok($$ select * from public.session_list_user(null) $$, '22023', null, 'a null user id is refused');

-- Ending one session: only the user's own.
select is(public.session_destroy_user_session('bob', pg_temp.key('us-alice-1')), false,
  'bob cannot end alice''s session with its handle');
select is((select data #>> '{device,userAgent}' from public.sessions where sid = pg_temp.key('us-alice-1')), 'Firefox',
  'her session is untouched');
select is(public.session_destroy_user_session('alice', pg_temp.key('us-bob-1')), false,
  'alice cannot end bob''s session with its handle');
select is(public.session_destroy_user_session('alice', repeat('0', 64)), false, 'an unknown handle ends nothing');
create temporary table scans_before as
  select pg_stat_get_xact_numscans('public.sessions_pkey'::regclass) as pkey,
         pg_stat_get_xact_numscans('public.idx_sessions_passport_user'::regclass) as by_user;
select is(public.session_destroy_user_session('alice', pg_temp.key('us-alice-1')), true,
  'alice ends her own session with its handle');
select ok(pg_stat_get_xact_numscans('public.sessions_pkey'::regclass) > (select pkey from scans_before)
      and pg_stat_get_xact_numscans('public.idx_sessions_passport_user'::regclass) = (select by_user from scans_before),
  'ending a session by handle is a lookup by primary key, not a search of the user''s sessions');
select results_eq($$ select data, expires_at <= now(), destroyed_at is not null from public.sessions where sid = pg_temp.key('us-alice-1') $$,
  $$ values ('{}'::jsonb, true, true) $$, 'it leaves the tombstone destroy leaves: data wiped, expired, destroyed_at set');
select is(public.session_destroy_user_session('alice', pg_temp.key('us-alice-1')), false,
  'ending it again ends nothing');
select set_eq($$ select handle from public.session_list_user('alice') $$, array[pg_temp.key('us-alice-2')],
  'it is no longer listed; her other session is');
select ok((select expires_at > now() from public.sessions where sid = pg_temp.key('us-bob-1')), 'bob''s session is still live');

-- For good: a late write from a request still in flight cannot bring it back.
select is(public.session_save_one(pg_temp.key('us-alice-1'), '{"cookie": {}, "passport": {"user": "alice"}}', now() + interval '1 hour'),
  'destroyed', 'a late set of the ended session stores nothing');
select is_empty($$ select * from public.session_touch(array[pg_temp.key('us-alice-1')], array[now() + interval '2 hours']) $$,
  'a late touch writes nothing');
select is_empty($$ select * from public.session_get(array[pg_temp.key('us-alice-1')]) $$, 'the ended session stays gone');

-- An expired session of the user's is tombstoned (a late write could otherwise revive it) but not counted.
select is(public.session_destroy_user_session('alice', pg_temp.key('us-alice-expired')), false,
  'ending an expired session reports that no live session ended');
select ok((select destroyed_at is not null from public.sessions where sid = pg_temp.key('us-alice-expired')),
  '…and leaves a tombstone all the same');

-- Bad input.
select throws_ok($$ select public.session_destroy_user_session('alice', 'us-alice-2') $$, '22023', null,
  'a session id is not a handle');
select is(public.session_destroy_user_session('alice', pg_temp.key(pg_temp.key('us-alice-2'))), false,
  'the hash of a handle (what the store sends for a handle presented as an id) ends nothing');
select throws_ok(format($$ select public.session_destroy_user_session('alice', %L) $$,
                        upper(pg_temp.key('us-alice-2'))), '22023', null,
  'a handle is 64 lowercase hex digits');
select throws_ok($$ select public.session_destroy_user_session('', repeat('0', 64)) $$, '22023', null,
  'an empty user id is refused');
select is((select expires_at > now() from public.sessions where sid = pg_temp.key('us-alice-2')), true,
  'none of that ended alice''s other session');

select * from finish();
rollback;
