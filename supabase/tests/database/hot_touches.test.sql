-- A touch is a HOT update: it changes no indexed column, so its new row version goes in the
-- same page with no index entry (the WAL, I/O and vacuum a session store spends most on).
-- pg_stat_get_xact_tuples_hot_updated counts this transaction's own HOT updates.
begin;
select plan(7);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;
create function pg_temp.hot_updates() returns bigint language sql
  as $$ select pg_catalog.pg_stat_get_xact_tuples_hot_updated('public.sessions'::regclass) $$;
create function pg_temp.updates() returns bigint language sql
  as $$ select pg_catalog.pg_stat_get_xact_tuples_updated('public.sessions'::regclass) $$;

-- Expiries in the middle of an hour, so that moving them by minutes keeps the hour.
insert into public.sessions (sid, data, expires_at)
select pg_temp.key('hot-' || i), jsonb_build_object('passport', jsonb_build_object('user', 'u-hot'), 'n', i),
       date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00') + interval '1 day 30 minutes'
  from generate_series(1, 3) i;

select is((select expires_hour from public.sessions where sid = pg_temp.key('hot-1')),
          date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00') + interval '1 day',
  'expires_hour is the start of the UTC hour expires_at falls in');

select ok(public.session_touch_one(pg_temp.key('hot-1'),
            (select expires_at + interval '10 minutes' from public.sessions where sid = pg_temp.key('hot-1'))),
  'session_touch_one moves the expiry by ten minutes');
select is(pg_temp.hot_updates(), pg_temp.updates(), 'that touch was a HOT update');

select is((select count(*)::int from public.session_touch(
            array[pg_temp.key('hot-2'), pg_temp.key('hot-3')],
            array[(select expires_at + interval '5 minutes' from public.sessions where sid = pg_temp.key('hot-2')),
                  (select expires_at + interval '5 minutes' from public.sessions where sid = pg_temp.key('hot-3'))]::timestamptz[])),
  2, 'the batch touch moves two expiries');
select is(pg_temp.hot_updates(), 3::bigint, 'both rows of the batch touch were HOT updates too');

-- Crossing into the next hour changes the indexed hour: that touch cannot be HOT, and cleanup
-- and counting must see the new hour.
select ok(public.session_touch_one(pg_temp.key('hot-1'),
            (select expires_at + interval '1 hour' from public.sessions where sid = pg_temp.key('hot-1'))),
  'a touch into the next hour is written');
select is((select expires_hour from public.sessions where sid = pg_temp.key('hot-1')),
          date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00') + interval '1 day 1 hour',
  'and expires_hour follows it');

select * from finish();
rollback;
