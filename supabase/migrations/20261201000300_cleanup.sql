-- Removing expired sessions and tombstones older than a day. Run unattended by the
-- schedule (next migration), on demand by the cleanup-sessions Edge Function and
-- `npm run purge`.

-- Deletes one bounded batch of expired sessions and returns how many it deleted.
-- A function runs inside its caller's transaction, so a full purge is a loop of
-- calls, each its own short transaction (the Edge Function, `npm run purge` and
-- the pg_cron job do that); by hand, repeat `select cleanup_expired_sessions();`
-- until it returns less than the batch size. SKIP LOCKED lets two cleanups run at
-- once without waiting on each other or counting a row twice, and leaves any row a
-- live request holds alone; the locking re-check means a row made live again by a
-- concurrent write is never deleted.
create function public.cleanup_expired_sessions(batch_size integer default 10000)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  deleted integer;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000, got %', coalesce(batch_size::text, 'null')
      using errcode = '22023';
  end if;

  delete from public.sessions s
   where s.sid in (
     select e.sid
       from public.sessions e
      where e.expires_at <= now()
        and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day')
      order by e.expires_at
      limit batch_size
        for update skip locked);

  get diagnostics deleted = row_count;
  return deleted;
end;
$$;

comment on function public.cleanup_expired_sessions(integer) is
  'Deletes one batch (batch_size, 1 to 100000) of expired sessions and day-old tombstones, oldest first, skipping locked rows; returns how many.';

-- How many rows cleanup_expired_sessions would delete right now (a dry run). Its
-- condition is cleanup_expired_sessions' own, kept next to it on purpose.
create function public.count_expired_sessions()
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select count(*)
      from public.sessions e
     where e.expires_at <= now()
       and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day'));
end;
$$;

comment on function public.count_expired_sessions() is
  'How many rows cleanup_expired_sessions would delete now (its dry run).';

revoke all on function public.cleanup_expired_sessions(integer) from public, anon, authenticated;
grant execute on function public.cleanup_expired_sessions(integer) to service_role;
revoke all on function public.count_expired_sessions() from public, anon, authenticated;
grant execute on function public.count_expired_sessions() to service_role;
