-- Touches as HOT updates: a touch rewrites a session's row in its own page, with no index
-- entry, so that the busiest write of a session store costs the least WAL, I/O and vacuum.
--
-- An UPDATE is HOT (heap-only) when no indexed column changes and the new row version fits
-- in the old one's page; then no index gets an entry, the old version is pruned from the
-- page without VACUUM, and the table does not grow. A touch changes expires_at and
-- updated_at only, so two things stood in its way:
--
-- * the index on expires_at, which cleanup reads. It is replaced by an index on
--   expires_hour, the start of the UTC hour expires_at falls in, a stored generated column:
--   an update that leaves the hour alone leaves every indexed value alone. A session touched
--   all day moves to the next hour once an hour, so at most one of its touches an hour is
--   not HOT. (PostgreSQL 16+ also allows HOT updates past a BRIN index, but a BRIN index
--   cannot order cleanup's batches; this works on 15 as on hosted 17.)
-- * full pages. A table's pages are filled to 100% by default, so a new version rarely
--   fits beside the old one. fillfactor 80 keeps a fifth of each page for new versions, room
--   for one of a ~1.5 KB session (and for several of smaller ones); a page's dead versions
--   are pruned the next time it is read once it runs short of space.
--
-- Measured with `npm run bench:cost` (bench/results/2026-12-03-cost-*.md): see
-- docs/performance.md, "What a request costs".
--
-- Adding the column rewrites the table once, under an exclusive lock: on a large table,
-- push this migration at a quiet time. fillfactor applies to pages filled from now on and to
-- the rewritten table.

alter table public.sessions set (fillfactor = 80);

alter table public.sessions
  add column expires_hour timestamptz
    generated always as (pg_catalog.date_bin('1 hour', expires_at, timestamptz '2000-01-01 00:00:00+00')) stored;

comment on column public.sessions.expires_hour is
  'The start of the UTC hour expires_at falls in (generated): what cleanup indexes, so that a touch within the hour changes no indexed column and is a HOT update.';

drop index public.idx_sessions_expires_at;

-- Expiry lookups (cleanup, counting live sessions) by the hour.
create index idx_sessions_expires_hour on public.sessions (expires_hour);

-- Cleanup reads the hour's index: a row whose hour has begun may have expired (the filter on
-- expires_at decides); one whose hour has not begun cannot have. No order by: sorting would read
-- every expired row before the first is locked (a batch of 10,000 among 100,000 expired rows at
-- 1,000,000 took 1.7 s sorted, 0.1 s not); an index scan meets the oldest hours first anyway. The batch's
-- rows are locked first (skip locked; a row made live meanwhile fails the re-check and stays),
-- then deleted by their row addresses, which the lock keeps valid: one TID scan, whatever the
-- table's size. Deleting `where sid in (...)` let the planner, which underestimates the batch
-- (it multiplies the selectivities of the hour and of the expiry), read the whole table for a
-- hash join over the whole table.
create or replace function public.cleanup_expired_sessions(batch_size integer default 10000)
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
   where s.ctid = any (array(
     select e.ctid
       from public.sessions e
      where e.expires_hour <= now()
        and e.expires_at <= now()
        and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day')
      limit batch_size
        for update skip locked));

  get diagnostics deleted = row_count;
  return deleted;
end;
$$;

comment on function public.cleanup_expired_sessions(integer) is
  'Deletes one batch (batch_size, 1 to 100000) of expired sessions and day-old tombstones, found through expires_hour''s index, skipping locked rows; returns how many.';

create or replace function public.count_expired_sessions()
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select count(*)
      from public.sessions e
     where e.expires_hour <= now()
       and e.expires_at <= now()
       and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day'));
end;
$$;

-- Live sessions: every row of an hour yet to begin (from the index alone), and the rows of
-- the hour under way whose expiry is still ahead.
create or replace function public.session_count()
returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
  this_hour timestamptz := pg_catalog.date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00');
begin
  return (select count(*) from public.sessions s where s.expires_hour > this_hour)
       + (select count(*) from public.sessions s where s.expires_hour = this_hour and s.expires_at > now());
end;
$$;
