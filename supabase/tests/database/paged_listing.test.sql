-- session_all_page / session_ids_page page through live sessions by sid; session_clear_batch
-- destroys in bounded pieces. What all(), ids() and clear() loop over. Stored sids are keys
-- (hex SHA-256 of a cookie's id; pg_temp.key('p-0001') is the key of the session named
-- p-0001), so sid order is the keys' order: live_key ranks the live sessions' keys, and the
-- expected pages are computed from it, not from the names.
begin;
select plan(15);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

delete from public.sessions;
insert into public.sessions (sid, data, expires_at)
select pg_temp.key('p-' || lpad(i::text, 4, '0')), jsonb_build_object('i', i), now() + interval '1 hour'
  from generate_series(1, 2500) i;
insert into public.sessions (sid, data, expires_at) values (pg_temp.key('p-0500x'), '{}', now() - interval '1 minute');
insert into public.sessions (sid, data, expires_at, destroyed_at) values (pg_temp.key('p-0501x'), '{}', now(), now());
create temp table live_key on commit drop as
  select k.sid, row_number() over (order by k.sid)::integer as n
    from (select pg_temp.key('p-' || lpad(i::text, 4, '0')) as sid from generate_series(1, 2500) i) k;

select is((select count(*)::int from public.session_all_page()), 1000, 'a page holds at most 1000 rows by default');
select is((select min(page_rows) from public.session_all_page()), 1000, 'every row carries its page''s row count');
select is((select max(sid) from public.session_all_page(null, 1000)), (select sid from live_key where n = 1000),
  'the first page ends at the 1000th live sid');
select is((select count(*)::int from public.session_all_page((select sid from live_key where n = 2000), 1000)), 500,
  'the last page is short');
select is((select max(page_rows) from public.session_ids_page((select sid from live_key where n = 2000), 1000)), 500,
  'a short page says it is short');
-- A page that starts at the live sid just before the expired row's, and one just before the tombstone's.
select is((select array_agg(sid order by sid) from public.session_ids_page(
             (select max(sid) from live_key where sid < pg_temp.key('p-0500x')), 3)),
  (select array_agg(sid order by sid) from (select sid from live_key where sid > pg_temp.key('p-0500x') order by sid limit 3) t),
  'pages skip expired rows and start after p_after');
select is((select array_agg(sid order by sid) from public.session_ids_page(
             (select max(sid) from live_key where sid < pg_temp.key('p-0501x')), 3)),
  (select array_agg(sid order by sid) from (select sid from live_key where sid > pg_temp.key('p-0501x') order by sid limit 3) t),
  'pages skip tombstones and start after p_after');
select is((select count(*)::int from public.session_ids_page((select max(sid) from live_key))), 0,
  'after the last live sid the page is empty');
select throws_ok($$select * from public.session_all_page(null, 1001)$$, '22023', null, 'a page of more than 1000 rows is refused');
select throws_ok($$select * from public.session_ids_page(null, 0)$$, '22023', null, 'a page of no rows is refused');

-- In key order the expired row comes 680th, the tombstone 59th: the first 1000 rows not yet
-- destroyed are the expired one and the first 999 live ones.
select results_eq($$select ended, tombstoned, last_sid from public.session_clear_batch(null, 1000)$$,
  $$select 999, 1000, sid from live_key where n = 999$$,
  'a clear batch tombstones p_limit rows in sid order (an expired one too, not counted as ended) and says where it stopped');
select results_eq($$select ended, tombstoned from public.session_clear_batch((select sid from live_key where n = 999), 10000)$$,
  $$values (1501, 1501)$$, 'the next batch starts after it and skips tombstones');
select results_eq($$select ended, tombstoned, last_sid from public.session_clear_batch((select sid from live_key where n = 999), 10000)$$,
  $$values (0, 0, null::text)$$, 'a batch with nothing left tombstones nothing');
select is((select count(*)::int from public.sessions where destroyed_at is null), 0, 'every session is destroyed');
select throws_ok($$select * from public.session_clear_batch(null, 10001)$$, '22023', null, 'a clear batch of more than 10000 is refused');

select * from finish();
rollback;
