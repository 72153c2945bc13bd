-- cleanup_expired_sessions(): deletes exactly the expired rows, one bounded batch per call.
-- Stored sids are keys (hex SHA-256 of a cookie's id): pg_temp.key('live-1') is the key of the
-- session named live-1.
begin;
select plan(15);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

-- Start from a known table inside this transaction.
delete from public.sessions;

insert into public.sessions (sid, data, expires_at)
select pg_temp.key('expired-' || i), jsonb_build_object('i', i), now() - make_interval(mins => i)
  from generate_series(1, 25) i;
insert into public.sessions (sid, data, expires_at)
select pg_temp.key('live-' || i), jsonb_build_object('i', i), now() + make_interval(mins => i)
  from generate_series(1, 5) i;
-- Exactly now() counts as expired (live means expires_at > now()).
insert into public.sessions (sid, data, expires_at) values (pg_temp.key('edge-now'), '{}', now());
-- Tombstones of destroyed sessions: a fresh one is kept, a day-old one goes.
insert into public.sessions (sid, data, expires_at, destroyed_at) values
  (pg_temp.key('tomb-fresh'), '{}', now() - interval '1 minute', now() - interval '1 minute'),
  (pg_temp.key('tomb-old'), '{}', now() - interval '2 days', now() - interval '25 hours');

select is(public.count_expired_sessions(), 27::bigint,
  'count_expired_sessions counts what cleanup would delete: 25 expired, edge-now, the old tombstone');
select is(public.cleanup_expired_sessions(10), 10, 'a call deletes one batch of the requested size');
select is(public.count_expired_sessions(), 17::bigint, 'the first batch took 10 of the 27 rows cleanup may delete: 17 remain');
select is((select count(*)::int from public.sessions where expires_at > now() or sid = pg_temp.key('tomb-fresh')), 6,
  'and none of the live sessions or the fresh tombstone');
select is(public.cleanup_expired_sessions(10), 10, 'the second batch deletes 10 more');
select is(public.cleanup_expired_sessions(), 7, 'with no argument it deletes the rest: 6 expired and edge-now');
select is(public.cleanup_expired_sessions(), 0, 'nothing expired left: 0');
select is((select count(*)::int from public.sessions where sid in (select pg_temp.key('live-' || i) from generate_series(1, 5) i)), 5, 'every live row is kept');
select ok(not exists (select 1 from public.sessions where sid in (pg_temp.key('edge-now'), pg_temp.key('tomb-old'))), 'a row expiring exactly now and an old tombstone are deleted');
select ok(exists (select 1 from public.sessions where sid = pg_temp.key('tomb-fresh')), 'a tombstone younger than a day is kept');
select is((select count(*)::int from public.sessions where expires_at > now()), 5,
  'the monitoring query counts only the live sessions');

select throws_ok('select public.cleanup_expired_sessions(0)', '22023',
  'batch_size must be between 1 and 100000, got 0', 'a batch size of 0 is refused');
select throws_ok('select public.cleanup_expired_sessions(100001)', '22023', null, 'a batch size over 100000 is refused');
select throws_ok('select public.cleanup_expired_sessions(null)', '22023', null, 'a null batch size is refused');
select is(public.cleanup_expired_sessions(1), 0, 'a batch of 1 on a clean table deletes nothing');

select * from finish();
rollback;
