-- The cleanup schedule: both pg_cron jobs, the dispatch's two branches, and the
-- privileges of the functions it added. Everything happens in one transaction
-- that is rolled back, stand-ins for pg_net and Vault included.
-- Stored sids are keys (hex SHA-256 of a cookie's id): pg_temp.key('live-1') is the key of the
-- session named live-1; sid order is the keys' order.
begin;
select plan(29);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

-- The jobs ------------------------------------------------------------------

select results_eq(
  $$select schedule, command from cron.job where jobname = 'cleanup-expired-sessions'$$,
  $$values ('17 * * * *'::text, 'select public.dispatch_session_cleanup()'::text)$$,
  'cleanup-expired-sessions runs the dispatch hourly, once');

select results_eq(
  $$select schedule from cron.job where jobname = 'trim-session-cleanup-history'$$,
  $$values ('43 3 * * *'::text)$$,
  'trim-session-cleanup-history runs daily, once');

select matches(
  (select command from cron.job where jobname = 'trim-session-cleanup-history'),
  '^delete from cron\.job_run_details where start_time < now\(\) - interval ''7 days'' and jobid in '
  || '\(select jobid from cron\.job where jobname in \(''cleanup-expired-sessions'', ''trim-session-cleanup-history''\)\)$',
  'the trim job deletes only week-old runs of these two jobs');

-- Scheduling again by name (what a re-run of the migration does) replaces, never duplicates.
do $$ begin perform cron.schedule('cleanup-expired-sessions', '17 * * * *', 'select public.dispatch_session_cleanup()'); end $$;
select is((select count(*) from cron.job where jobname = 'cleanup-expired-sessions'), 1::bigint,
  'scheduling the job again keeps a single job');

-- The trim job's own command, run here: old runs of these jobs go, everything else stays.
insert into cron.job_run_details (jobid, runid, command, status, start_time, end_time)
select j.jobid, 1000000 + n, j.command, 'succeeded', now() - age, now() - age
  from cron.job j,
       (values (1, interval '8 days'), (2, interval '1 day')) as a(n, age)
 where j.jobname = 'cleanup-expired-sessions';
insert into cron.job_run_details (jobid, runid, command, status, start_time, end_time)
values (999999, 1000003, 'someone else''s job', 'succeeded', now() - interval '30 days', now() - interval '30 days');
select lives_ok((select command from cron.job where jobname = 'trim-session-cleanup-history'),
  'the trim command runs');
select results_eq(
  $$select runid from cron.job_run_details where runid > 1000000 order by runid$$,
  $$values (1000002::bigint), (1000003::bigint)$$,
  'it removed the week-old run of the cleanup job only');

-- Fixtures ------------------------------------------------------------------

delete from public.sessions;
insert into public.sessions (sid, data, expires_at)
select pg_temp.key('expired-' || n), '{"n": 1}', now() - interval '1 minute' * n from generate_series(1, 5) n;
insert into public.sessions (sid, data, expires_at)
values (pg_temp.key('live-1'), '{"n": 1}', now() + interval '1 hour'),
       (pg_temp.key('live-2'), '{"n": 2}', now() + interval '1 day');
-- Destroyed an hour ago: a tombstone, kept for a day against late writes.
insert into public.sessions (sid, data, expires_at, destroyed_at)
values (pg_temp.key('tombstone'), '{}', now() - interval '1 hour', now() - interval '1 hour');

-- The count behind the Edge Function's dry run --------------------------------

select is(public.count_expired_sessions(), 5::bigint, 'count_expired_sessions counts expired rows, not tombstones');

-- Direct branch (no pg_net here) ---------------------------------------------------

select is((public.dispatch_session_cleanup(interval '1 hour', 2) ->> 'branch'), 'direct',
  'without pg_net the dispatch purges directly');
select is((select count(*) from public.sessions where sid in (select pg_temp.key('expired-' || n) from generate_series(1, 5) n)), 0::bigint,
  'it deleted every expired session');
select results_eq($$select sid from public.sessions order by sid$$,
  $$select * from (values (pg_temp.key('live-1')), (pg_temp.key('live-2')), (pg_temp.key('tombstone'))) e order by 1$$,
  'live sessions and the young tombstone are left');

insert into public.sessions (sid, data, expires_at)
select pg_temp.key('expired-' || n), '{}', now() - interval '1 minute' from generate_series(1, 5) n;
select is(public.dispatch_session_cleanup(interval '1 hour', 2),
  '{"branch": "direct", "reason": "pg_net is not installed", "deleted": 5, "batches": 3, "more": false}'::jsonb,
  'it works in batches until a short one and says what it did');

insert into public.sessions (sid, data, expires_at)
select pg_temp.key('expired-' || n), '{}', now() - interval '1 minute' from generate_series(1, 5) n;
select is(public.dispatch_session_cleanup(interval '0', 2) - 'reason',
  '{"branch": "direct", "deleted": 2, "batches": 1, "more": true}'::jsonb,
  'a spent time budget stops it after one batch and says more remain');
select throws_ok($$select public.dispatch_session_cleanup(null)$$, '22023', null,
  'a missing time budget is refused');

-- HTTP branch, with stand-ins for pg_net and (where absent) Vault ---------------------

create schema if not exists net;
create table pg_temp.http_calls (url text, body jsonb, headers jsonb, timeout_milliseconds integer);
create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
  headers jsonb default '{}', timeout_milliseconds integer default 5000)
