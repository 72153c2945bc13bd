-- session_all_page / session_ids_page page through live sessions by sid; session_clear_batch
-- destroys in bounded pieces. What all(), ids() and clear() loop over.
begin;
select plan(14);

delete from public.sessions;
insert into public.sessions (sid, data, expires_at)
select 'p-' || lpad(i::text, 4, '0'), jsonb_build_object('i', i), now() + interval '1 hour'
  from generate_series(1, 2500) i;
insert into public.sessions (sid, data, expires_at) values ('p-0500x', '{}', now() - interval '1 minute');
insert into public.sessions (sid, data, expires_at, destroyed_at) values ('p-0501x', '{}', now(), now());

select is((select count(*)::int from public.session_all_page()), 1000, 'a page holds at most 1000 rows by default');
select is((select min(page_rows) from public.session_all_page()), 1000, 'every row carries its page''s row count');
select is((select max(sid) from public.session_all_page(null, 1000)), 'p-1000', 'the first page ends at the 1000th live sid');
select is((select count(*)::int from public.session_all_page('p-2000', 1000)), 500, 'the last page is short');
select is((select max(page_rows) from public.session_ids_page('p-2000', 1000)), 500, 'a short page says it is short');
select is((select array_agg(sid order by sid) from public.session_ids_page('p-0499', 3)),
  array['p-0500', 'p-0501', 'p-0502'], 'pages skip expired rows and tombstones and start after p_after');
select is((select count(*)::int from public.session_ids_page('p-2500')), 0, 'after the last sid the page is empty');
select throws_ok($$select * from public.session_all_page(null, 1001)$$, '22023', null, 'a page of more than 1000 rows is refused');
select throws_ok($$select * from public.session_ids_page(null, 0)$$, '22023', null, 'a page of no rows is refused');

select results_eq($$select ended, tombstoned, last_sid from public.session_clear_batch(null, 1000)$$,
  $$values (999, 1000, 'p-0999'::text)$$,
  'a clear batch tombstones p_limit rows in sid order (an expired one too, not counted as ended) and says where it stopped');
select results_eq($$select ended, tombstoned from public.session_clear_batch('p-0999', 10000)$$,
  $$values (1501, 1501)$$, 'the next batch starts after it and skips tombstones');
select results_eq($$select ended, tombstoned, last_sid from public.session_clear_batch('p-0999', 10000)$$,
  $$values (0, 0, null::text)$$, 'a batch with nothing left tombstones nothing');
select is((select count(*)::int from public.sessions where destroyed_at is null), 0, 'every session is destroyed');
select throws_ok($$select * from public.session_clear_batch(null, 10001)$$, '22023', null, 'a clear batch of more than 10000 is refused');

select * from finish();
rollback;
