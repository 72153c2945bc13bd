-- Unattended cleanup: pg_cron runs `cleanup-expired-sessions` hourly.
--
-- Where pg_net and the two Vault secrets below exist (a Supabase project whose
-- operator stored them), the job asks the cleanup-sessions Edge Function to purge,
-- sending the key in the `apikey` header (the function has verify_jwt = false and
-- checks the key itself, so the new sb_secret_ keys work) with an explicit timeout.
-- Otherwise (a fresh project before the secrets are stored, or plain Postgres) it
-- purges in the database directly, so the job never fails every hour for want of
-- configuration. Either way it logs which branch it took.
--
-- The secrets, stored once per project (the same names are read below):
--   select vault.create_secret('https://<project-ref>.supabase.co', 'session_cleanup_project_url');
--   select vault.create_secret('<an sb_secret_... key>', 'session_cleanup_secret_key');

create extension if not exists pg_cron with schema pg_catalog;

-- The hourly job's body. pg_net, Vault and their objects are looked up at run time
-- and called through dynamic SQL only, so this applies (and runs) on a database
-- that has neither.
--
-- The direct branch is one transaction: a procedure could COMMIT between batches
-- (pg_cron can CALL one), but a procedure that commits cannot pin its search_path,
-- which every function here must. Instead the work is bounded by `time_budget`;
-- whatever is left waits for the next run. It holds locks only on expired rows,
-- which live session traffic does not touch.
create function public.dispatch_session_cleanup(
  time_budget interval default interval '5 seconds',
  batch_size integer default 10000)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  project_url text;
  secret_key text;
  endpoint text;
  request_id bigint;
  missing text;
  started timestamptz := pg_catalog.clock_timestamp();
  deleted integer := 0;
  batches integer := 0;
  n integer;
  outcome jsonb;
begin
  if time_budget is null or time_budget < interval '0' then
    raise exception 'time_budget must be a non-negative interval' using errcode = '22023';
  end if;

  -- By name: pg_net versions differ in http_post's trailing parameters.
  if not exists (select from pg_catalog.pg_proc p join pg_catalog.pg_namespace s on s.oid = p.pronamespace
                  where s.nspname = 'net' and p.proname = 'http_post') then
    missing := 'pg_net is not installed';
  elsif pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    missing := 'Vault is not installed';
  else
    execute $q$
      select max(decrypted_secret) filter (where name = 'session_cleanup_project_url'),
             max(decrypted_secret) filter (where name = 'session_cleanup_secret_key')
        from vault.decrypted_secrets
       where name in ('session_cleanup_project_url', 'session_cleanup_secret_key')
    $q$ into project_url, secret_key;
    if coalesce(project_url, '') = '' or coalesce(secret_key, '') = '' then
      missing := 'Vault secrets session_cleanup_project_url and session_cleanup_secret_key are not both set';
    end if;
  end if;

  if missing is null then
    endpoint := pg_catalog.rtrim(project_url, '/') || '/functions/v1/cleanup-sessions';
    -- pg_net only queues the request; its answer lands in net._http_response under
    -- this id. The timeout leaves room for the function's 25 s default budget.
    execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := $4)'
      into request_id
      using endpoint,
            '{}'::jsonb,
            pg_catalog.jsonb_build_object('Content-Type', 'application/json', 'apikey', secret_key),
            60000;
    outcome := pg_catalog.jsonb_build_object('branch', 'http', 'url', endpoint, 'request_id', request_id);
  else
    loop
      n := public.cleanup_expired_sessions(batch_size);
      deleted := deleted + n;
      batches := batches + 1;
      exit when n < batch_size or pg_catalog.clock_timestamp() - started >= time_budget;
    end loop;
    outcome := pg_catalog.jsonb_build_object('branch', 'direct', 'reason', missing, 'deleted', deleted,
      'batches', batches, 'more', n >= batch_size);
  end if;

  -- pg_cron's return_message only says "1 row"; the server log keeps the outcome.
  raise log 'session cleanup: %', outcome::text;
  return outcome;
end;
$$;

comment on function public.dispatch_session_cleanup(interval, integer) is
  'The hourly cleanup job''s body: asks the cleanup-sessions Edge Function to purge (pg_net and Vault present), else purges directly within time_budget; returns the branch taken.';

-- Owner only: it reads a Vault secret. Operators purge with the Edge Function or
-- cleanup_expired_sessions (service_role).
revoke all on function public.dispatch_session_cleanup(interval, integer)
  from public, anon, authenticated, service_role;

-- Scheduling by name replaces an existing job, so re-running never duplicates.
-- Odd minutes keep clear of the top-of-the-hour rush of other jobs.
select cron.schedule('cleanup-expired-sessions', '17 * * * *',
  'select public.dispatch_session_cleanup()');

-- pg_cron never deletes its run history; keep a week of these two jobs' runs only.
select cron.schedule('trim-session-cleanup-history', '43 3 * * *',
  'delete from cron.job_run_details where start_time < now() - interval ''7 days'' and jobid in '
  || '(select jobid from cron.job where jobname in (''cleanup-expired-sessions'', ''trim-session-cleanup-history''))');