returns bigint language sql as $$
  insert into pg_temp.http_calls values (url, body, headers, timeout_milliseconds);
  select 42::bigint;
$$;

select is(public.dispatch_session_cleanup() ->> 'branch', 'direct',
  'with pg_net but no Vault the dispatch still purges directly');

do $$
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    create schema vault;
    create table vault.secrets (name text primary key, secret text);
    create view vault.decrypted_secrets as select name, secret as decrypted_secret from vault.secrets;
    create function vault.create_secret(new_secret text, new_name text) returns void language sql
      as 'insert into vault.secrets values (new_name, new_secret)';
  end if;
end;
$$;

select is(public.dispatch_session_cleanup() ->> 'reason',
  'Vault secrets session_cleanup_project_url and session_cleanup_secret_key are not both set',
  'without the secrets it purges directly and says why');

-- Stored the way docs/production.md (step 4) tells operators to store them (the real Vault where there is one).
select vault.create_secret('https://abcdefgh.supabase.co/', 'session_cleanup_project_url');
select vault.create_secret('sb_secret_test-key-0123456789', 'session_cleanup_secret_key');

insert into public.sessions (sid, data, expires_at)
select pg_temp.key('expired-' || n), '{}', now() - interval '1 minute' from generate_series(1, 3) n;
select is(public.dispatch_session_cleanup(),
  '{"branch": "http", "url": "https://abcdefgh.supabase.co/functions/v1/cleanup-sessions", "request_id": 42}'::jsonb,
  'with pg_net and both secrets the dispatch calls the Edge Function');
select is((select count(*) from pg_temp.http_calls), 1::bigint, 'one request is queued');
select is((select url from pg_temp.http_calls), 'https://abcdefgh.supabase.co/functions/v1/cleanup-sessions',
  'to the function''s URL under the stored project URL');
select is((select headers from pg_temp.http_calls),
  '{"Content-Type": "application/json", "apikey": "sb_secret_test-key-0123456789"}'::jsonb,
  'with the stored key in the apikey header and nothing else but the content type');
select is((select timeout_milliseconds from pg_temp.http_calls), 60000, 'with an explicit 60 s timeout');
select is((select count(*) from public.sessions where sid in (select pg_temp.key('expired-' || n) from generate_series(1, 5) n)), 3::bigint,
  'the HTTP branch leaves the purge to the function');

-- Privileges ---------------------------------------------------------------------

select ok(
  (select proconfig @> array['search_path=""'] from pg_proc where oid = 'public.dispatch_session_cleanup(interval, integer)'::regprocedure)
  and (select proconfig @> array['search_path=""'] from pg_proc where oid = 'public.count_expired_sessions()'::regprocedure),
  'both functions pin an empty search_path');

set local role anon;
select throws_ok($$select public.dispatch_session_cleanup()$$, '42501', null, 'anon cannot run the dispatch');
select throws_ok($$select public.count_expired_sessions()$$, '42501', null, 'anon cannot count expired sessions');
set local role authenticated;
select throws_ok($$select public.dispatch_session_cleanup()$$, '42501', null, 'authenticated cannot run the dispatch');
select throws_ok($$select public.count_expired_sessions()$$, '42501', null,
  'authenticated cannot count expired sessions');
set local role service_role;
select throws_ok($$select public.dispatch_session_cleanup()$$, '42501', null,
  'service_role cannot run the dispatch either (it reads a Vault secret)');
select is(public.count_expired_sessions(), 3::bigint, 'service_role can count expired sessions');
reset role;

-- The dry run's count must agree with what cleanup deletes, old tombstones included.
insert into public.sessions (sid, data, expires_at, destroyed_at)
values (pg_temp.key('old-tombstone'), '{}', now() - interval '2 days', now() - interval '2 days');
select results_eq(
  $$select public.count_expired_sessions()::integer, public.cleanup_expired_sessions(100000)$$,
  $$values (4, 4)$$,
  'count_expired_sessions counts exactly what cleanup_expired_sessions deletes');

select * from finish();
rollback;
